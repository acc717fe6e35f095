"""Help request pages through the Flask test client."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from lms.extensions import db
from lms.support import services
from lms.support.models import HelpRequest, HelpRequestAttachment
from tests.conftest import Auth, text_of

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def first_line(make_user):
    user = make_user(name="Fred First")
    services.appoint(db.session, user_id=user.id, line=1, actor_id=None)
    db.session.commit()
    return user


def _post_new(client, **data):
    values = {
        "page": "/sessions/42",
        "subject": "Cannot sign",
        "category": "sessions",
        "description": "The sign button is grey.",
    }
    values.update(data)
    return client.post(
        "/support/new",
        data=values,
        content_type="multipart/form-data",
        headers={"User-Agent": "TestBrowser/1.0", "Accept-Language": "en"},
    )


def test_the_footer_link_carries_the_page(client, login_as):
    login_as("employee")
    resp = client.get("/learning/")
    html = resp.get_data(as_text=True)
    assert "I need help" in text_of(resp)
    assert "/support/new?page=/learning/" in html


def test_raise_with_context_from_the_page(client, login_as, make_program):
    user = login_as("employee", name="Eve Employee")
    program = make_program()
    page = f"/programs/{program.id}"
    resp = client.get(f"/support/new?page={page}", headers={"User-Agent": "TestBrowser/1.0"})
    assert resp.status_code == 200
    text = text_of(resp)
    assert page in text and "TestBrowser/1.0" in text and program.code in text
    resp = _post_new(client, page=page)
    assert resp.status_code == 302
    req = db.session.execute(sa.select(HelpRequest)).scalar_one()
    assert (req.requester_id, req.page, req.program_id) == (user.id, page, program.id)
    assert (req.browser, req.language) == ("TestBrowser/1.0", "en")
    detail = client.get(resp.headers["Location"])
    assert "Cannot sign" in text_of(detail) and "Waiting for support" in text_of(detail)


def test_an_outside_page_is_not_kept(client, login_as):
    login_as("employee")
    resp = _post_new(client, page="https://evil.example/x")
    assert resp.status_code == 302
    assert db.session.execute(sa.select(HelpRequest.page)).scalar_one() == ""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a not allowed", "Only PDF, PNG and JPEG files can be attached"),
        (PNG + b"\x00" * (5 * 1024 * 1024), "The file is too large (at most 5 MB)"),
    ],
)
def test_a_bad_attachment_is_refused_and_the_text_is_kept(client, login_as, data, message):
    login_as("employee")
    resp = _post_new(client, attachment=(io.BytesIO(data), "picture.png"))
    assert resp.status_code == 400
    text = text_of(resp)
    assert message in text
    assert "Cannot sign" in resp.get_data(as_text=True)  # the subject is still in the form
    assert "The sign button is grey." in text
    assert db.session.execute(sa.select(sa.func.count(HelpRequest.id))).scalar() == 0


def test_an_empty_form_names_the_fields(client, login_as):
    login_as("employee")
    resp = _post_new(client, subject="", description="")
    assert resp.status_code == 400
    assert "This field is required." in text_of(resp)


def test_another_person_cannot_see_a_request_or_its_file(client, make_user, first_line):
    owner = make_user(name="Owen Owner")
    Auth(client).login(owner)
    _post_new(client, attachment=(io.BytesIO(PNG), "ekrāns.png"))
    req = db.session.execute(sa.select(HelpRequest)).scalar_one()
    att = db.session.execute(sa.select(HelpRequestAttachment)).scalar_one()
    got = client.get(f"/support/attachments/{att.id}")
    assert got.status_code == 200 and got.data == PNG and got.mimetype == "image/png"
    assert "filename*=UTF-8''ekr%C4%81ns.png" in got.headers["Content-Disposition"]
    Auth(client).logout()
    Auth(client).login(make_user(name="Nosy Neighbour"))
    for url in (f"/support/{req.id}", f"/support/attachments/{att.id}"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/support/{req.id}/reply", data={"body": "x"}).status_code == 404
    assert client.post(f"/support/{req.id}/close", data={}).status_code == 404
    assert "Cannot sign" not in text_of(client.get("/support/"))
    assert client.get("/support/board").status_code == 403
    assert client.post(f"/support/{req.id}/escalate", data={"reason": "x"}).status_code == 403
    # support staff see it, with the requester's details
    Auth(client).logout()
    Auth(client).login(first_line)
    resp = client.get(f"/support/{req.id}")
    assert resp.status_code == 200 and "Owen Owner" in text_of(resp)


def test_first_line_answers_escalates_and_the_board_shows_lines(
    client, make_user, first_line, time_travel
):
    time_travel("2026-03-02 08:00Z")
    owner = make_user(name="Owen Owner")
    Auth(client).login(owner)
    _post_new(client)
    req_id = db.session.execute(sa.select(HelpRequest.id)).scalar_one()
    Auth(client).logout()
    time_travel("2026-03-04 08:00Z")
    Auth(client).login(first_line)
    board = client.get("/support/board")
    assert board.status_code == 200
    html = board.get_data(as_text=True)
    assert 'class="overdue"' in html and "Past its time" in text_of(board)
    resp = client.post(f"/support/{req_id}/escalate", data={"reason": ""})
    assert resp.status_code == 400 and "This field is required." in text_of(resp)
    resp = client.post(f"/support/{req_id}/escalate", data={"reason": "Needs second line"})
    assert resp.status_code == 302
    assert "Second line" in text_of(client.get("/support/board?line=2"))
    # first line can no longer act on it
    resp = client.post(f"/support/{req_id}/reply", data={"body": "Hello"})
    assert resp.status_code == 403


def test_staff_page_appoints_and_sets_answer_times(client, login_as, make_user):
    login_as("admin")
    hub = client.get("/admin/")
    assert 'href="/support/staff"' in hub.get_data(as_text=True) and "Support staff" in text_of(hub)
    person = make_user(name="New Agent")
    resp = client.post("/support/staff/appoint", data={"user_id": person.id, "line": 2})
    assert resp.status_code == 302
    assert services.staff_line(db.session, person) == 2
    data = {"hours_low": 48, "hours_normal": 12, "hours_high": 4, "hours_urgent": 1}
    assert client.post("/support/staff/times", data=data).status_code == 302
    assert services.answer_hours(db.session)["normal"] == 12
    bad = client.post("/support/staff/times", data={**data, "hours_low": 0})
    assert bad.status_code == 400 and "Enter a number in the allowed range." in text_of(bad)
    assert "New Agent" in text_of(client.get("/support/staff"))
    assert services.answer_hours(db.session) == {"low": 48, "normal": 12, "high": 4, "urgent": 1}


def test_default_answer_times():
    assert services.answer_hours(db.session) == {"low": 72, "normal": 24, "high": 8, "urgent": 2}


def test_the_start_page_tells_staff_what_waits_at_their_line(client, make_user, first_line):
    owner = make_user(name="Owen Owner")
    Auth(client).login(owner)
    _post_new(client)
    assert "Help requests at your line" not in text_of(client.get("/"))
    Auth(client).logout()
    Auth(client).login(first_line)
    text = text_of(client.get("/"))
    assert "Help requests at your line" in text
    assert "1 open help request waits at your line." in text


def test_demo_help_desk_is_idempotent(app):
    from lms import demo
    from lms.accounts.services import find_by_email
    from lms.support import demo as support_demo

    demo.load_demo(db.session, password="x" * 12, echo=lambda _m: None)
    db.session.commit()
    users = {k: find_by_email(db.session, demo.email_for(k)) for k, *_r in demo.PEOPLE}
    count = db.session.execute(sa.select(sa.func.count(HelpRequest.id))).scalar()
    assert count == 2
    stuck = db.session.execute(sa.select(HelpRequest).where(HelpRequest.line == 2)).scalar_one()
    assert [e.kind for e in stuck.events] == ["raised", "reply", "reply", "escalated"]
    support_demo.load_demo(db.session, users, "x", lambda _m: None)
    db.session.commit()
    assert db.session.execute(sa.select(sa.func.count(HelpRequest.id))).scalar() == 2
    assert services.staff_line(db.session, users["emp16"]) == 1


def test_context_from_a_session_page_and_an_own_quiz_attempt(
    client, login_as, make_user, make_program
):
    from datetime import datetime, timedelta

    from lms.learning import services as learning
    from tests.sessions.conftest import approve_without_quiz, schedule_session

    user = login_as("employee", name="Eve Employee")
    briefing = approve_without_quiz(make_program(approved=False, code="FS-S"))
    ts = schedule_session(
        program=briefing,
        instructor=make_user("instructor"),
        start=(datetime.now() + timedelta(days=2)).replace(second=0, microsecond=0),
    )
    assert _post_new(client, page=f"/sessions/{ts.id}").status_code == 302
    quiz_program = make_program(code="FS-Q")
    attempt = learning.start_attempt(db.session, user, quiz_program)
    db.session.commit()
    assert _post_new(client, page=f"/learning/attempts/{attempt.id}").status_code == 302
    rows = db.session.execute(
        sa.select(HelpRequest.session_id, HelpRequest.attempt_id, HelpRequest.program_id).order_by(
            HelpRequest.id
        )
    ).all()
    assert rows == [(ts.id, None, briefing.id), (None, attempt.id, quiz_program.id)]
