"""An exam session in the browser, from the pre-exam checklist to the signed protocol: the
technician ticks the checklist and keeps the access journal, the chair overrides the late
software check with a reason, a candidate signs in on her own account, the commission records
the results and both members sign with their passwords, and the journal is exported."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from lms.completions.models import Completion
from lms.core import ledger
from lms.core.model import utcnow
from lms.exams import services
from lms.exams.models import AccessEntry
from lms.extensions import db
from tests.browser.support import assert_accessible, sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_exam_from_checklist_to_signed_protocol(new_page, make_user, make_program):
    program = make_program()
    chair = make_user("manager", name="Inga Priede")
    member = make_user("instructor", name="Mārtiņš Kalns")
    tech = make_user("employee", name="Oskars Tehniķis", job_title="Support specialist")
    anna = make_user("employee", name="Anna Bērziņa")
    boris = make_user("employee", name="Boriss Ivanovs")
    point = services.create_point(
        db.session, name="Exam hall 1", room="A-101", workstations=10, actor_id=None
    )
    start = (utcnow() + timedelta(hours=1)).replace(microsecond=0)  # the 2-hour mark has passed
    exam = services.create_exam(
        db.session,
        point=point,
        program=program,
        test_kind="quiz",
        paper_title="",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        actor_id=None,
    )
    services.appoint(db.session, exam, chair, "chair", None)
    services.appoint(db.session, exam, member, "member", None)
    services.appoint(db.session, exam, tech, "technician", None)
    services.add_candidate(db.session, exam, anna, None)
    services.add_candidate(db.session, exam, boris, None)
    db.session.commit()
    url = f"/exams/{exam.id}"

    # the technician ticks the pre-exam checklist and records his own entry
    t = new_page()
    sign_in(t, tech.email, PASSWORD)
    t.get_by_role("link", name="Exams").first.click()
    expect(t.get_by_role("heading", level=1)).to_have_text("Exams")
    t.goto(url)
    for label in (
        "Workstations checked",
        "Exam software checked",
        "Cameras on",
        "Candidates' identity documents checked",
    ):
        t.get_by_role("button", name=f"Tick: {label}").click()
        expect(t.locator(".flash-success")).to_contain_text(f"{label}: ticked at")
    assert_accessible(t, "exam page, checklist ticked")
    entry = t.locator("form", has=t.get_by_role("button", name="Record the entry"))
    entry.get_by_label("Person", exact=True).select_option(
        label="Oskars Tehniķis (Support specialist)"
    )
    entry.get_by_label("Role").select_option(label="Technician")
    entry.get_by_label("Where").select_option(label="Exam room")
    entry.get_by_label("Reason").fill("Software and camera check")
    entry.get_by_role("button", name="Record the entry").click()
    expect(t.locator(".flash-success")).to_contain_text(
        "The entry of Oskars Tehniķis was recorded."
    )

    # a visitor's exit typed before the entry is refused, and the form keeps what was typed
    entry = t.locator("form", has=t.get_by_role("button", name="Record the entry"))
    entry.get_by_label("Name (someone without an account)").fill("Vera Piegādātāja")
    entry.get_by_label("Role").select_option(label="Visitor")
    time_in = entry.get_by_label("Time in (local time)").input_value()
    before = datetime.strptime(time_in, "%Y-%m-%dT%H:%M") - timedelta(minutes=10)
    entry.get_by_label("Time out (local time)").fill(before.strftime("%Y-%m-%dT%H:%M"))
    entry.get_by_label("Reason").fill("Delivered water")
    entry.get_by_role("button", name="Record the entry").click()
    expect(t.locator(".error-summary")).to_contain_text("The exit cannot be before the entry")
    entry = t.locator("form", has=t.get_by_role("button", name="Record the entry"))
    expect(entry.get_by_label("Reason")).to_have_value("Delivered water")
    entry.get_by_label("Time out (local time)").fill("")
    entry.get_by_role("button", name="Record the entry").click()
    expect(t.locator(".flash-success")).to_contain_text(
        "The entry of Vera Piegādātāja was recorded."
    )
    t.get_by_role("button", name="Record the exit of Vera Piegādātāja").click()
    expect(t.locator(".flash-success")).to_contain_text(
        "The exit of Vera Piegādātāja was recorded."
    )

    # the chair sees the warning and opens the exam with an override and a reason
    c = new_page()
    sign_in(c, chair.email, PASSWORD)
    c.goto(url)
    expect(c.locator("#software-warning")).to_contain_text(
        "the software was not checked at least 2 hours before the start"
    )
    assert_accessible(c, "exam page with the chair's warning")
    c.get_by_role("button", name="Open the exam").click()
    expect(c.locator(".error-summary")).to_contain_text("Give the reason for opening")
    c.get_by_label("Reason for opening despite the warning").fill(
        "Exam server replaced this morning; checked at 08:40"
    )
    c.get_by_role("button", name="Open the exam").click()
    expect(c.locator(".flash-success")).to_contain_text("The exam is open.")
    expect(c.locator(".facts")).to_contain_text("override by the chair: Exam server replaced")

    # a candidate signs in to the exam on her own account: an entry in the journal
    a = new_page()
    sign_in(a, anna.email, PASSWORD)
    a.goto(url)
    a.get_by_role("button", name="Sign in to the exam").click()
    expect(a.locator(".flash-success")).to_contain_text("You are signed in to the exam.")
    assert_accessible(a, "candidate's exam page")

    # the chair closes the exam; the technician stops the cameras and copies the recordings
    c.reload()
    c.get_by_role("button", name="Close the exam").click()
    expect(c.locator(".flash-success")).to_contain_text("The exam is closed.")
    t.reload()
    t.get_by_role("button", name="Record the exit of Oskars Tehniķis").click()
    expect(t.locator(".flash-success")).to_contain_text("The exit of Oskars Tehniķis was recorded.")
    t.get_by_role("button", name="Tick: Cameras stopped").click()
    expect(t.locator(".flash-success")).to_contain_text("Cameras stopped: ticked at")
    t.get_by_label("Where").first.fill("NAS \\\\exam-archive\\2026")
    t.get_by_role("button", name="Tick: Recordings copied (say where to)").click()
    expect(t.locator(".flash-success")).to_contain_text("Recordings copied (say where to): ticked")
    expect(t.locator("#checklists")).to_contain_text("NAS \\\\exam-archive\\2026")

    # results, then the chair signs; signing again is refused
    c.reload()
    c.get_by_label("Score of Anna Bērziņa").fill("86")
    c.get_by_role("group", name="Result of Anna Bērziņa").get_by_label("passed").check()
    c.get_by_label("Score of Boriss Ivanovs").fill("41")
    c.get_by_role("group", name="Result of Boriss Ivanovs").get_by_label("failed").check()
    c.get_by_role("button", name="Save the results").click()
    expect(c.locator(".flash-success")).to_contain_text("Results saved: 2 changed.")
    c.get_by_role("link", name="Sign the protocol").click()
    assert_accessible(c, "protocol signing page")
    c.get_by_label("Your password, to confirm it is you").fill(PASSWORD)
    c.get_by_role("button", name="Sign the protocol").click()
    expect(c.locator(".flash-success")).to_contain_text("You signed the exam protocol.")
    c.goto(f"{url}/sign")
    c.get_by_label("Your password, to confirm it is you").fill(PASSWORD)
    c.get_by_role("button", name="Sign the protocol").click()
    expect(c.locator(".flash-error")).to_contain_text("You have already signed this protocol")

    m = new_page()
    sign_in(m, member.email, PASSWORD)
    m.goto(url)
    m.get_by_role("link", name="Sign the protocol").click()
    m.get_by_label("Your password, to confirm it is you").fill(PASSWORD)
    m.get_by_role("button", name="Sign the protocol").click()
    expect(m.locator("#protocol")).to_contain_text("signed by the whole commission")
    expect(m.locator("#people")).to_contain_text("Not admitted")
    assert_accessible(m, "signed protocol")

    # the journal, exported
    with m.expect_download() as dl:
        m.get_by_role("link", name="Download CSV").click()
    rows = list(csv.reader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8-sig"))))
    names = [r[1] for r in rows[1:]]
    assert names.count("Oskars Tehniķis") == 2  # the entry and the line with its exit
    assert "Anna Bērziņa" in names and "Vera Piegādātāja" in names
    with m.expect_download() as dl:
        m.get_by_role("link", name="Download PDF").click()
    pdf_text = "".join(p.extract_text() for p in PdfReader(dl.value.path()).pages)
    assert "Own sign-in to the exam" in pdf_text and "Delivered water" in pdf_text
    with m.expect_download() as dl:
        m.get_by_role("link", name="Download XLSX").click()
    assert dl.value.suggested_filename == f"exam-{exam.id}-access-journal.xlsx"

    db.session.expire_all()
    assert db.session.query(AccessEntry).count() == 5
    assert [(c.user_id, c.earned_by) for c in db.session.query(Completion).all()] == [
        (anna.id, "exam")
    ]
    assert ledger.verify(db.session).ok
