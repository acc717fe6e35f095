"""An instructor takes attendance in the browser: the sheet (one row per person, all saved at
once), a walk-in, an attendee's acknowledgment on the instructor's device (sign-in sheet mode),
and the signature as conducted. Every page on the way passes axe-core."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from playwright.sync_api import expect

from lms.core import clock as org_clock
from lms.core.model import utcnow
from lms.extensions import db
from lms.sessions import queries, services
from tests.browser.support import assert_accessible, sign_in
from tests.conftest import PASSWORD
from tests.sessions.conftest import approve_without_quiz, schedule_session

pytestmark = pytest.mark.browser


def test_instructor_takes_attendance(new_page, live_server, make_user, make_program):
    instructor = make_user("instructor", name="Ivars Ozols", job_title="Fire safety specialist")
    anna = make_user(name="Anna Kļaviņa", job_title="Lathe operator")
    janis = make_user(name="Jānis Krūmiņš", job_title="Welder")
    sergejs = make_user(name="Sergejs Fjodorovs", job_title="Welder")
    edgars = make_user(name="Edgars Ločmelis", job_title="Fitter")
    program = approve_without_quiz(make_program(approved=False, delivery_mode="instructor_led"))
    # the briefing started a quarter of an hour ago; the people were invited the day before
    start = org_clock.to_local(utcnow() - timedelta(minutes=15)).replace(
        tzinfo=None, second=0, microsecond=0
    )
    ts = schedule_session(program=program, instructor=instructor, start=start, capacity=10)
    with time_machine.travel(org_clock.to_utc(start) - timedelta(days=1), tick=False):
        services.invite(db.session, ts, [anna, janis, sergejs], instructor)
        db.session.commit()

    page = new_page()
    sign_in(page, instructor.email, PASSWORD)
    page.goto(f"/sessions/{ts.id}")
    expect(page.get_by_role("heading", name="Attendance and acknowledgments")).to_be_visible()
    assert_accessible(page, "session page before attendance")

    # the sheet: one row per person, marked and saved at once
    page.get_by_role("group", name="Attendance of Anna Kļaviņa").get_by_label("Present").check()
    page.get_by_role("group", name="Attendance of Jānis Krūmiņš").get_by_label("Late").check()
    page.get_by_role("group", name="Attendance of Sergejs Fjodorovs").get_by_label("Absent").check()
    page.get_by_role("button", name="Save attendance").click()
    expect(page.locator(".flash-success")).to_contain_text("3 attendance marks were saved.")
    expect(
        page.get_by_role("group", name="Attendance of Jānis Krūmiņš").get_by_label("Late")
    ).to_be_checked()

    # a walk-in
    walk_in = page.locator("form", has=page.get_by_role("button", name="Add walk-in"))
    walk_in.get_by_label("Person").select_option(label="Edgars Ločmelis (Fitter)")
    walk_in.get_by_role("button", name="Add walk-in").click()
    expect(page.locator(".flash-success")).to_contain_text(
        "Edgars Ločmelis was added as a walk-in."
    )
    expect(
        page.get_by_role("group", name="Attendance of Edgars Ločmelis").get_by_label("Present")
    ).to_be_checked()
    assert_accessible(page, "session page with attendance")

    # sign-in sheet mode: Anna confirms with her own password on the instructor's device
    page.get_by_role("link", name="Sign-in sheet mode").click()
    assert_accessible(page, "sign-in sheet")
    page.get_by_role("link", name="Anna Kļaviņa").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Anna Kļaviņa")
    page.get_by_label("Password or PIN").fill("not her password")
    page.get_by_role("button", name="I received this briefing").click()
    expect(page.locator(".error-summary")).to_contain_text("Nothing was recorded")
    assert_accessible(page, "acknowledgment with a wrong password")
    page.get_by_label("Password or PIN").fill(PASSWORD)
    page.get_by_role("button", name="I received this briefing").click()
    expect(page.locator(".flash-success")).to_contain_text(
        "Anna Kļaviņa acknowledged the briefing."
    )
    expect(page.locator(".user-link")).to_have_text("Ivars Ozols")  # still the instructor

    # the instructor signs the session as conducted
    page.get_by_role("link", name="Back to the session").click()
    page.get_by_role("link", name="Sign as conducted").click()
    assert_accessible(page, "sign page")
    page.get_by_label("Your password, to confirm it is you").fill(PASSWORD)
    page.get_by_role("button", name="Sign as conducted").click()
    expect(page.locator(".flash-success")).to_contain_text("You signed the session as conducted.")
    expect(page.locator(".signature")).to_contain_text("Ivars Ozols")
    expect(page.locator(".page-head .badge")).to_have_text("Held")
    assert_accessible(page, "signed session")

    db.session.expire_all()
    marks = queries.current_marks(db.session, ts.id)
    by_user = {m.user_id: m.status for m in marks.values()}
    assert by_user == {
        anna.id: "present",
        janis.id: "late",
        sergejs.id: "absent",
        edgars.id: "present",
    }
    assert [a.user_id for a in queries.current_acks(db.session, ts.id).values()] == [anna.id]
