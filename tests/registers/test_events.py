"""A briefing event carries its own type and reason (chosen on the scheduling page), and the
triggers that make an unscheduled briefing due for exactly the people concerned: a transfer,
an incident, new rules in force, a failed knowledge check ("not admitted"), an absence; the
organisation's regimes chosen on a page."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import time_machine

from lms.accounts import hr_sync
from lms.accounts.people import Transfer
from lms.compliance import regimes
from lms.compliance.models import Incident, PersonStatus, UnscheduledBriefing
from lms.core import clock as org_clock
from lms.extensions import db
from lms.learning import attempts
from lms.registers import queries
from lms.sessions import services as sessions
from lms.sessions.models import TrainingSession
from tests.conftest import PASSWORD, Auth, text_of
from tests.learning.conftest import answers_for
from tests.sessions.conftest import approve_without_quiz


@pytest.fixture
def world(make_department, make_user, make_program, require, complete):
    dept = make_department("Workshop", "WS")
    other = make_department("Office", "OF")
    instructor = make_user("instructor", name="Ilze Instructor", job_title="OHS specialist")

    def person(number: str, department=dept, name: str | None = None):
        user = hr_sync.sync_person(
            db.session,
            number,
            name=name or f"Worker {number}",
            email=f"w{number.lower()}@example.test",
            job_title="Welder",
            department_id=department.id,
        )
        db.session.commit()
        return user

    ohs = approve_without_quiz(
        make_program(
            approved=False, category="workplace", delivery_mode="instructor_led", code="OHS"
        )
    )
    fire = approve_without_quiz(
        make_program(approved=False, category="fire", delivery_mode="instructor_led", code="FS")
    )
    require(ohs)
    require(fire)
    return dept, other, instructor, person, ohs, fire


def _status(user, program) -> PersonStatus:
    db.session.expire_all()
    return db.session.get(PersonStatus, (user.id, program.id))


def _hold(ts: TrainingSession, trainer, person) -> None:
    """Hold a scheduled session: the person present and acknowledged, signed by the trainer."""
    start = ts.starts_at
    sessions.invite(db.session, ts, [person], trainer)
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        sessions.mark_attendance(db.session, ts, {person.id: "present"}, trainer)
        enrolment = next(e for e in ts.enrolments if e.user_id == person.id)
        sessions.acknowledge(db.session, enrolment, actor=person, method="account")
        sessions.sign_conducted(db.session, ts, trainer, PASSWORD)
    db.session.commit()


def _schedule(program, trainer, event=None, days_ahead: int = 1) -> TrainingSession:
    start = datetime.combine(org_clock.local_today() + timedelta(days=days_ahead), time(10))
    (ts,) = sessions.schedule(
        db.session,
        program_id=program.id,
        instructor_id=trainer.id,
        starts_local=start,
        ends_local=start + timedelta(hours=1),
        place="Room 1",
        capacity=10,
        actor=trainer,
        event=event,
    )
    db.session.commit()
    return ts


def _form(program, **extra) -> dict:
    start = datetime.combine(org_clock.local_today() + timedelta(days=1), time(10))
    return {
        "program_id": program.id,
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "place": "Room 2",
        "capacity": "10",
        "department_id": "0",
        "repeat": "none",
        **extra,
    }


# ----- 1. a briefing event carries its own type -----------------------------------------------


def test_an_unscheduled_event_chosen_on_the_page_prints_its_type_and_reason_and_answers_the_due(
    client, auth, world
):
    dept, _other, instructor, person, ohs, _fire = world
    worker = person("E-1")
    old = org_clock.local_today() - timedelta(days=100)
    from lms.completions import services as completion_services

    completion_services.record_completion(
        db.session,
        user_id=worker.id,
        version=ohs.current_version,
        completed_on=old,
        earned_by="record",
        actor_id=None,
        issue=False,
    )
    db.session.commit()
    from lms.compliance import services as compliance

    compliance.trigger_unscheduled(
        db.session,
        program_id=ohs.id,
        reason="New press in the workshop",
        due_on=org_clock.local_today() + timedelta(days=5),
        department_id=dept.id,
        actor_id=None,
    )
    db.session.commit()
    assert _status(worker, ohs).basis == "pending"

    auth.login(instructor)
    page = client.get(f"/sessions/new?program_id={ohs.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="unscheduled"' in html and 'value="thematic"' in html
    # the fire program's regime (LV-FIRE) has no thematic training: not offered
    fire_page = client.get(f"/sessions/new?program_id={world[5].id}").get_data(as_text=True)
    assert 'value="thematic"' not in fire_page and 'value="repeated"' in fire_page

    # without a reason: refused with the reason, nothing saved
    resp = client.post(
        "/sessions/new",
        data=_form(ohs, instructor_id=instructor.id, briefing_type="unscheduled"),
    )
    assert resp.status_code in (400, 422)
    assert "needs its reason" in text_of(resp)
    assert db.session.query(TrainingSession).count() == 0

    resp = client.post(
        "/sessions/new",
        data=_form(
            ohs,
            instructor_id=instructor.id,
            briefing_type="unscheduled",
            briefing_trigger="instruction_amended",
            briefing_reason="New press in the workshop",
        ),
    )
    assert resp.status_code == 302, text_of(resp)[:400]
    ts = db.session.query(TrainingSession).one()
    assert (ts.briefing_type, ts.briefing_trigger) == ("unscheduled", "instruction_amended")
    assert ts.briefing_reason == "New press in the workshop"
    assert "Unscheduled" in text_of(client.get(f"/sessions/{ts.id}"))
    _hold(ts, instructor, worker)

    assert _status(worker, ohs).basis == "valid"  # the unscheduled due is answered
    (entry,) = [
        e
        for e in queries.entries(db.session, regimes.get("LV-OHS"), queries.Filters(), "lv")
        if e.on > old
    ]
    assert entry.type_key == "unscheduled"
    assert entry.values["briefing_type"] == "Instruktāža darba vietā – neplānotā"
    assert "New press in the workshop" in entry.values["reason"]
    # the register page prints them too
    page = text_of(client.get("/registers/LV-OHS?type=unscheduled"))
    assert "New press in the workshop" in page


def test_a_targeted_briefing_names_its_permit_and_is_no_yearly_refresher(world):
    _dept, _other, instructor, person, ohs, _fire = world
    worker = person("E-2")
    from lms.completions import services as completion_services

    completion_services.record_completion(
        db.session,
        user_id=worker.id,
        version=ohs.current_version,
        completed_on=org_clock.local_today() - timedelta(days=400),
        earned_by="record",
        actor_id=None,
        issue=False,
    )
    db.session.commit()
    before = _status(worker, ohs)
    assert before.valid_until < org_clock.local_today()  # the yearly briefing is overdue

    targeted = _schedule(
        ohs,
        instructor,
        sessions.BriefingEvent("targeted", "Welding in tank 3", "task", "Permit 17/2026"),
    )
    _hold(targeted, instructor, worker)
    after = _status(worker, ohs)
    assert after.completion_id == before.completion_id  # still the old one: still overdue
    assert after.valid_until == before.valid_until
    rows = queries.entries(
        db.session, regimes.get("LV-OHS"), queries.Filters(briefing_type="targeted"), "en"
    )
    assert len(rows) == 1
    assert rows[0].values["briefing_type"] == "Workplace briefing, targeted"
    assert "Welding in tank 3" in rows[0].values["reason"]
    assert "Permit 17/2026" in rows[0].values["reason"]

    repeated = _schedule(ohs, instructor, sessions.BriefingEvent("repeated"), days_ahead=2)
    _hold(repeated, instructor, worker)
    assert _status(worker, ohs).valid_until > org_clock.local_today()  # the refresher counts


def test_a_repeated_fire_briefing_after_a_fire_is_the_event_triggered_one_in_lv_fire(world):
    _dept, _other, instructor, person, _ohs, fire = world
    worker = person("E-14")
    ts = _schedule(
        fire, instructor, sessions.BriefingEvent("repeated", "A fire in the store on 2 May", "fire")
    )
    _hold(ts, instructor, worker)
    (lv,) = queries.entries(db.session, regimes.get("LV-FIRE"), queries.Filters(), "lv")
    assert lv.type_key == "repeated"
    assert lv.values["briefing_type"] == "Atkārtota ugunsdrošības instruktāža"
    assert "A fire in the store on 2 May" in lv.values["reason"]
    (ru,) = queries.entries(db.session, regimes.get("RU-FIRE"), queries.Filters(), "ru")
    assert ru.values["briefing_type"] == "Повторный противопожарный инструктаж"
    # the program's own type (no event type): LV-FIRE's yearly fire briefing, as before
    plain = _schedule(fire, instructor, days_ahead=2)
    _hold(plain, instructor, worker)
    keys = [
        e.type_key
        for e in queries.entries(db.session, regimes.get("LV-FIRE"), queries.Filters(), "lv")
    ]
    assert keys == ["repeated", "fire_briefing"]


def test_a_type_the_regime_does_not_have_is_refused(world):
    _dept, _other, instructor, _person, _ohs, fire = world
    from lms.core.errors import DomainError

    with pytest.raises(DomainError, match="do not have this type"):
        _schedule(fire, instructor, sessions.BriefingEvent("thematic"))
    with pytest.raises(DomainError, match="what made this briefing necessary"):
        _schedule(fire, instructor, sessions.BriefingEvent("repeated", "A fire on 2 May"))
    db.session.rollback()
    assert db.session.query(TrainingSession).count() == 0


def test_sessions_without_a_type_keep_the_programs_meaning(world):
    _dept, _other, instructor, person, ohs, _fire = world
    worker = person("E-3")
    ts = _schedule(ohs, instructor)
    assert ts.briefing_type is None
    _hold(ts, instructor, worker)
    (entry,) = queries.entries(db.session, regimes.get("LV-OHS"), queries.Filters(), "en")
    assert entry.type_key == ohs.current_version.briefing_type == "repeated"
    assert _status(worker, ohs).basis == "valid"


# ----- 2. triggers -----------------------------------------------------------------------------


def _trained(person, program, days_ago: int = 30):
    from lms.completions import services as completion_services

    completion_services.record_completion(
        db.session,
        user_id=person.id,
        version=program.current_version,
        completed_on=org_clock.local_today() - timedelta(days=days_ago),
        earned_by="record",
        actor_id=None,
        issue=False,
    )
    db.session.commit()


def test_a_transfer_on_the_person_form_is_kept_and_makes_a_briefing_due(client, login_as, world):
    dept, other, _instructor, person, ohs, fire = world
    mover, stayer = person("E-4"), person("E-5")
    for p in (mover, stayer):
        _trained(p, ohs)
        _trained(p, fire)
    login_as("admin")
    resp = client.post(
        f"/admin/users/{mover.id}",
        data={
            "name": mover.name,
            "email": mover.email,
            "job_title": "Storekeeper",
            "department_id": other.id,
            "roles": ["employee"],
        },
    )
    assert resp.status_code == 302, text_of(resp)[:300]
    (move,) = db.session.query(Transfer).filter_by(user_id=mover.id).all()
    assert (move.from_department_id, move.to_department_id) == (dept.id, other.id)
    assert (move.from_job_title, move.to_job_title) == ("Welder", "Storekeeper")
    row = _status(mover, ohs)
    assert row.basis == "pending" and row.due_on == org_clock.local_today()
    assert "Transferred" in text_of(client.get("/registers/due"))
    assert "Storekeeper" in text_of(client.get("/registers/due"))
    assert _status(mover, fire).basis == "valid"  # LV-FIRE names no transfer trigger
    assert _status(stayer, ohs).basis == "valid"


def test_an_hr_import_transfer_makes_a_briefing_due(world):
    _dept, other, _instructor, person, ohs, _fire = world
    mover = person("E-6")
    _trained(mover, ohs)
    hr_sync.sync_person(
        db.session,
        "E-6",
        name=mover.name,
        email=mover.email,
        job_title="Welder",
        department_id=mover.department_id,
    )
    from lms.accounts import hr

    rows = [
        "employee_number,name,email,job_title,department",
        f"E-6,{mover.name},{mover.email},Welder,{other.code}",
    ]
    report = hr.apply_import(db.session, "\n".join(rows).encode(), "people.csv", actor_id=None)
    db.session.commit()
    assert report.moved, report
    assert db.session.query(Transfer).filter_by(user_id=mover.id, source="hr").count() == 1
    row = _status(mover, ohs)
    assert row.basis == "pending"
    ub = db.session.query(UnscheduledBriefing).filter_by(user_id=mover.id).one()
    assert ub.trigger == "transfer"


def test_a_transfer_through_the_hr_api_sync_makes_a_briefing_due(world):
    _dept, other, _instructor, person, ohs, _fire = world
    mover = person("E-16")
    _trained(mover, ohs)
    hr_sync.sync_person(
        db.session,
        "E-16",
        name=mover.name,
        email=mover.email,
        job_title="Welder",
        department_id=other.id,
    )
    db.session.commit()
    assert db.session.query(Transfer).filter_by(user_id=mover.id, source="api").count() == 1
    assert _status(mover, ohs).basis == "pending"


def test_an_incident_makes_a_briefing_due_for_its_unit_only(
    client, login_as, world, make_department
):
    dept, other, _instructor, person, ohs, fire = world
    inside, outside, new = person("E-7"), person("E-8", other), person("E-9")
    for p in (inside, outside):
        _trained(p, ohs)
        _trained(p, fire)
    login_as("admin")
    page = client.get("/registers/incidents")
    assert page.status_code == 200
    day = org_clock.local_today().isoformat()
    resp = client.post(
        "/registers/incidents",
        data={"occurred_on": day, "department_id": dept.id, "kind": "fire", "note": "Bin fire"},
    )
    assert resp.status_code == 303
    assert "1 person is now due" in text_of(client.get("/registers/incidents"))
    assert _status(inside, fire).basis == "pending"
    assert _status(inside, ohs).basis == "valid"  # a fire is LV-FIRE's trigger, not LV-OHS's
    assert _status(outside, fire).basis == "valid"
    assert _status(new, fire).basis == "never_trained"  # needs a first briefing, not this one
    assert "Fire on" in text_of(client.get("/registers/due"))

    # a unit where nobody holds such a program: said so, the incident kept
    empty = make_department("Yard", "YD")
    resp = client.post(
        "/registers/incidents",
        data={"occurred_on": day, "department_id": empty.id, "kind": "rule_breach"},
        follow_redirects=True,
    )
    assert "matches nobody" in text_of(resp)
    assert db.session.query(Incident).filter_by(people_due=0).count() == 1

    # bad input: a date in the future, no unit
    future = (org_clock.local_today() + timedelta(days=3)).isoformat()
    resp = client.post(
        "/registers/incidents",
        data={"occurred_on": future, "department_id": dept.id, "kind": "fire"},
    )
    assert resp.status_code in (400, 422) and "cannot be in the future" in text_of(resp)
    resp = client.post(
        "/registers/incidents", data={"occurred_on": day, "department_id": 0, "kind": "fire"}
    )
    assert resp.status_code in (400, 422) and "Choose the unit" in text_of(resp)
    assert db.session.query(Incident).count() == 2


def test_new_rules_in_force_need_a_regime_that_names_them(
    app, client, login_as, world, monkeypatch
):
    _dept, _other, _instructor, person, _ohs, fire = world
    worker = person("E-10")
    login_as("admin")
    day = org_clock.local_today().isoformat()
    data = {"regime": "LV-FIRE", "program_id": 0, "in_force_on": day, "note": "MK 238 amended"}
    resp = client.post("/registers/new-rules", data=data)
    assert resp.status_code in (400, 422)
    assert "does not make new rules a trigger" in text_of(resp)

    monkeypatch.setitem(app.config, "LMS_REGIMES", ("RU-OHS", "RU-FIRE"))
    data["regime"] = "RU-FIRE"
    resp = client.post("/registers/new-rules", data=data)
    assert resp.status_code == 409 and "concern nobody" in text_of(resp)
    assert db.session.query(UnscheduledBriefing).count() == 0

    _trained(worker, fire)
    resp = client.post("/registers/new-rules", data=data)
    assert resp.status_code == 303
    row = _status(worker, fire)
    assert row.basis == "pending"
    assert "MK 238 amended" in text_of(client.get("/registers/due"))


# ----- 3. not admitted after a failed knowledge check -------------------------------------------


def test_a_failed_knowledge_check_means_not_admitted_until_passed(
    client, login_as, make_program, require, world
):
    _dept, _other, _instructor, person, _ohs, _fire = world
    quiz = make_program(category="workplace", briefing_type="repeated", code="OHS-Q")
    require(quiz)
    worker = person("E-11", name="Anna Ozola")
    _trained(worker, quiz, days_ago=350)  # the refresher window is open
    attempt = attempts.start_attempt(db.session, worker, quiz)
    attempts.submit_attempt(db.session, attempt, worker, answers_for(attempt, right=False))
    db.session.commit()
    row = _status(worker, quiz)
    assert row.basis == "pending" and row.due_on == org_clock.local_today()
    # the register's knowledge-check column says so (no completion, no instructor)
    (failed,) = [
        e
        for e in queries.entries(db.session, regimes.get("LV-OHS"), queries.Filters(), "en")
        if e.completion_id is None
    ]
    assert failed.values["person"] == "Anna Ozola"
    assert failed.values["knowledge_check"].endswith("failed: not admitted")
    assert "Not admitted" in failed.values["reason"]
    from lms.accounts.services import hash_secret

    worker.password_hash = hash_secret(PASSWORD)
    worker.auth_source = "local"
    db.session.commit()
    auth = Auth(client)
    auth.login(worker)  # the person sees it on My training
    assert "Not admitted: the knowledge check failed" in text_of(client.get("/learning/"))
    auth.logout()
    login_as("manager")
    page = text_of(client.get("/registers/due"))
    assert "Anna Ozola" in page and "Not admitted" in page

    attempt = attempts.start_attempt(db.session, worker, quiz)
    attempts.submit_attempt(db.session, attempt, worker, answers_for(attempt))
    db.session.commit()
    assert _status(worker, quiz).basis == "valid"
    assert "Anna Ozola" not in text_of(client.get("/registers/due"))

    # a new hire who fails the check of their first briefing: not admitted either
    new = person("E-13", name="Jānis Jauns")
    attempt = attempts.start_attempt(db.session, new, quiz)
    attempts.submit_attempt(db.session, attempt, new, answers_for(attempt, right=False))
    db.session.commit()
    assert _status(new, quiz).basis == "never_trained"
    page = text_of(client.get("/registers/due"))
    assert "Jānis Jauns" in page and "Not admitted" in page


# ----- 4. absences on a form, the regimes on a page ---------------------------------------------


def test_the_absence_form_records_a_return_and_refuses_a_wrong_period(client, login_as, world):
    _dept, _other, _instructor, person, ohs, _fire = world
    worker = person("E-12")
    _trained(worker, ohs, days_ago=100)
    login_as("manager", department=worker.department)
    today = org_clock.local_today()
    resp = client.post(
        "/registers/absences",
        data={
            "user_id": worker.id,
            "starts_on": today.isoformat(),
            "ends_on": (today - timedelta(days=2)).isoformat(),
            "kind": "leave",
        },
    )
    assert resp.status_code in (400, 422) and "cannot end before it starts" in text_of(resp)
    ends = today - timedelta(days=1)
    resp = client.post(
        "/registers/absences",
        data={
            "user_id": worker.id,
            "starts_on": (ends - timedelta(days=69)).isoformat(),
            "ends_on": ends.isoformat(),
            "kind": "sick",
        },
    )
    assert resp.status_code == 303
    assert _status(worker, ohs).basis == "pending"
    assert "absence of 70 calendar days" in text_of(client.get("/registers/due"))


def test_an_admin_chooses_the_organisations_regimes(client, login_as):
    login_as("admin")
    assert client.get("/registers/regimes").status_code == 200
    resp = client.post("/registers/regimes", data={"codes": ["RU-FIRE", "NOPE"]})
    assert resp.status_code in (400, 422)
    assert client.get("/registers/RU-FIRE").status_code == 404  # not chosen yet
    resp = client.post("/registers/regimes", data={"codes": ["RU-OHS", "RU-FIRE"]})
    assert resp.status_code == 303
    assert [r.code for r in regimes.chosen({})] == ["RU-OHS", "RU-FIRE"]
    assert client.get("/registers/RU-FIRE").status_code == 200
    assert client.get("/registers/LV-OHS").status_code == 404
    resp = client.post("/registers/regimes", data={})
    assert resp.status_code in (400, 422)
    assert [r.code for r in regimes.chosen({})] == ["RU-OHS", "RU-FIRE"]


def test_the_new_pages_are_for_their_roles_only(client, login_as):
    login_as("employee")
    for url in ("/registers/incidents", "/registers/absences", "/registers/new-rules"):
        assert client.get(url).status_code == 403
    login_as("manager")
    assert client.get("/registers/regimes").status_code == 403
    assert client.get("/registers/new-rules").status_code == 403


def test_a_check_failed_at_the_briefing_means_not_admitted_until_repeated(client, login_as, world):
    _dept, _other, instructor, person, ohs, _fire = world
    worker = person("E-15", name="Olga Ivanova")
    _trained(worker, ohs, days_ago=300)
    ts = _schedule(ohs, instructor)
    sessions.invite(db.session, ts, [worker], instructor)
    with time_machine.travel(ts.starts_at + timedelta(minutes=30), tick=False):
        sessions.mark_attendance(db.session, ts, {worker.id: "failed"}, instructor)
        sessions.sign_conducted(db.session, ts, instructor, PASSWORD)
    db.session.commit()
    held_on = org_clock.local_date(ts.starts_at)
    row = _status(worker, ohs)
    assert row.basis == "pending" and row.due_on == held_on
    assert "at the briefing" in text_of_reason(row.reason)
    (failed,) = [
        e
        for e in queries.entries(db.session, regimes.get("LV-OHS"), queries.Filters(), "en")
        if e.completion_id is None
    ]
    assert failed.values["knowledge_check"] == "Failed at the briefing: not admitted"
    assert failed.values["instructor"] == "Ilze Instructor"
    assert failed.values["instructor_signature"].startswith("Ilze Instructor")
    login_as("manager")
    page = text_of(client.get("/registers/due"))
    assert "Olga Ivanova" in page and "Not admitted" in page

    again = _schedule(ohs, instructor, days_ahead=2)
    _hold(again, instructor, worker)
    assert _status(worker, ohs).basis == "valid"


def text_of_reason(stored: str) -> str:
    from lms.core import texts

    return texts.render(stored)


def test_the_type_can_change_on_the_edit_page_until_attendance_is_taken(client, auth, world):
    _dept, _other, instructor, person, ohs, _fire = world
    worker = person("E-17")
    ts = _schedule(ohs, instructor)
    auth.login(instructor)
    page = client.get(f"/sessions/{ts.id}/edit")
    assert page.status_code == 200 and 'value="targeted"' in page.get_data(as_text=True)
    start = org_clock.to_local(ts.starts_at).replace(tzinfo=None)
    data = {
        "instructor_id": instructor.id,
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "place": "Room 1",
        "capacity": "10",
        "open_signup": "y",
        "briefing_type": "targeted",
        "briefing_trigger": "task",
        "briefing_reason": "Work in a confined space",
        "permit": "Permit 9",
    }
    resp = client.post(f"/sessions/{ts.id}/edit", data=data)
    assert resp.status_code == 302, text_of(resp)[:300]
    db.session.expire_all()
    assert (ts.briefing_type, ts.permit) == ("targeted", "Permit 9")

    sessions.invite(db.session, ts, [worker], instructor)
    with time_machine.travel(ts.starts_at + timedelta(minutes=10), tick=False):
        sessions.mark_attendance(db.session, ts, {worker.id: "present"}, instructor)
        db.session.commit()
    resp = client.post(f"/sessions/{ts.id}/edit", data={**data, "briefing_type": "repeated"})
    assert resp.status_code in (400, 422)
    assert "type of briefing can no longer change" in text_of(resp)
    db.session.expire_all()
    assert ts.briefing_type == "targeted"


def test_a_manager_records_for_their_own_units_only(client, login_as, world):
    dept, other, _instructor, person, _ohs, _fire = world
    outsider = person("E-18", other)
    login_as("manager", department=dept)
    page = client.get("/registers/incidents").get_data(as_text=True)
    assert f'value="{dept.id}"' in page and f'value="{other.id}"' not in page
    day = org_clock.local_today().isoformat()
    resp = client.post(
        "/registers/incidents",
        data={"occurred_on": day, "department_id": other.id, "kind": "fire"},
    )
    assert resp.status_code in (400, 403)
    assert db.session.query(Incident).count() == 0
    resp = client.post(
        "/registers/absences",
        data={"user_id": outsider.id, "starts_on": day, "ends_on": day, "kind": "leave"},
    )
    assert resp.status_code in (400, 403)
    from lms.accounts.people import Absence

    assert db.session.query(Absence).count() == 0
