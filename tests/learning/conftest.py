"""Fixtures for the learning tests: a learner, a program assigned to everyone, helpers that
start an attempt and build the answers a learner would send."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import time_machine

from lms.core import clock as org_clock
from lms.extensions import db
from lms.learning.models import Attempt
from lms.sessions import services as sessions  # the other domain, used for real
from tests.conftest import PASSWORD


@pytest.fixture
def workshop(make_department):
    production = make_department(name="Production", code="PROD")
    return make_department(name="Metal workshop", code="WSHP", parent=production)


@pytest.fixture
def learner(make_user, workshop):
    return make_user("employee", name="Jānis Krūmiņš", department=workshop, job_title="Welder")


@pytest.fixture
def program(make_program):
    """Self-paced, audience everyone, 3 questions in the pool, 2 drawn, pass mark 50%."""
    return make_program()


@pytest.fixture
def signed_in(client, auth, learner):
    auth.login(learner)
    return learner


def reload(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def answers_for(attempt: Attempt, right: bool | list[bool] = True) -> dict[str, list[str]]:
    """The form a learner sends: per question the positions of the right (or a wrong) answer.

    `right` may be a list with one flag per question, in the attempt's order.
    """
    flags = right if isinstance(right, list) else [right] * len(attempt.questions)
    data: dict[str, list[str]] = {}
    for aq, ok in zip(attempt.questions, flags, strict=True):
        shown = aq.shown_answers()
        good = [str(i) for i, a in enumerate(shown) if a["correct"]]
        bad = [str(i) for i, a in enumerate(shown) if not a["correct"]]
        data[f"q-{aq.id}"] = good if ok else bad[:1]
    return data


@pytest.fixture
def start(client):
    """Start (or resume) an attempt through the page; returns the Attempt row."""

    def do(program) -> Attempt:
        resp = client.post(f"/learning/programs/{program.id}/attempts")
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        attempt_id = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])
        db.session.expire_all()
        return db.session.get(Attempt, attempt_id)

    return do


def attend_held_session(program, trainer, person, *, days_ago: int = 1):
    """Through the real sessions services: a session of the program held `days_ago` days ago
    at 10:00 (local), the person present and acknowledged, signed by the trainer; returns it."""
    start_local = datetime.combine(org_clock.local_today() - timedelta(days=days_ago), time(10))
    start_utc = org_clock.to_utc(start_local)
    with time_machine.travel(start_utc - timedelta(days=1), tick=False):
        (ts,) = sessions.schedule(
            db.session,
            program_id=program.id,
            instructor_id=trainer.id,
            starts_local=start_local,
            ends_local=start_local + timedelta(hours=1),
            place="Room 1",
            capacity=10,
            actor=trainer,
        )
        sessions.invite(db.session, ts, [person], trainer)
    with time_machine.travel(start_utc + timedelta(minutes=30), tick=False):
        sessions.mark_attendance(db.session, ts, {person.id: "present"}, trainer)
        enrolment = next(e for e in ts.enrolments if e.user_id == person.id)
        sessions.acknowledge(db.session, enrolment, actor=person, method="account")
        sessions.sign_conducted(db.session, ts, trainer, PASSWORD)
    db.session.commit()
    return ts
