"""The cascade in the browser: the specialist briefs a manager (level 0); the manager, now a
trained responsible person, schedules a session for their own unit and briefs a welder
(level 1); the welder's record shows who trained whom. Every page passes axe-core."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from playwright.sync_api import expect

from lms.cascade import services as cascade
from lms.completions.models import Completion
from lms.core import clock as org_clock
from lms.core.model import utcnow
from lms.extensions import db
from lms.sessions import services
from tests.browser.support import assert_accessible, sign_in
from tests.conftest import PASSWORD
from tests.sessions.conftest import approve_without_quiz, schedule_session

pytestmark = pytest.mark.browser


def _started(program, instructor, people, department=None):
    """A session that began a quarter of an hour ago, the people invited the day before."""
    start = org_clock.to_local(utcnow() - timedelta(minutes=15)).replace(
        tzinfo=None, second=0, microsecond=0
    )
    ts = schedule_session(
        program=program,
        instructor=instructor,
        start=start,
        capacity=10,
        department_id=department.id if department else None,
    )
    with time_machine.travel(org_clock.to_utc(start) - timedelta(days=1), tick=False):
        services.invite(db.session, ts, people, instructor)
        db.session.commit()
    return ts


def _run_in_browser(page, ts, person, instructor_name):
    page.goto(f"/sessions/{ts.id}")
    page.get_by_role("group", name=f"Attendance of {person.name}").get_by_label("Present").check()
    page.get_by_role("button", name="Save attendance").click()
    expect(page.locator(".flash-success")).to_be_visible()
    page.get_by_role("link", name="Sign-in sheet mode").click()
    page.get_by_role("link", name=person.name).click()
    page.get_by_label("Password or PIN").fill(PASSWORD)
    page.get_by_role("button", name="I received this briefing").click()
    expect(page.locator(".flash-success")).to_contain_text(f"{person.name} acknowledged")
    page.get_by_role("link", name="Back to the session").click()
    page.get_by_role("link", name="Sign as conducted").click()
    page.get_by_label("Your password, to confirm it is you").fill(PASSWORD)
    page.get_by_role("button", name="Sign as conducted").click()
    expect(page.locator(".signature")).to_contain_text(instructor_name)


def test_level_0_and_level_1(new_page, live_server, make_user, make_department, make_program):
    shop = make_department("Metal workshop", "WSHP")
    specialist = make_user("instructor", name="Ivars Ozols")
    liga = make_user("manager", name="Līga Bērziņa", department=shop)
    welder = make_user(name="Jānis Krūmiņš", department=shop, job_title="Welder")
    program = approve_without_quiz(
        make_program(approved=False, delivery_mode="cascade", code="FS-EVAC")
    )
    cascade.designate(
        db.session,
        user_id=liga.id,
        department_id=shop.id,
        program_id=program.id,
        category=None,
        level=1,
        starts_on=date.today() - timedelta(days=1),
        ends_on=None,
        actor_id=None,
    )
    db.session.commit()

    # before her own training Līga is told why she cannot schedule
    page = new_page()
    sign_in(page, liga.email, PASSWORD)
    expect(page.get_by_role("heading", name="You are a responsible person")).to_be_visible()
    page.goto("/sessions/new")
    expect(page.locator("main")).to_contain_text("trained again")
    assert_accessible(page, "cannot schedule yet")

    # level 0: the specialist briefs Līga
    level0 = _started(program, specialist, [liga])
    spage = new_page()
    sign_in(spage, specialist.email, PASSWORD)
    _run_in_browser(spage, level0, liga, "Ivars Ozols")

    # level 1: Līga schedules a session for her own unit, then briefs Jānis
    page.goto("/")
    page.get_by_role("link", name="Schedule a session for your staff").click()
    assert_accessible(page, "schedule form of a responsible person")
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    page.get_by_label("Program", exact=True).select_option(
        label=f"FS-EVAC: {program.current_version.title['en']}"
    )
    page.get_by_label("Held for department").select_option(label="Metal workshop")
    page.get_by_label("Starts (local time)").fill(f"{tomorrow}T09:00")
    page.get_by_label("Ends (local time)").fill(f"{tomorrow}T10:00")
    page.get_by_label("Place", exact=True).fill("Workshop canteen")
    page.get_by_role("button", name="Schedule").click()
    expect(page.locator(".flash-success")).to_contain_text("1 session was scheduled.")
    level1 = _started(program, liga, [welder], department=shop)
    _run_in_browser(page, level1, welder, "Līga Bērziņa")

    db.session.expire_all()
    done = db.session.execute(
        sa.select(Completion).where(Completion.user_id == welder.id)
    ).scalar_one()
    assert done.trainer_id == liga.id and done.cascade_level == 1
    own = db.session.execute(
        sa.select(Completion).where(Completion.user_id == liga.id)
    ).scalar_one()
    assert done.trainer_completion_id == own.id and own.trainer_id == specialist.id

    # the welder's record shows the chain back to the specialist
    page.goto(f"/people/{welder.id}/training")
    expect(page.locator("main")).to_contain_text("Līga Bērziņa ← Ivars Ozols")
    assert_accessible(page, "record with lineage")
