"""Manager view: one click invites a due person to the next session of the program."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from lms.core.outbox import OutboxMessage
from lms.extensions import db
from lms.sessions import services as sessions
from lms.sessions.models import Enrolment
from tests.conftest import text_of
from tests.sessions.conftest import approve_without_quiz, schedule_session


def test_manager_invites_due_people_of_own_department(
    client, login_as, make_user, make_program, make_department, require, time_travel
):
    time_travel("2026-03-02 08:00Z")
    shop = make_department("Workshop", "SHOP")
    office = make_department("Office", "OFF")
    welder = make_user(name="Due Welder", department=shop)
    clerk = make_user(name="Other Clerk", department=office)
    program = approve_without_quiz(make_program(approved=False, delivery_mode="instructor_led"))
    require(program)
    instructor = make_user("instructor", name="Ivars Ozols")
    ts = schedule_session(program=program, instructor=instructor, start=datetime(2026, 3, 9, 10))
    login_as("manager", department=shop)
    text = text_of(client.get(f"/compliance/people?program={program.id}"))
    assert "Due Welder" in text and "Invite to a session" in text
    assert "Other Clerk" not in text
    resp = client.post("/compliance/invite", data={"user_id": welder.id, "program_id": program.id})
    assert resp.status_code == 302
    enrolment = db.session.execute(sa.select(Enrolment)).scalar_one()
    assert (enrolment.session_id, enrolment.user_id, enrolment.status) == (
        ts.id,
        welder.id,
        "enrolled",
    )
    assert db.session.scalar(sa.select(OutboxMessage.user_id)) == welder.id
    resp = client.post("/compliance/invite", data={"user_id": welder.id, "program_id": program.id})
    assert resp.status_code == 303  # already in it: a message, nothing changed
    resp = client.post("/compliance/invite", data={"user_id": clerk.id, "program_id": program.id})
    assert resp.status_code == 303
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 1


def test_no_session_to_invite_to(
    client, login_as, make_user, make_program, make_department, require, time_travel
):
    time_travel("2026-03-02 08:00Z")
    shop = make_department("Workshop", "SHOP")
    welder = make_user(name="Due Welder", department=shop)
    program = make_program(approved=True)
    require(program)
    login_as("admin")
    resp = client.post("/compliance/invite", data={"user_id": welder.id, "program_id": program.id})
    assert resp.status_code == 303
    assert (
        client.post("/compliance/invite", data={"user_id": 999, "program_id": 1}).status_code == 404
    )
    assert date.today().year == 2026


def test_every_open_session_that_fits_is_offered(
    client, login_as, make_user, make_program, make_department, require, time_travel
):
    time_travel("2026-03-02 08:00Z")
    shop = make_department("Workshop", "SHOP")
    welder = make_user(name="Due Welder", department=shop)
    program = approve_without_quiz(make_program(approved=False, delivery_mode="instructor_led"))
    require(program)
    instructor = make_user("instructor", name="Ivars Ozols")
    full = schedule_session(
        program=program, instructor=instructor, start=datetime(2026, 3, 9, 10), capacity=1
    )
    later = schedule_session(
        program=program, instructor=instructor, start=datetime(2026, 3, 16, 10)
    )
    other = make_user(name="Early Bird", department=shop)
    sessions.invite(db.session, full, [other], instructor)  # the first session is now full
    db.session.commit()
    login_as("manager", department=shop)
    data = {"user_id": welder.id, "program_id": program.id}
    page = client.post("/compliance/invite", data=data)
    assert page.status_code == 200  # a choice, nothing enrolled yet
    text = text_of(page)
    assert "Invite Due Welder to a session" in text and "full: waitlist" in text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 1
    resp = client.post("/compliance/invite", data={**data, "session_id": later.id})
    assert resp.status_code == 302
    mine = db.session.execute(sa.select(Enrolment).where(Enrolment.user_id == welder.id)).scalar()
    assert (mine.session_id, mine.status) == (later.id, "enrolled")
    # a session that does not fit is refused, nothing changes
    resp = client.post("/compliance/invite", data={**data, "session_id": 99999})
    assert resp.status_code == 303
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 2
