"""Fixtures for the learning tests: a learner, a program assigned to everyone, helpers that
start an attempt and build the answers a learner would send."""

from __future__ import annotations

import pytest

from lms.extensions import db
from lms.learning import services
from lms.learning.models import Attempt


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


@pytest.fixture
def no_sessions(monkeypatch):
    """The sessions domain offers nothing (its functions are missing)."""
    monkeypatch.setattr(services, "_sessions_function", lambda name: None)


@pytest.fixture
def sessions_offer(monkeypatch):
    """Stand-ins for lms.sessions.services functions: sessions_offer(name=function)."""

    def do(**functions):
        monkeypatch.setattr(services, "_sessions_function", lambda name: functions.get(name))

    return do
