"""Fixtures for the sessions tests: programs without a quiz, scheduled sessions, a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from lms.core import clock as org_clock
from lms.extensions import db
from lms.sessions import services
from tests.conftest import PASSWORD

# Monday 3 March 2025, 10:00 in Riga (08:00 UTC): the tests' "now" unless they say otherwise.
NOW = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    """Freeze the clock at NOW (it keeps ticking from there); .move_to() to travel."""
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


def approve_without_quiz(program):
    """Take the quiz out of a draft made by make_program(approved=False), then approve it."""
    from lms.programs import services as programs

    version = program.versions[0]
    version.questions.clear()
    version.quiz = {}
    db.session.flush()
    programs.submit(db.session, version, None)
    programs.sign(db.session, version, program.head, PASSWORD, "approved")
    db.session.commit()
    return program


@pytest.fixture
def make_plain_program(make_program):
    """An approved instructor-led program with no quiz questions."""

    def make(**kw):
        kw.setdefault("delivery_mode", "instructor_led")
        return approve_without_quiz(make_program(approved=False, **kw))

    return make


def schedule_session(
    *,
    program,
    instructor,
    start: datetime,
    minutes: int = 60,
    capacity: int = 20,
    place: str = "Room 1",
    **kw,
):
    """Schedule one session at a local wall-clock time; a start on a past day is scheduled
    with the clock set back (as if it had been planned before), then committed."""

    def run():
        return services.schedule(
            db.session,
            program_id=program.id,
            instructor_id=instructor.id,
            starts_local=start,
            ends_local=start + timedelta(minutes=minutes),
            place=place,
            capacity=capacity,
            actor=instructor,
            **kw,
        )

    if start.date() < org_clock.local_today():
        with time_machine.travel(org_clock.to_utc(start) - timedelta(days=1), tick=False):
            created = run()
    else:
        created = run()
    db.session.commit()
    return created[0] if len(created) == 1 else created


@pytest.fixture
def instructor(make_user):
    return make_user("instructor", name="Ivars Ozols", job_title="Fire safety specialist")


@pytest.fixture
def make_session(make_plain_program, instructor):
    """make_session(start=..., capacity=..., program=..., instructor=...) -> TrainingSession.

    The start is a local wall-clock time; by default a week after the frozen NOW, 10:00.
    """

    def make(*, program=None, start=None, **kw):
        kw.setdefault("instructor", instructor)
        return schedule_session(
            program=program or make_plain_program(),
            start=start or datetime(2025, 3, 10, 10, 0),
            **kw,
        )

    return make


@pytest.fixture
def people(make_user, make_department):
    """A workshop with five people and a warehouse with two."""
    workshop = make_department(name="Metal workshop", code="WSHP")
    warehouse = make_department(name="Warehouse", code="WH")
    out = [
        make_user(name=f"Worker {i}", department=workshop, job_title="Welder") for i in range(1, 6)
    ]
    out += [
        make_user(name=f"Storekeeper {i}", department=warehouse, job_title="Storekeeper")
        for i in range(1, 3)
    ]
    return out


def enrol(ts, *users, actor=None):
    """Invite people into a session and commit."""
    result = services.invite(db.session, ts, list(users), actor or ts.instructor)
    db.session.commit()
    return result
