"""The status rule on "My training", with frozen time, and the pages that show it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine

from lms.completions import services as completions
from lms.completions.models import Completion
from lms.core import clock as org_clock
from lms.extensions import db
from lms.learning import services
from lms.learning.services import Status, training_status
from lms.sessions import services as sessions
from tests.conftest import text_of
from tests.learning.conftest import answers_for

TODAY = date(2026, 6, 15)


def _valid(expires_on):
    return Completion(expires_on=expires_on, completed_on=date(2025, 1, 1))


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        # a valid completion far from expiry: passed, due date = expiry
        (dict(valid=_valid(date(2026, 12, 1))), Status("passed", date(2026, 12, 1))),
        (dict(valid=_valid(None)), Status("passed", None)),
        # expiring within 30 days (inclusive): due
        (dict(valid=_valid(date(2026, 7, 15))), Status("due", date(2026, 7, 15))),
        (dict(valid=_valid(TODAY)), Status("due", TODAY)),
        (dict(valid=_valid(date(2026, 7, 16))), Status("passed", date(2026, 7, 16))),
        # the newest completion expired: overdue since its expiry
        (dict(expired_on=date(2026, 6, 14)), Status("overdue", date(2026, 6, 14))),
        (dict(expired_on=date(2026, 6, 14), started=True), Status("overdue", date(2026, 6, 14))),
        # never completed: due on the first due date, overdue the day after
        (dict(first_due=TODAY), Status("not_started", TODAY)),
        (dict(first_due=TODAY, started=True), Status("in_progress", TODAY)),
        (dict(first_due=TODAY + timedelta(days=3)), Status("not_started", date(2026, 6, 18))),
        (dict(first_due=TODAY - timedelta(days=1)), Status("overdue", date(2026, 6, 14))),
        (
            dict(first_due=TODAY - timedelta(days=1), started=True),
            Status("overdue", date(2026, 6, 14)),
        ),
    ],
)
def test_the_status_rule(kwargs, expected):
    args = dict(valid=None, expired_on=None, started=False, first_due=TODAY)
    args.update(kwargs)
    assert training_status(TODAY, **args) == expected


def _status_of(user, program, at: datetime):
    items = services.my_training(db.session, user, at)
    return next(i for i in items if i.program.id == program.id)


def test_status_over_a_year_with_frozen_time(make_user, make_program):
    """Start date, approval, a pass, then the refresher coming due and lapsing."""
    t0 = datetime(2026, 1, 10, 8, 0, tzinfo=UTC)
    with time_machine.travel(t0, tick=False):
        person = make_user("employee", start_date=date(2025, 9, 1))
        program = make_program()  # approved today, refresher 12 months
        item = _status_of(person, program, t0)
        assert item.status == Status("not_started", date(2026, 1, 10))
    with time_machine.travel(t0 + timedelta(days=1), tick=False):
        assert _status_of(person, program, t0 + timedelta(days=1)).status.state == "overdue"
    # a person who starts later is due on their start date
    with time_machine.travel(t0, tick=False):
        newcomer = make_user("employee", start_date=date(2026, 2, 1))
        assert _status_of(newcomer, program, t0).status == Status("not_started", date(2026, 2, 1))

    t1 = datetime(2026, 1, 20, 9, 0, tzinfo=UTC)
    with time_machine.travel(t1, tick=False):
        services.mark_read(db.session, person, program, program.current_version.topics[0])
        item = _status_of(person, program, t1)
        assert item.status.state == "overdue" and item.topics_read == 1
        attempt = services.start_attempt(db.session, person, program)
        services.submit_attempt(db.session, attempt, person, answers_for(attempt))
        item = _status_of(person, program, t1)
        assert item.status == Status("passed", date(2027, 1, 20))
    with time_machine.travel(datetime(2026, 12, 21, tzinfo=UTC), tick=False):
        assert _status_of(person, program, datetime.now(UTC)).status == Status(
            "due", date(2027, 1, 20)
        )
    with time_machine.travel(datetime(2027, 1, 21, tzinfo=UTC), tick=False):
        now = datetime.now(UTC)
        assert _status_of(person, program, now).status == Status("overdue", date(2027, 1, 20))
        # a revoked completion counts as never completed
        completion = completions.valid_completion(
            db.session, person.id, program.id, date(2027, 1, 1)
        )
        completions.revoke(db.session, completion, "Entered by mistake", None)
        assert _status_of(person, program, now).status == Status("overdue", date(2026, 1, 10))


def test_my_training_page(client, auth, learner, make_program, make_user):
    passed = make_program(code="FS-DONE")
    make_program(code="FS-TODO")
    led = make_program(code="FS-LED", delivery_mode="instructor_led")
    make_program(code="OFF-ONLY", audience_job_titles=["Accountant"])
    make_program(code="DRAFT", approved=False)
    attempt = services.start_attempt(db.session, learner, passed)
    services.submit_attempt(db.session, attempt, learner, answers_for(attempt))
    db.session.commit()

    trainer = make_user("instructor")
    soon = org_clock.local_today() + timedelta(days=10)
    start_local = datetime.combine(soon, time(9, 30))
    (ts,) = sessions.schedule(
        db.session,
        program_id=led.id,
        instructor_id=trainer.id,
        starts_local=start_local,
        ends_local=start_local + timedelta(hours=1),
        place="Training room 2",
        capacity=10,
        actor=trainer,
    )
    sessions.invite(db.session, ts, [learner], trainer)
    db.session.commit()
    auth.login(learner)
    text = text_of(client.get("/learning/"))
    assert "FS-DONE" in text and "FS-TODO" in text and "FS-LED" in text
    assert "OFF-ONLY" not in text and "DRAFT" not in text
    assert "Passed" in text and "Not started" in text
    assert "Training room 2" in text and str(soon.year) in text
    assert "0 of 2 topics read" in text
    # the most urgent first: passed comes last
    assert text.index("FS-TODO") < text.index("FS-DONE")
    home = text_of(client.get("/"))
    assert "My next training" in home and "FS-TODO" in home and "FS-DONE" not in home
    assert "My training" in home  # the navigation entry


def test_my_training_without_assignments(client, auth, make_user, make_program):
    make_program(audience_departments=["NOPE"])
    auth.login(make_user("auditor"))
    assert "No training is assigned to you" in text_of(client.get("/learning/"))
    assert "My next training" not in text_of(client.get("/"))
