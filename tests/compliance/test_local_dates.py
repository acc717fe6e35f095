"""Dates taken from timestamps are the organisation's calendar dates, not UTC's: someone added
at 01:30 in Riga (23:30 UTC the day before) is first due on the Riga date, and the stored status,
the recomputation and the person's own page agree on it."""

from datetime import date

import sqlalchemy as sa

from lms.compliance import status
from lms.compliance.models import PersonStatus
from lms.extensions import db
from tests.conftest import text_of


def test_a_person_added_after_midnight_local_is_due_on_the_local_date(
    time_travel, make_user, make_program, require, client, auth
):
    time_travel("2026-12-03 23:30Z")  # 01:30 on 4 December in Riga
    program = make_program(code="FS-NIGHT")
    person = make_user("employee", start_date=None)
    require(program)
    status.refresh(db.session, user_ids=[person.id])
    db.session.commit()
    row = db.session.execute(
        sa.select(PersonStatus).where(PersonStatus.user_id == person.id)
    ).scalar_one()
    assert row.basis == "never_trained" and row.due_on == date(2026, 12, 4)
    assert status.verify(db.session).disagreements == []
    auth.login(person)
    page = text_of(client.get("/learning/"))
    assert "FS-NIGHT" in page and "Not started" in page and "Overdue" not in page
