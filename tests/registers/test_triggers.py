"""A return after a break: LV-OHS makes an unscheduled briefing due from 61 calendar days
away, from 45 with the hazardous-work flag; the reason reaches the stored status."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lms.accounts import hr_sync, people
from lms.compliance.models import PersonStatus, UnscheduledBriefing
from lms.core import clock as org_clock
from lms.core import texts
from lms.core.errors import DomainError
from lms.extensions import db


@pytest.fixture
def setup(make_department, make_program, require, complete):
    dept = make_department("Workshop", "WS")
    ohs = make_program(category="workplace", briefing_type="repeated", code="OHS-R")
    require(ohs, department=dept)

    def person(number: str, hazardous: bool = False):
        user = hr_sync.sync_person(
            db.session,
            number,
            name=f"Worker {number}",
            email=f"w{number}@example.test",
            department_id=dept.id,
            hazardous_work=hazardous,
        )
        db.session.commit()
        complete(user, ohs, org_clock.local_today() - timedelta(days=100))
        return user

    return ohs, person


def _back_after(user, days: int):
    ends = org_clock.local_today() - timedelta(days=1)
    people.record_absence(db.session, user.id, ends - timedelta(days=days - 1), ends)
    db.session.commit()


def _status(user, program) -> PersonStatus:
    db.session.expire_all()
    return db.session.get(PersonStatus, (user.id, program.id))


@pytest.mark.parametrize(
    ("days", "hazardous", "due"),
    [(70, False, True), (50, False, False), (45, True, True), (44, True, False)],
)
def test_return_after_a_break(setup, days, hazardous, due):
    ohs, person = setup
    user = person("E-7", hazardous)
    assert _status(user, ohs).basis == "valid"
    _back_after(user, days)
    row = _status(user, ohs)
    if due:
        assert row.basis == "pending"
        assert row.due_on == org_clock.local_today()
        said = texts.render(row.reason)  # a message key, read in the reader's language
        assert row.reason.startswith(texts.PREFIX)
        assert f"absence of {days} calendar days" in said and "LV-OHS" in said
    else:
        assert row.basis == "valid" and row.reason == ""
        assert db.session.query(UnscheduledBriefing).count() == 0


def test_only_the_person_back_is_due_and_the_trigger_is_idempotent(setup):
    ohs, person = setup
    back, colleague = person("E-1"), person("E-2")
    _back_after(back, 70)
    ends = org_clock.local_today() - timedelta(days=1)
    people.record_absence(db.session, back.id, ends - timedelta(days=69), ends)  # again
    db.session.commit()
    assert db.session.query(UnscheduledBriefing).count() == 1
    assert _status(back, ohs).basis == "pending"
    assert _status(colleague, ohs).basis == "valid"


def test_an_absence_that_ends_before_it_starts_is_refused(setup):
    _ohs, person = setup
    user = person("E-3")
    today = org_clock.local_today()
    with pytest.raises(DomainError, match="cannot end before"):
        people.record_absence(db.session, user.id, today, today - timedelta(days=3))
