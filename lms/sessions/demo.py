"""Demo sessions: upcoming briefings of the instructor-led course packs with people enrolled,
and one session held earlier today with attendance, acknowledgments and the signature.

Idempotent: a program that already has sessions is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta

import sqlalchemy as sa

from lms.accounts.services import verify_password
from lms.core import clock
from lms.core.model import utcnow
from lms.programs.models import Program, ProgramVersion
from lms.sessions import queries, services
from lms.sessions.models import Enrolment, TrainingSession

PLACE = "Mācību telpa 1, galvenais birojs"  # the demo organisation writes its places in Latvian
WORKSHOP = ("employee", "emp02", "emp03", "emp04", "emp05")
WAREHOUSE = ("emp06", "emp07", "emp08", "emp09", "emp20")
# what happened at the held session: (person, attendance, how they acknowledged or None)
HELD = (
    ("employee", "present", "password"),
    ("emp02", "present", "password"),
    ("emp03", "late", "account"),
    ("emp04", "absent", None),
    ("emp05", "excused", None),
)


def _instructor_led(session) -> list[Program]:
    return list(
        session.execute(
            sa.select(Program)
            .join(ProgramVersion, ProgramVersion.id == Program.current_version_id)
            .where(ProgramVersion.delivery_mode == "instructor_led")
            .order_by(Program.code)
        ).scalars()
    )


def _schedule(session, program, instructor, start: datetime, capacity: int, actor):
    return services.schedule(
        session,
        program_id=program.id,
        instructor_id=instructor.id,
        starts_local=start,
        ends_local=start + timedelta(minutes=90),
        place=PLACE,
        capacity=capacity,
        notes="",
        actor=actor,
    )[0]


def _held_session(session, program, instructor, users: dict, password: str) -> TrainingSession:
    """A session that started earlier today, taken as a real instructor would."""
    now_local = clock.to_local(utcnow()).replace(tzinfo=None, second=0, microsecond=0)
    midnight = datetime.combine(now_local.date(), time.min)
    start = max(now_local.replace(minute=0) - timedelta(hours=2), midnight)
    ts = _schedule(session, program, instructor, start, 12, instructor)
    people = [(users[k], mark, ack) for k, mark, ack in HELD if k in users]
    for person, mark, _ack in people:
        services.add_walk_in(session, ts, person.id, instructor, status=mark)
    for person, _mark, ack in people:
        if ack is None:
            continue
        enrolment = queries.enrolment_of(session, ts.id, person.id)
        assert enrolment is not None  # just added as a walk-in
        actor = person if ack == "account" else instructor
        services.acknowledge(session, enrolment, actor=actor, method=ack, secret=password)
    services.sign_conducted(session, ts, instructor, password)
    return ts


def load_demo(session, users: dict, password: str, echo: Callable[[str], None] = print) -> None:
    """Schedule demo sessions for every approved instructor-led program without sessions."""
    instructor = users["instructor"]
    programs = _instructor_led(session)
    if not programs:
        echo("  sessions: no approved instructor-led program, nothing scheduled")
        return
    today = clock.local_today()
    for n, program in enumerate(programs):
        exists = session.execute(
            sa.select(TrainingSession.id).where(TrainingSession.program_id == program.id).limit(1)
        ).scalar()
        if exists:
            echo(f"  sessions of {program.code}: already there")
            continue
        run_by = instructor if n % 2 == 0 else users.get("instructor2", instructor)
        group = WORKSHOP if n % 2 == 0 else WAREHOUSE
        first = datetime.combine(today + timedelta(days=7 + n), time(10, 0))
        upcoming = [
            _schedule(session, program, run_by, first, 12, run_by),
            _schedule(session, program, run_by, first + timedelta(days=28), 12, run_by),
        ]
        services.invite(session, upcoming[0], [users[k] for k in group if k in users], run_by)
        held = "no held session"
        if n == 0:
            signers = [instructor, *(users[k] for k, _m, ack in HELD if ack and k in users)]
            if not all(verify_password(u, password) for u in signers):
                echo(f"  sessions of {program.code}: held session skipped (other passwords)")
            else:
                ts = _held_session(session, program, instructor, users, password)
                present = session.execute(
                    sa.select(sa.func.count())
                    .select_from(Enrolment)
                    .where(Enrolment.session_id == ts.id)
                ).scalar_one()
                held = f"1 held with {present} people, signed"
        echo(f"  sessions of {program.code}: 2 upcoming, {held}")
