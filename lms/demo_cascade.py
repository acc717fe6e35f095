"""The demo's two-level cascade for the evacuation program (FS-EVAC).

Level 0: the fire-safety specialist briefs two managers earlier today. They are designated
responsible persons for their units; Līga Bērziņa then briefs three welders of the metal
workshop (level 1), and Dmitrijs Petrovs has a level-1 session for the warehouse next week.
Idempotent: nothing is added when the program already has designations.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, time, timedelta

import sqlalchemy as sa

from lms.accounts.models import Department
from lms.accounts.services import verify_password
from lms.cascade import services
from lms.cascade.models import Designation
from lms.core import clock
from lms.core.model import utcnow
from lms.learning import services as learning
from lms.programs.models import Program
from lms.sessions import queries
from lms.sessions import services as sessions

PLACE = "Mācību telpa 2, ražošana"  # the demo organisation writes its places in Latvian
LEVEL1_STAFF = ("emp02", "emp03", "emp19")
WAREHOUSE_STAFF = ("emp06", "emp07", "emp08")


def _pass_quiz(session, user, program) -> None:
    """The quiz is part of the program: everyone briefed passes it first."""
    rng = random.Random(user.id)
    attempt = learning.start_attempt(session, user, program, rng=rng)
    form = {}
    for aq in attempt.questions:
        shown = aq.shown_answers()
        form[f"q-{aq.id}"] = [str(i) for i, a in enumerate(shown) if a.get("correct")]
    learning.submit_attempt(session, attempt, user, form)


def _run(session, ts, people, instructor, password):
    for person in people:
        if ts.version.questions:
            _pass_quiz(session, person, ts.program)
        sessions.add_walk_in(session, ts, person.id, instructor, status="present")
    for person in people:
        enrolment = queries.enrolment_of(session, ts.id, person.id)
        assert enrolment is not None  # just added as a walk-in
        sessions.acknowledge(
            session, enrolment, actor=instructor, method="password", secret=password
        )
    sessions.sign_conducted(session, ts, instructor, password)


def load_demo(session, users: dict, password: str, echo: Callable[[str], None] = print) -> None:
    program = session.execute(sa.select(Program).where(Program.code == "FS-EVAC")).scalar()
    if program is None or program.current_version is None:
        echo("  cascade: FS-EVAC is not approved, no cascade")
        return
    if session.execute(
        sa.select(Designation.id).where(Designation.program_id == program.id).limit(1)
    ).scalar():
        echo("  cascade: already there")
        return
    specialist, liga, dmitrijs = users["instructor"], users["manager"], users["manager2"]
    people = [specialist, liga, dmitrijs, *(users[k] for k in LEVEL1_STAFF)]
    if not all(verify_password(u, password) for u in people):
        echo("  cascade: skipped (the demo passwords were changed)")
        return
    codes = dict(session.execute(sa.select(Department.code, Department.id)).all())
    today = clock.local_today()
    for person, code in ((liga, "WSHP"), (dmitrijs, "WH")):
        services.designate(
            session,
            user_id=person.id,
            department_id=codes[code],
            program_id=program.id,
            category=None,
            level=1,
            starts_on=today,
            ends_on=None,
            actor_id=users["admin"].id,
        )
    now = clock.to_local(utcnow()).replace(tzinfo=None, second=0, microsecond=0)
    start0 = max(now - timedelta(hours=4), datetime.combine(today, time.min))
    start1 = start0 + (now - start0) / 2
    level0 = sessions.schedule(
        session,
        program_id=program.id,
        instructor_id=specialist.id,
        starts_local=start0,
        ends_local=start0 + timedelta(minutes=60),
        place=PLACE,
        capacity=10,
        actor=specialist,
    )[0]
    _run(session, level0, [liga, dmitrijs], specialist, password)
    level1 = sessions.schedule(
        session,
        program_id=program.id,
        instructor_id=liga.id,
        starts_local=start1,
        ends_local=start1 + timedelta(minutes=45),
        place=PLACE,
        capacity=10,
        actor=liga,
        department_id=codes["WSHP"],
    )[0]
    _run(session, level1, [users[k] for k in LEVEL1_STAFF], liga, password)
    upcoming = sessions.schedule(
        session,
        program_id=program.id,
        instructor_id=dmitrijs.id,
        starts_local=datetime.combine(today + timedelta(days=8), time(9, 0)),
        ends_local=datetime.combine(today + timedelta(days=8), time(9, 45)),
        place="Noliktavas birojs",
        capacity=10,
        actor=dmitrijs,
        department_id=codes["WH"],
    )[0]
    sessions.invite(session, upcoming, [users[k] for k in WAREHOUSE_STAFF], dmitrijs)
    echo(
        "  cascade: FS-EVAC level 0 held for 2 managers, level 1 held for 3 welders, "
        "1 level-1 session upcoming"
    )
