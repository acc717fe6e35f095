"""The exam pages through the Flask test client: the walk from checklist to signed protocol,
bad input refused with a message and nothing lost, object access, and the exports."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from openpyxl import load_workbook
from pypdf import PdfReader

from lms.completions.models import Completion
from lms.core.model import utcnow
from lms.exams import access_journal, protocol, queries, services
from lms.exams.models import AccessEntry, ChecklistTick, ExamPoint, ExamSession, ProtocolSignature
from lms.extensions import db
from tests.conftest import PASSWORD, Auth, text_of
from tests.exams.conftest import tick_post, tick_pre


def _local(moment) -> str:
    return queries.to_local(moment).strftime("%Y-%m-%dT%H:%M")


def test_instructor_adds_a_point_and_plans_an_exam(client, login_as, make_program):
    program = make_program()
    login_as("instructor")
    resp = client.post("/exams/points", data={"name": "Hall 2", "room": "B-12", "workstations": 8})
    assert resp.status_code == 302
    point = db.session.query(ExamPoint).one()
    page = text_of(client.get(f"/exams/points/{point.id}"))
    assert "Exam software checked" in page and "Recordings copied" in page
    # a second software check on the same point is refused, on its field
    resp = client.post(
        f"/exams/points/{point.id}",
        data={"phase": "pre", "label": "Second software check", "software_check": "y"},
    )
    assert resp.status_code == 409
    assert "already has a software check" in text_of(resp)
    start = utcnow() + timedelta(days=1)
    resp = client.post(
        "/exams/new",
        data={
            "point_id": point.id,
            "program_id": program.id,
            "test_kind": "paper",
            "paper_title": "",
            "starts_at": _local(start),
            "ends_at": _local(start + timedelta(hours=1)),
        },
    )
    assert resp.status_code == 400
    assert "Name the exam paper." in text_of(resp)
    resp = client.post(
        "/exams/new",
        data={
            "point_id": point.id,
            "program_id": program.id,
            "test_kind": "quiz",
            "starts_at": _local(start),
            "ends_at": _local(start + timedelta(hours=1)),
        },
    )
    assert resp.status_code == 302
    exam = db.session.query(ExamSession).one()
    assert exam.version_id == program.current_version_id and exam.software_lead_hours == 2


def test_technician_ticks_and_a_foreign_item_is_refused(client, exam_setup):
    setup = exam_setup()
    other = services.create_point(db.session, name="B", room="2", workstations=1, actor_id=None)
    foreign = services.active_items(other, "pre")[0].id
    db.session.commit()
    Auth(client).login(setup.technician)
    resp = client.post(f"/exams/{setup.exam.id}/tick", data={"item_id": foreign})
    assert resp.status_code == 400
    assert "another exam point" in text_of(resp)
    item = services.active_items(setup.exam.point, "pre")[0]
    resp = client.post(f"/exams/{setup.exam.id}/tick", data={"item_id": item.id})
    assert resp.status_code == 302
    resp = client.post(f"/exams/{setup.exam.id}/tick", data={"item_id": item.id})
    assert resp.status_code == 409 and "already ticked" in text_of(resp)
    assert db.session.query(ChecklistTick).count() == 1


def test_chair_sees_the_warning_and_must_give_a_reason(client, exam_setup):
    setup = exam_setup(starts_at=(utcnow() + timedelta(minutes=50)).replace(microsecond=0))
    tick_pre(setup)
    Auth(client).login(setup.chair)
    page = text_of(client.get(f"/exams/{setup.exam.id}"))
    assert "Warning: the software was not checked at least 2 hours before the start" in page
    resp = client.post(f"/exams/{setup.exam.id}/open", data={"override_reason": ""})
    assert resp.status_code == 400
    assert "Give the reason for opening the exam anyway" in text_of(resp)
    db.session.expire_all()
    assert db.session.get(ExamSession, setup.exam.id).opened_at is None
    resp = client.post(
        f"/exams/{setup.exam.id}/open", data={"override_reason": "Checked at 8:40, server late"}
    )
    assert resp.status_code == 302
    page = text_of(client.get(f"/exams/{setup.exam.id}"))
    assert "override by the chair: Checked at 8:40, server late" in page


def test_access_journal_pages_and_exports(client, exam_setup):
    setup = exam_setup()
    Auth(client).login(setup.technician)
    now = utcnow()
    data = {
        "access-person_id": setup.technician.id,
        "access-person_name": "",
        "access-role": "technician",
        "access-area": "room",
        "access-time_in": _local(now - timedelta(minutes=20)),
        "access-time_out": _local(now - timedelta(minutes=30)),
        "access-reason": "Checked the cameras",
    }
    resp = client.post(f"/exams/{setup.exam.id}/access", data=data)
    assert resp.status_code == 400
    body = text_of(resp)
    assert "The exit cannot be before the entry" in body
    assert 'value="Checked the cameras"' in resp.get_data(as_text=True)  # nothing lost
    assert db.session.query(AccessEntry).count() == 0
    data["access-time_out"] = ""
    assert client.post(f"/exams/{setup.exam.id}/access", data=data).status_code == 302
    line = db.session.query(AccessEntry).one()
    resp = client.post(
        f"/exams/{setup.exam.id}/access/{line.id}/exit",
        data={"time_out": _local(now - timedelta(minutes=25))},
    )
    assert resp.status_code == 400 and "exit cannot be before" in text_of(resp)
    resp = client.post(
        f"/exams/{setup.exam.id}/access/{line.id}/exit", data={"time_out": _local(now)}
    )
    assert resp.status_code == 302
    visitor = {
        "access-person_id": 0,
        "access-person_name": "=HYPERLINK(evil)",
        "access-role": "visitor",
        "access-area": "room",
        "access-time_in": _local(now - timedelta(minutes=5)),
        "access-reason": "Delivered water",
    }
    assert client.post(f"/exams/{setup.exam.id}/access", data=visitor).status_code == 302

    resp = client.get(f"/exams/{setup.exam.id}/journal.csv")
    assert resp.status_code == 200
    rows = list(csv.reader(io.StringIO(resp.get_data().decode("utf-8-sig"))))
    assert rows[0][:3] == ["Line", "Person", "Role"]
    assert len(rows) == 4  # entry, its exit (superseding), the visitor
    assert rows[1][-1] == f"superseded by line {rows[2][0]}"
    assert rows[3][1] == "'=HYPERLINK(evil)"
    resp = client.get(f"/exams/{setup.exam.id}/journal.xlsx")
    ws = load_workbook(io.BytesIO(resp.data)).active
    assert ws.max_row == 4 and ws["B2"].value == "Tech Person"
    resp = client.get(f"/exams/{setup.exam.id}/journal.pdf")
    assert resp.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.data)).pages)
    assert "Access journal of exam session" in text and "Checked the cameras" in text
    assert client.get(f"/exams/{setup.exam.id}/journal.doc").status_code == 404
    from lms.core import ledger
    from lms.core.audit import AuditEntry

    exported = (
        db.session.query(AuditEntry)
        .filter_by(object_type="exam_access_journal")
        .order_by(AuditEntry.id)
        .all()
    )
    from lms.core import texts

    assert [e.summary for e in exported] == [
        texts.stored("core.exported", format=f) for f in ("csv", "xlsx", "pdf")
    ]
    assert exported[-1].details["sha256"] == ledger.sha256(resp.data)


def test_people_outside_the_exam_do_not_see_it(client, exam_setup, make_user):
    setup = exam_setup()
    stranger = make_user("employee")
    Auth(client).login(stranger)
    assert client.get(f"/exams/{setup.exam.id}").status_code == 404
    assert client.get(f"/exams/{setup.exam.id}/journal.csv").status_code == 404
    assert "Point A" not in text_of(client.get("/exams/"))
    Auth(client).logout()
    Auth(client).login(setup.anna)
    page = text_of(client.get(f"/exams/{setup.exam.id}"))
    assert "Anna Candidate" in page and "Boris Candidate" not in page  # only her own row
    assert client.get(f"/exams/{setup.exam.id}/journal.csv").status_code == 403
    resp = client.post(
        f"/exams/{setup.exam.id}/access",
        data={
            "access-person_id": setup.anna.id,
            "access-role": "candidate",
            "access-area": "room",
            "access-time_in": _local(utcnow()),
            "access-reason": "x",
        },
    )
    assert resp.status_code == 403


def test_protocol_signed_twice_is_refused_and_completions_follow(client, exam_setup):
    setup = exam_setup()
    tick_pre(setup)
    services.open_exam(db.session, setup.exam, setup.chair)
    services.close_exam(db.session, setup.exam, setup.chair)
    db.session.commit()
    tick_post(setup)
    Auth(client).login(setup.chair)
    resp = client.post(
        f"/exams/{setup.exam.id}/results",
        data={
            f"score-{setup.anna.id}": "88",
            f"outcome-{setup.anna.id}": "passed",
            f"score-{setup.boris.id}": "101",
            f"outcome-{setup.boris.id}": "failed",
        },
    )
    assert resp.status_code == 400 and "between 0 and 100" in text_of(resp)
    resp = client.post(
        f"/exams/{setup.exam.id}/results",
        data={
            f"score-{setup.anna.id}": "88",
            f"outcome-{setup.anna.id}": "passed",
            f"score-{setup.boris.id}": "20",
            f"outcome-{setup.boris.id}": "failed",
        },
    )
    assert resp.status_code == 302
    resp = client.post(f"/exams/{setup.exam.id}/sign", data={"password": "nope"})
    assert resp.status_code == 400 and "password is wrong" in text_of(resp)
    assert (
        client.post(f"/exams/{setup.exam.id}/sign", data={"password": PASSWORD}).status_code == 302
    )
    resp = client.post(f"/exams/{setup.exam.id}/sign", data={"password": PASSWORD})
    assert resp.status_code == 409
    assert "You have already signed this protocol" in text_of(resp)
    assert db.session.query(ProtocolSignature).count() == 1
    Auth(client).logout()
    Auth(client).login(setup.member)
    assert (
        client.post(f"/exams/{setup.exam.id}/sign", data={"password": PASSWORD}).status_code == 302
    )
    page = text_of(client.get(f"/exams/{setup.exam.id}"))
    assert "The protocol is signed by the whole commission" in page
    resp = client.get(f"/exams/{setup.exam.id}/protocol.pdf")
    assert resp.mimetype == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.data)).pages)
    assert "Anna Candidate" in text and "Boris Candidate" in text and "failed" in text
    assert "Member Person (Commission member) signed the exam protocol" in " ".join(text.split())
    assert protocol.protocol_hash(db.session, setup.exam) in text.replace("\n", "")
    assert "Not admitted" in page and "Admitted" in page
    assert [c.user_id for c in db.session.query(Completion).all()] == [setup.anna.id]
    Auth(client).logout()
    Auth(client).login(setup.anna)
    assert "passed an exam" in text_of(client.get("/my/records"))
    assert "Admitted" in text_of(client.get("/exams/"))
    Auth(client).logout()
    Auth(client).login(setup.boris)
    assert "Not admitted" in text_of(client.get("/exams/"))


def test_candidate_signs_in_on_the_page(client, exam_setup):
    setup = exam_setup()
    tick_pre(setup)
    services.open_exam(db.session, setup.exam, setup.chair)
    db.session.commit()
    Auth(client).login(setup.anna)
    assert client.post(f"/exams/{setup.exam.id}/sign-in").status_code == 302
    resp = client.post(f"/exams/{setup.exam.id}/sign-in")
    assert resp.status_code == 409 and "already signed in" in text_of(resp)
    line = db.session.query(AccessEntry).one()
    assert line.self_sign_in and line.person_id == setup.anna.id
    assert "Own sign-in to the exam" in text_of(client.get(f"/exams/{setup.exam.id}"))
    assert client.post(f"/exams/{setup.exam.id}/sign-out").status_code == 302
    assert db.session.query(AccessEntry).count() == 2


def test_the_quiz_taken_during_the_exam_fills_in_the_result(client, exam_setup):
    from lms.learning import services as learning
    from tests.learning.conftest import answers_for

    setup = exam_setup()
    tick_pre(setup)
    services.open_exam(db.session, setup.exam, setup.chair)
    db.session.commit()
    attempt = learning.start_attempt(db.session, setup.anna, setup.program)
    learning.submit_attempt(db.session, attempt, setup.anna, answers_for(attempt, right=True))
    services.close_exam(db.session, setup.exam, setup.chair)
    db.session.commit()
    Auth(client).login(setup.chair)
    resp = client.get(f"/exams/{setup.exam.id}")
    html = resp.get_data(as_text=True)
    assert "100 percent, passed, at" in text_of(resp)
    assert f'name="score-{setup.anna.id}" value="100"' in html
    assert f'name="outcome-{setup.anna.id}" value="passed" checked' in html
    assert "no attempt" in text_of(resp)  # Boris did not take it


def test_a_line_is_corrected_on_its_own_page(client, exam_setup):
    setup = exam_setup()
    line = access_journal.record_access(
        db.session,
        setup.exam,
        setup.technician,
        person=setup.technician,
        role="technician",
        area="system",
        time_in=utcnow() - timedelta(minutes=30),
        reason="Installed the exam software",
    )
    db.session.commit()
    Auth(client).login(setup.member)
    url = f"/exams/{setup.exam.id}/access/{line.id}/correct"
    assert "Installed the exam software" in client.get(url).get_data(as_text=True)
    data = {
        "time_in": _local(line.time_in - timedelta(minutes=10)),
        "time_out": _local(utcnow()),
        "reason": "Installed the exam software",
        "correction": "",
    }
    resp = client.post(url, data=data)
    assert resp.status_code == 400 and "This field is required" in text_of(resp)
    data["correction"] = "Came in ten minutes earlier (camera log)"
    assert client.post(url, data=data).status_code == 302
    current = access_journal.current_access(db.session, setup.exam.id)
    assert len(current) == 1 and current[0].supersedes_id == line.id
    assert current[0].correction == "Came in ten minutes earlier (camera log)"
    assert client.get(url).status_code == 404  # the old line is no longer current
    page = text_of(client.get(f"/exams/{setup.exam.id}"))
    assert "corrected Came in ten minutes earlier" in page


def test_appointments_and_candidates_are_taken_off_before_the_exam(client, login_as, exam_setup):
    setup = exam_setup()
    login_as("instructor")
    tech = next(a for a in setup.exam.appointments if a.role == "technician")
    boris = next(c for c in setup.exam.candidates if c.user_id == setup.boris.id)
    resp = client.post(f"/exams/{setup.exam.id}/candidate/{boris.id}/withdraw")
    assert resp.status_code == 302
    db.session.expire_all()
    exam = db.session.get(ExamSession, setup.exam.id)
    assert [c.user_id for c in exam.candidates] == [setup.anna.id]
    services.tick(
        db.session, exam, services.active_items(exam.point, "pre")[0].id, setup.technician
    )
    db.session.commit()
    resp = client.post(f"/exams/{setup.exam.id}/appointment/{tech.id}/withdraw")
    assert resp.status_code == 409 and "already ticked" in text_of(resp)
    assert client.post(f"/exams/{setup.exam.id}/candidate/999999/withdraw").status_code == 404


def test_a_recording_place_is_asked_for_beside_the_item(client, exam_setup):
    setup = exam_setup()
    tick_pre(setup)
    services.open_exam(db.session, setup.exam, setup.chair)
    db.session.commit()
    item = next(i for i in services.active_items(setup.exam.point, "post") if i.asks_where)
    Auth(client).login(setup.technician)
    resp = client.post(f"/exams/{setup.exam.id}/tick", data={"item_id": item.id, "note": " "})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert html.count("Say where (for example, where the recordings were copied).") == 1
    assert 'class="error" role="alert"' in html
    assert db.session.query(ChecklistTick).count() == 4  # only the pre-exam items
