"""The rules of exam sessions, through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lms.completions.models import Completion
from lms.core import ledger, texts
from lms.core.errors import Conflict, DomainError, NotAllowed
from lms.core.model import utcnow
from lms.exams import access_journal, protocol, services
from lms.exams.models import AccessEntry, ChecklistTick, ProtocolSignature
from lms.extensions import db
from tests.conftest import PASSWORD
from tests.exams.conftest import tick_post, tick_pre


def _run_to_closed(setup, time_travel=None):
    tick_pre(setup)
    services.open_exam(db.session, setup.exam, setup.chair)
    services.close_exam(db.session, setup.exam, setup.chair)
    db.session.commit()


def test_ticking_an_item_of_another_exam_point_is_refused(exam_setup):
    setup = exam_setup()
    other = services.create_point(
        db.session, name="Point B", room="202", workstations=3, actor_id=None
    )
    foreign = services.active_items(other, "pre")[0]
    with pytest.raises(DomainError, match="another exam point"):
        services.tick(db.session, setup.exam, foreign.id, setup.technician)
    db.session.rollback()
    assert db.session.query(ChecklistTick).count() == 0


def test_only_an_appointed_technician_ticks_and_only_once(exam_setup):
    setup = exam_setup()
    item = services.active_items(setup.exam.point, "pre")[0]
    with pytest.raises(NotAllowed):
        services.tick(db.session, setup.exam, item.id, setup.chair)
    t = services.tick(db.session, setup.exam, item.id, setup.technician)
    assert t.printed_name == "Tech Person" and t.ticked_at <= utcnow()
    with pytest.raises(Conflict, match="already ticked"):
        services.tick(db.session, setup.exam, item.id, setup.technician)


def test_software_checked_in_time_opens_without_override(exam_setup):
    setup = exam_setup()  # starts in 3 hours: a check now is 3 hours early
    tick_pre(setup)
    assert services.software_check(db.session, setup.exam).state == "ok"
    services.open_exam(db.session, setup.exam, setup.chair)
    assert setup.exam.state == "open" and setup.exam.override_reason == ""


def test_late_software_check_needs_the_chairs_override(exam_setup):
    setup = exam_setup(starts_at=(utcnow() + timedelta(hours=1)).replace(microsecond=0))
    tick_pre(setup)
    check = services.software_check(db.session, setup.exam)
    assert check.state == "late" and check.warning
    with pytest.raises(NotAllowed):
        services.open_exam(db.session, setup.exam, setup.member, "reason")
    with pytest.raises(DomainError, match="Give the reason") as err:
        services.open_exam(db.session, setup.exam, setup.chair)
    assert err.value.field == "override_reason"
    assert setup.exam.state == "planned"
    services.open_exam(db.session, setup.exam, setup.chair, "Software server restarted at 9:00")
    assert setup.exam.override_reason == "Software server restarted at 9:00"


def test_configured_lead_time_is_used(app, exam_setup):
    cfg = app.config["LMS_CONFIG"]
    old = cfg.exam_software_check_hours
    cfg.exam_software_check_hours = 4
    try:
        setup = exam_setup()  # 3 hours ahead: too late for a 4-hour lead
    finally:
        cfg.exam_software_check_hours = old
    assert setup.exam.software_lead_hours == 4
    tick_pre(setup)
    assert services.software_check(db.session, setup.exam).state == "late"


def test_missing_pre_items_block_opening(exam_setup):
    setup = exam_setup()
    with pytest.raises(DomainError, match="Not ticked yet"):
        services.open_exam(db.session, setup.exam, setup.chair, "anything")


def test_access_journal_is_appended_and_corrected_by_new_lines(exam_setup):
    setup = exam_setup()
    now = utcnow().replace(microsecond=0)
    line = access_journal.record_access(
        db.session,
        setup.exam,
        setup.technician,
        person=setup.technician,
        role="technician",
        area="room",
        time_in=now - timedelta(minutes=30),
        reason="Software check",
    )
    with pytest.raises(DomainError, match="exit cannot be before the entry") as err:
        access_journal.record_exit(
            db.session, setup.exam, line.id, setup.technician, now - timedelta(minutes=40)
        )
    assert err.value.field == "time_out"
    out = access_journal.record_exit(db.session, setup.exam, line.id, setup.technician, now)
    assert out.supersedes_id == line.id and out.time_out == now
    assert line.time_out is None  # the first line is untouched
    fixed = access_journal.correct_access(
        db.session,
        setup.exam,
        out.id,
        setup.chair,
        time_in=now - timedelta(minutes=35),
        time_out=now,
        reason="Software check",
        correction="Entered five minutes earlier",
    )
    current = access_journal.current_access(db.session, setup.exam.id)
    assert [e.id for e in current] == [fixed.id]
    assert len(access_journal.access_history(db.session, setup.exam.id)) == 3
    with pytest.raises(Conflict):
        access_journal.record_exit(db.session, setup.exam, line.id, setup.technician, now)
    kinds = [e.kind for e in db.session.query(ledger.LedgerEntry).all()]
    assert kinds.count(services.ACCESS_KIND) == 3
    assert ledger.verify(db.session).ok


def test_an_entry_with_exit_before_entry_is_refused(exam_setup):
    setup = exam_setup()
    now = utcnow()
    with pytest.raises(DomainError, match="exit cannot be before"):
        access_journal.record_access(
            db.session,
            setup.exam,
            setup.technician,
            person=None,
            person_name="Visitor Vera",
            role="visitor",
            area="room",
            time_in=now - timedelta(minutes=5),
            time_out=now - timedelta(minutes=10),
            reason="Delivered water",
        )
    db.session.rollback()
    assert db.session.query(AccessEntry).count() == 0


def test_a_candidate_is_refused_the_journal_but_signs_in_herself(exam_setup):
    setup = exam_setup()
    with pytest.raises(NotAllowed):
        access_journal.record_access(
            db.session,
            setup.exam,
            setup.anna,
            person=setup.anna,
            role="candidate",
            area="room",
            time_in=utcnow(),
            reason="x",
        )
    with pytest.raises(Conflict, match="not open"):
        access_journal.candidate_sign_in(db.session, setup.exam, setup.anna)
    tick_pre(setup)
    services.open_exam(db.session, setup.exam, setup.chair)
    line = access_journal.candidate_sign_in(db.session, setup.exam, setup.anna)
    assert line.self_sign_in and line.role == "candidate" and line.recorded_by_id == setup.anna.id
    with pytest.raises(Conflict, match="already signed in"):
        access_journal.candidate_sign_in(db.session, setup.exam, setup.anna)
    with pytest.raises(NotAllowed):
        access_journal.candidate_sign_in(db.session, setup.exam, setup.chair)
    out = access_journal.candidate_sign_out(db.session, setup.exam, setup.anna)
    assert out.time_out is not None and out.supersedes_id == line.id


def test_protocol_signed_by_the_commission_grants_completions(exam_setup):
    setup = exam_setup()
    _run_to_closed(setup)
    with pytest.raises(DomainError, match="Post-exam item not ticked"):
        protocol.sign_protocol(db.session, setup.exam, setup.chair, PASSWORD)
    tick_post(setup)
    protocol.record_results(
        db.session,
        setup.exam,
        setup.chair,
        {setup.anna.id: (85, True), setup.boris.id: (30, False)},
    )
    with pytest.raises(DomainError, match="password is wrong"):
        protocol.sign_protocol(db.session, setup.exam, setup.chair, "wrong")
    protocol.sign_protocol(db.session, setup.exam, setup.chair, PASSWORD)
    with pytest.raises(Conflict, match="already signed this protocol"):
        protocol.sign_protocol(db.session, setup.exam, setup.chair, PASSWORD)
    with pytest.raises(Conflict, match="can no longer change"):
        protocol.record_results(db.session, setup.exam, setup.member, {setup.anna.id: (90, True)})
    assert db.session.query(Completion).count() == 0  # the member has not signed yet
    protocol.sign_protocol(db.session, setup.exam, setup.member, PASSWORD)
    db.session.commit()
    assert db.session.query(ProtocolSignature).count() == 2
    completions = db.session.query(Completion).all()
    assert [(c.user_id, c.earned_by) for c in completions] == [(setup.anna.id, "exam")]
    assert completions[0].note == texts.stored("exams.completion_note", id=setup.exam.id)
    adm = protocol.admission(db.session, setup.program.id, [setup.anna.id, setup.boris.id])
    assert adm[setup.anna.id][0] == "admitted"
    assert adm[setup.boris.id][0] == "not_admitted"
    assert ledger.verify(db.session).ok


def test_a_failed_candidate_is_admitted_after_passing_a_repeat(exam_setup, make_user):
    first = exam_setup()
    _run_to_closed(first)
    tick_post(first)
    protocol.record_results(
        db.session,
        first.exam,
        first.chair,
        {first.anna.id: (90, True), first.boris.id: (10, False)},
    )
    protocol.sign_protocol(db.session, first.exam, first.chair, PASSWORD)
    protocol.sign_protocol(db.session, first.exam, first.member, PASSWORD)
    db.session.commit()
    assert protocol.admission(db.session, first.program.id, [first.boris.id])[first.boris.id][
        0
    ] == ("not_admitted")
    repeat = services.create_exam(
        db.session,
        point=first.exam.point,
        program=first.program,
        test_kind="paper",
        paper_title="Repeat paper",
        starts_at=first.exam.starts_at + timedelta(days=7),
        ends_at=first.exam.starts_at + timedelta(days=7, hours=1),
        actor_id=None,
    )
    services.appoint(db.session, repeat, first.chair, "chair", None)
    services.appoint(db.session, repeat, first.technician, "technician", None)
    services.add_candidate(db.session, repeat, first.boris, None)
    for item in services.active_items(repeat.point, "pre"):
        services.tick(db.session, repeat, item.id, first.technician)
    services.open_exam(db.session, repeat, first.chair)
    services.close_exam(db.session, repeat, first.chair)
    for item in services.active_items(repeat.point, "post"):
        services.tick(db.session, repeat, item.id, first.technician, "archive")
    protocol.record_results(db.session, repeat, first.chair, {first.boris.id: (70, True)})
    protocol.sign_protocol(db.session, repeat, first.chair, PASSWORD)
    db.session.commit()
    adm = protocol.admission(db.session, first.program.id, [first.boris.id])
    assert adm[first.boris.id] == ("admitted", repeat.id)


def test_appointments_keep_roles_apart(exam_setup):
    setup = exam_setup()
    with pytest.raises(Conflict, match="already has a chair"):
        services.appoint(db.session, setup.exam, setup.member, "chair", None)
    with pytest.raises(Conflict):
        services.appoint(db.session, setup.exam, setup.anna, "member", None)
    with pytest.raises(Conflict):
        services.add_candidate(db.session, setup.exam, setup.technician, None)


def test_the_software_check_hours_come_from_the_environment():
    from lms.config import Config

    assert Config.from_env({}).exam_software_check_hours == 2
    assert Config.from_env({"LMS_EXAM_SOFTWARE_CHECK_HOURS": "3"}).exam_software_check_hours == 3


def test_an_altered_journal_line_is_named_by_verification(exam_setup):
    import sqlalchemy as sa

    setup = exam_setup()
    line = access_journal.record_access(
        db.session,
        setup.exam,
        setup.technician,
        person=None,
        person_name="Visitor Vera",
        role="visitor",
        area="room",
        time_in=utcnow() - timedelta(minutes=3),
        reason="Delivered water",
    )
    db.session.commit()
    assert ledger.verify(db.session).ok
    db.session.execute(
        sa.update(AccessEntry).where(AccessEntry.id == line.id).values(reason="Nothing to see")
    )
    db.session.commit()
    report = ledger.verify(db.session)
    assert [(p.kind, p.object_id) for p in report.problems] == [
        (services.ACCESS_KIND, str(line.id))
    ]


def test_demo_exam_is_loaded_once(make_user, make_program):
    from lms.exams import demo
    from lms.exams.models import ExamSession

    make_program()
    keys = ("admin", "head", "instructor", "emp18", *demo.CANDIDATES)
    users = {k: make_user("employee", name=f"Demo {k}") for k in keys}
    lines: list[str] = []
    demo.load_demo(db.session, users, lines.append)
    demo.load_demo(db.session, users, lines.append)
    exam = db.session.query(ExamSession).one()
    assert len(lines) == 1
    assert services.chair_of(exam).name == "Demo head"
    assert len(exam.candidates) == 3
    assert services.software_check(db.session, exam).state == "pending"
