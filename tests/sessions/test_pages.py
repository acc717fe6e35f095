"""The session pages as each role sees them, the start page panel, and wrong addresses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from lms.extensions import db
from lms.sessions import queries
from lms.sessions.models import TrainingSession
from tests.conftest import PASSWORD, text_of
from tests.sessions.conftest import enrol

pytestmark = pytest.mark.usefixtures("clock")


def test_instructor_list_with_filters(client, auth, make_session, make_plain_program, make_user):
    me = make_user("instructor", name="Me Instructor")
    colleague = make_user("instructor", name="Other Instructor")
    evac = make_plain_program(code="EVAC")
    make_session(program=evac, instructor=me, start=datetime(2025, 3, 10, 10))
    make_session(instructor=colleague, start=datetime(2025, 3, 11, 10))
    make_session(instructor=me, start=datetime(2025, 3, 3, 9))  # started before NOW
    auth.login(me)
    text = text_of(client.get("/sessions/"))
    assert "EVAC" in text and "Other Instructor" not in text
    assert "Waiting for your signature" in text  # the one that has started
    assert "Other Instructor" in text_of(client.get("/sessions/?whose=all"))
    evac_only = text_of(client.get(f"/sessions/?whose=all&program_id={evac.id}"))
    assert "EVAC" in evac_only and "Other Instructor" not in evac_only
    assert "No sessions match." in text_of(client.get("/sessions/?status=cancelled"))
    assert client.get("/sessions/?when=nonsense&page=x&program_id=y").status_code == 200
    assert "EVAC" in text_of(client.get("/"))  # the start page panel


def test_managers_and_auditors_read_but_do_not_run(client, login_as, make_session, people):
    ts = make_session()
    enrol(ts, people[0])
    login_as("manager")
    text = text_of(client.get(f"/sessions/{ts.id}"))
    assert "Worker 1" in text and "Invite everyone due" not in text
    assert "Cancel the session" not in text
    assert client.get(f"/sessions/{ts.id}/edit").status_code == 403
    assert client.post(f"/sessions/{ts.id}/cancel", data={"cancel-reason": "x"}).status_code == 403
    # not designated for any cascade program: the page explains instead of a bare refusal
    resp = client.get("/sessions/new")
    assert resp.status_code == 200 and "not designated" in text_of(resp)
    assert client.post("/sessions/new", data={}).status_code == 403


def test_employee_pages_and_the_home_panel(client, auth, make_session, people, clock):
    ts = make_session(start=datetime(2025, 3, 3, 10, 30))
    enrol(ts, people[0])
    auth.login(people[0])
    home = text_of(client.get("/"))
    assert "My next sessions" in home and ts.program.code in home
    clock.move_to(datetime(2025, 3, 3, 9, 0, tzinfo=UTC))
    page = client.get("/sessions/mine")
    text = text_of(page)
    assert "Please acknowledge" in text and "Calendar address" in text
    assert people[0].calendar_token in page.get_data(as_text=True)
    assert "waiting for your acknowledgment" in text_of(client.get("/"))


def test_wrong_addresses_and_forms_answer_4xx_and_change_nothing(client, login_as, make_session):
    ts = make_session()
    login_as("admin")
    for url in (
        "/sessions/999999",
        "/sessions/999999/edit",
        "/sessions/999999/sign",
        "/sessions/999999/sheet",
        f"/sessions/{ts.id}/sheet/999999",
        "/sessions/999999/event.ics",
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        f"/sessions/{ts.id}/invite/person",
        f"/sessions/{ts.id}/invite/department",
        f"/sessions/{ts.id}/walk-in",
        f"/sessions/{ts.id}/cancel",
        f"/sessions/{ts.id}/attendance",
        f"/sessions/{ts.id}/enrolments/999999/cancel",
        "/sessions/enrolments/999999/acknowledge",
        "/sessions/enrolments/999999/leave",
    ):
        resp = client.post(url, data={"invite-user_id": "abc", "walkin-status": "sleeping"})
        assert 400 <= resp.status_code < 500, (url, resp.status_code)
    resp = client.post(f"/sessions/{ts.id}/attendance", data={"everyone": "sleeping"})
    assert resp.status_code == 400
    resp = client.post(
        "/sessions/new",
        data={"program_id": "x", "starts_at": "tomorrow", "capacity": "many"},
    )
    assert resp.status_code == 400
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TrainingSession)) == 1
    assert queries.counts(db.session, ts.id) == {"enrolled": 0, "waitlisted": 0, "cancelled": 0}


def test_sign_page_shows_what_is_signed(client, auth, make_session, people, clock):
    ts = make_session(start=datetime(2025, 3, 3, 10, 30))
    enrol(ts, people[0])
    clock.move_to(datetime(2025, 3, 3, 9, 0, tzinfo=UTC))
    auth.login(ts.instructor)
    text = text_of(client.get(f"/sessions/{ts.id}/sign"))
    assert "Conducted: I conducted this briefing" in text and "No mark" in text
    resp = client.post(f"/sessions/{ts.id}/sign", data={"password": PASSWORD})
    assert resp.status_code == 400 and "Mark attendance for everyone first" in text_of(resp)


def test_schedule_page_without_approved_programs(client, login_as):
    login_as("instructor")
    text = text_of(client.get("/sessions/new"))
    assert "No program has an approved version yet" in text
