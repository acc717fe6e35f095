"""Attendance, acknowledgments and the conduct signature: append-only records in the ledger,
corrections that point at what they replace, and the completions a signed session gives."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from lms.accounts import services as accounts
from lms.completions.models import Completion
from lms.core import ledger
from lms.core.audit import AuditEntry
from lms.core.errors import Conflict, DomainError, NotAllowed
from lms.extensions import db
from lms.learning import services as learning
from lms.sessions import queries, services
from lms.sessions.models import Acknowledgment, AttendanceMark, SessionSignature
from tests.conftest import PASSWORD, text_of
from tests.learning.conftest import answers_for
from tests.sessions.conftest import enrol

pytestmark = pytest.mark.usefixtures("clock")

DURING = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # 11:00 in Riga, half an hour into the session


@pytest.fixture
def held(make_session, people, clock):
    """A session at 10:30 today with four people enrolled; the clock then moves to 11:00."""
    ts = make_session(start=datetime(2025, 3, 3, 10, 30), capacity=5)
    enrol(ts, *people[:4])
    clock.move_to(DURING)
    return ts


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _mark(ts, marks, actor=None, note=""):
    out = services.mark_attendance(
        db.session, ts, {p.id: s for p, s in marks.items()}, actor or ts.instructor, note=note
    )
    db.session.commit()
    return out


def _ack(ts, person, method="account", actor=None, secret=""):
    enrolment = queries.enrolment_of(db.session, ts.id, person.id)
    ack = services.acknowledge(
        db.session, enrolment, actor=actor or person, method=method, secret=secret
    )
    db.session.commit()
    return ack


def test_marks_are_appended_and_corrections_point_at_the_old_row(held, people):
    first = _mark(held, {people[0]: "present", people[1]: "late", people[2]: "absent"})
    assert [m.status for m in first] == ["present", "late", "absent"]
    assert _mark(held, {people[0]: "present"}) == []  # unchanged: nothing written
    (fix,) = _mark(held, {people[2]: "excused"})
    assert fix.supersedes_id == first[2].id
    current = queries.current_marks(db.session, held.id)
    assert {m.user_id: m.status for m in current.values()} == {
        people[0].id: "present",
        people[1].id: "late",
        people[2].id: "excused",
    }
    db.session.refresh(first[2])
    assert first[2].status == "absent"  # the old row is untouched
    kinds = db.session.execute(sa.select(ledger.LedgerEntry.kind)).scalars().all()
    assert kinds.count("attendance") == 4
    assert ledger.verify(db.session).ok
    audit = db.session.execute(
        sa.select(AuditEntry.action).where(AuditEntry.object_type == "session_attendance")
    ).scalars()
    assert sorted(audit) == ["correct", "mark", "mark", "mark"]


def test_marking_someone_not_enrolled_changes_nothing(held, people, make_session):
    with pytest.raises(DomainError, match="Storekeeper 1 is not enrolled.*walk-in"):
        services.mark_attendance(
            db.session,
            held,
            {people[0].id: "present", people[5].id: "present"},
            held.instructor,
        )
    db.session.rollback()
    assert _count(AttendanceMark) == 0
    with pytest.raises(DomainError, match="Unknown attendance mark"):
        services.mark_attendance(db.session, held, {people[0].id: "asleep"}, held.instructor)
    with pytest.raises(NotAllowed):
        services.mark_attendance(db.session, held, {people[0].id: "present"}, people[1])
    later = make_session(start=datetime(2025, 3, 5, 10))
    with pytest.raises(DomainError, match="opens when the session starts"):
        services.mark_attendance(db.session, later, {people[0].id: "present"}, held.instructor)
    # the same day, but not started yet: no marks and no walk-ins either
    this_afternoon = make_session(start=datetime(2025, 3, 3, 15, 0))
    enrol(this_afternoon, people[0])
    with pytest.raises(DomainError, match="opens when the session starts"):
        services.mark_attendance(
            db.session, this_afternoon, {people[0].id: "present"}, this_afternoon.instructor
        )
    db.session.rollback()
    with pytest.raises(DomainError, match="opens when the session starts"):
        services.add_walk_in(db.session, this_afternoon, people[1].id, this_afternoon.instructor)
    db.session.rollback()
    assert _count(AttendanceMark) == 0


def test_time_and_place_are_fixed_once_attendance_is_taken(held, people):
    _mark(held, {people[0]: "present"})
    values = dict(
        instructor_id=held.instructor_id,
        starts_local=datetime(2025, 3, 3, 10, 30),
        ends_local=datetime(2025, 3, 3, 11, 30),
        place="Room 1",
        capacity=5,
        notes="Helmets on.",
        open_signup=True,
        actor=held.instructor,
    )
    services.update_session(db.session, held, **values)  # notes may still change
    db.session.commit()
    with pytest.raises(DomainError, match="time and the place can no longer change"):
        services.update_session(db.session, held, **{**values, "place": "Room 9"})


def test_walk_ins(held, people, make_user):
    enrolment = services.add_walk_in(db.session, held, people[5].id, held.instructor)
    db.session.commit()
    assert enrolment.source == "walk_in" and enrolment.status == "enrolled"
    assert queries.current_marks(db.session, held.id)[enrolment.id].status == "present"
    with pytest.raises(Conflict, match="already enrolled"):
        services.add_walk_in(db.session, held, people[5].id, held.instructor)
    with pytest.raises(DomainError, match="full"):
        services.add_walk_in(db.session, held, people[6].id, held.instructor)  # 5 of 5


def test_acknowledgment_on_own_account_only(held, people):
    _mark(held, {people[0]: "present", people[1]: "absent"})
    mine = queries.enrolment_of(db.session, held.id, people[0].id)
    with pytest.raises(NotAllowed, match="your own"):
        services.acknowledge(db.session, mine, actor=people[2], method="account")
    db.session.rollback()
    assert _count(Acknowledgment) == 0
    ack = _ack(held, people[0])
    assert (ack.method, ack.printed_name, ack.witness_id) == ("account", "Worker 1", None)
    assert ack.content_hash == services.ack_content_hash(held, people[0].id)
    with pytest.raises(Conflict, match="already acknowledged"):
        _ack(held, people[0])
    with pytest.raises(DomainError, match="not marked as present"):
        _ack(held, people[1])
    entry = db.session.execute(
        sa.select(ledger.LedgerEntry).where(ledger.LedgerEntry.kind == "acknowledgment")
    ).scalar_one()
    assert entry.actor_id == people[0].id


def test_sign_in_sheet_with_password_or_pin(held, people):
    instructor = held.instructor
    with pytest.raises(DomainError, match="wrong") as caught:
        _ack(held, people[0], "password", instructor, "not-their-password")
    assert caught.value.field == "secret"
    db.session.commit()  # the route keeps the audit record of the failed attempt
    assert _count(Acknowledgment) == 0
    failed = db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.action == "acknowledge_failed")
    ).scalar_one()
    assert failed.actor_id == instructor.id and failed.details["user_id"] == people[0].id
    # the instructor's own password is no use for an attendee
    with pytest.raises(DomainError, match="wrong"):
        _ack(held, people[0], "password", instructor, PASSWORD + "x")
    db.session.rollback()
    ack = _ack(held, people[0], "password", instructor, PASSWORD)
    assert (ack.method, ack.witness_id, ack.user_id) == ("password", instructor.id, people[0].id)
    with pytest.raises(DomainError, match="no personal PIN"):
        _ack(held, people[1], "pin", instructor, "1234")
    db.session.rollback()
    accounts.set_pin(db.session, people[1], "4821")
    db.session.commit()
    with pytest.raises(DomainError, match="wrong"):
        _ack(held, people[1], "pin", instructor, "1111")
    db.session.rollback()
    assert _ack(held, people[1], "pin", instructor, "4821").method == "pin"
    # someone who may not run the session cannot take acknowledgments for others
    with pytest.raises(NotAllowed):
        _ack(held, people[2], "password", people[3], PASSWORD)


def test_guessing_a_pin_on_the_sheet_is_stopped(held, people, clock):
    accounts.set_pin(db.session, people[0], "4821")
    db.session.commit()
    for guess in ("0000", "1111", "2222", "3333", "4444"):
        with pytest.raises(DomainError, match="wrong"):
            _ack(held, people[0], "pin", held.instructor, guess)
        db.session.commit()  # as the route does: the failed attempt stays in the audit log
    with pytest.raises(services.TooManyAttempts, match="Too many wrong attempts"):
        _ack(held, people[0], "pin", held.instructor, "4821")
    db.session.rollback()
    clock.shift(timedelta(minutes=16))
    assert _ack(held, people[0], "pin", held.instructor, "4821").method == "pin"


def test_signing_gives_completions_to_those_present_who_acknowledged(held, people):
    instructor = held.instructor
    with pytest.raises(DomainError, match="Mark attendance for everyone first: 4 people"):
        services.sign_conducted(db.session, held, instructor, PASSWORD)
    _mark(
        held, {people[0]: "present", people[1]: "late", people[2]: "present", people[3]: "absent"}
    )
    _ack(held, people[0])
    _ack(held, people[1], "password", instructor, PASSWORD)
    with pytest.raises(DomainError, match="password is wrong"):
        services.sign_conducted(db.session, held, instructor, "nope")
    db.session.rollback()
    with pytest.raises(NotAllowed, match="instructor"):
        services.sign_conducted(db.session, held, people[0], PASSWORD)
    sig = services.sign_conducted(db.session, held, instructor, PASSWORD)
    db.session.commit()
    assert held.status == "held"
    assert (sig.printed_name, sig.meaning, sig.method) == ("Ivars Ozols", "conducted", "password")
    marks = queries.current_marks(db.session, held.id).values()
    acks = queries.current_acks(db.session, held.id).values()
    assert sig.content_hash == ledger.sha256(services.attendance_content(held, marks, acks))
    completions = (
        db.session.execute(sa.select(Completion).where(Completion.session_id == held.id))
        .scalars()
        .all()
    )
    assert sorted(c.user_id for c in completions) == sorted([people[0].id, people[1].id])
    assert {(c.earned_by, c.trainer_id, c.completed_on) for c in completions} == {
        ("session", instructor.id, date(2025, 3, 3))
    }
    with pytest.raises(Conflict, match="already signed"):
        services.sign_conducted(db.session, held, instructor, PASSWORD)
    # a late acknowledgment after the signature still earns the completion, once
    _ack(held, people[2])
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(Completion.session_id == held.id)) == 3
    )
    found = services.held_attendance(db.session, people[2].id, held.program_id)
    assert (found.session_id, found.trainer_id) == (held.id, instructor.id)
    assert services.held_attendance(db.session, people[3].id, held.program_id) is None
    assert ledger.verify(db.session).ok


def test_a_correction_after_signing_needs_a_reason_and_a_new_signature(held, people):
    instructor = held.instructor
    _mark(
        held, {people[0]: "present", people[1]: "present", people[2]: "absent", people[3]: "absent"}
    )
    _ack(held, people[0])
    _ack(held, people[1])
    first = services.sign_conducted(db.session, held, instructor, PASSWORD)
    db.session.commit()
    with pytest.raises(DomainError, match="Give the reason") as caught:
        _mark(held, {people[1]: "absent"})
    assert caught.value.field == "note"
    db.session.rollback()
    (fix,) = _mark(held, {people[1]: "absent"}, note="Left before the practical part")
    roster = queries.roster(db.session, held)
    state = services.signature_state(db.session, held, roster)
    assert state.corrected and not state.resigned
    second = services.sign_conducted(db.session, held, instructor, PASSWORD)
    db.session.commit()
    assert second.supersedes_id == first.id and fix.id in second.covers["marks"]
    state = services.signature_state(db.session, held, queries.roster(db.session, held))
    assert state.resigned and not state.corrected
    # the person corrected to absent loses the completion; nobody gets two
    rows = (
        db.session.execute(
            sa.select(Completion).where(Completion.session_id == held.id).order_by(Completion.id)
        )
        .scalars()
        .all()
    )
    assert [(c.user_id, c.revocation is not None) for c in rows] == [
        (people[0].id, False),
        (people[1].id, True),
    ]
    assert ledger.verify(db.session).ok
    assert _count(SessionSignature) == 2


def test_quiz_programs_need_a_passed_quiz(make_program, make_session, people, clock, client, auth):
    """Session and quiz, through the real code of both domains: exactly one completion each,
    granted by whichever of the two comes last."""
    program = make_program(approved=True, delivery_mode="instructor_led")
    assert program.current_version.questions
    ts = make_session(program=program, start=datetime(2025, 3, 3, 10, 30))
    enrol(ts, people[0], people[1])
    clock.move_to(DURING)
    # people[0] passes the quiz before the session is signed: no completion yet
    first = _pass_quiz(people[0], program)
    assert _count(Completion) == 0
    _mark(ts, {people[0]: "present", people[1]: "present"})
    _ack(ts, people[0])
    _ack(ts, people[1])
    services.sign_conducted(db.session, ts, ts.instructor, PASSWORD)
    db.session.commit()
    (only,) = db.session.execute(sa.select(Completion)).scalars().all()
    assert (only.user_id, only.attempt_id, only.session_id) == (people[0].id, first.id, ts.id)
    assert only.earned_by == "session" and only.trainer_id == ts.instructor_id
    # each attendee's page says what the attendance earned and what is missing
    auth.login(people[0])
    assert "This attendance earned your completion" in text_of(client.get(f"/sessions/{ts.id}"))
    auth.logout()
    auth.login(people[1])
    page = text_of(client.get(f"/sessions/{ts.id}"))
    assert "Your attendance counts. Still missing: the quiz." in page
    assert "Your attendance on" in text_of(client.get("/learning/"))
    auth.logout()
    # people[1] passes later: the attendance counts now, once
    found = services.held_attendance(db.session, people[1].id, program.id)
    assert (found.session_id, found.trainer_id) == (ts.id, ts.instructor_id)
    second = _pass_quiz(people[1], program)
    rows = db.session.execute(sa.select(Completion).order_by(Completion.id)).scalars().all()
    assert [(c.user_id, c.attempt_id, c.session_id) for c in rows] == [
        (people[0].id, first.id, ts.id),
        (people[1].id, second.id, ts.id),
    ]
    # signing again (a correction elsewhere) or passing again grants nothing more
    assert learning.complete_on_pass(db.session, second, date(2025, 3, 3)) is None
    assert _count(Completion) == 2


def _pass_quiz(person, program):
    attempt = learning.start_attempt(db.session, person, program)
    outcome = learning.submit_attempt(db.session, attempt, person, answers_for(attempt))
    db.session.commit()
    assert outcome.attempt.passed
    return outcome.attempt


def test_tampering_with_attendance_or_the_signature_is_detected(held, people):
    _mark(held, {p: "present" for p in people[:4]})
    for p in people[:4]:
        _ack(held, p)
    sig = services.sign_conducted(db.session, held, held.instructor, PASSWORD)
    db.session.commit()
    assert ledger.verify(db.session).ok
    mark_id = sig.covers["marks"][0]
    db.session.execute(
        sa.update(AttendanceMark).where(AttendanceMark.id == mark_id).values(status="absent")
    )
    db.session.execute(
        sa.update(SessionSignature).values(signed_at=datetime(2025, 3, 4, tzinfo=UTC))
    )
    db.session.commit()
    problems = {(p.kind, p.reason) for p in ledger.verify(db.session).problems}
    assert problems == {
        ("attendance", "the signed record was changed after signing"),
        ("session_signature", "the signed record was changed after signing"),
    }


def test_taking_attendance_through_the_pages(client, auth, held, people):
    instructor = held.instructor
    auth.login(instructor)
    page = text_of(client.get(f"/sessions/{held.id}"))
    assert "Attendance and acknowledgments" in page and "Worker 4" in page
    resp = client.post(
        f"/sessions/{held.id}/attendance",
        data={f"mark-{people[0].id}": "present", f"mark-{people[5].id}": "present"},
    )
    assert resp.status_code == 400
    assert "Storekeeper 1 is not enrolled in this session. Add them as a walk-in first." in text_of(
        resp
    )
    assert _count(AttendanceMark) == 0
    resp = client.post(
        f"/sessions/{held.id}/attendance",
        data={f"mark-{people[0].id}": "present", f"mark-{people[1].id}": "late"},
    )
    assert resp.status_code == 302
    resp = client.post(
        f"/sessions/{held.id}/attendance",
        data={"everyone": "present", f"mark-{people[2].id}": "late"},
    )
    assert resp.status_code == 302
    resp = client.post(
        f"/sessions/{held.id}/walk-in",
        data={"walkin-user_id": people[5].id, "walkin-status": "late"},
    )
    assert resp.status_code == 302
    marks = queries.current_marks(db.session, held.id)
    assert sorted(m.status for m in marks.values()) == [
        "late",
        "late",
        "late",
        "present",
        "present",
    ]
    assert (
        client.post(f"/sessions/{held.id}/attendance", data={"mark-x": "present"}).status_code
        == 400
    )
    # sign-in sheet: the attendee types their own password on the instructor's device
    enrolment = queries.enrolment_of(db.session, held.id, people[0].id)
    sheet = text_of(client.get(f"/sessions/{held.id}/sheet"))
    assert "Worker 1" in sheet and "Waiting" in sheet
    resp = client.post(
        f"/sessions/{held.id}/sheet/{enrolment.id}", data={"method": "password", "secret": "bad"}
    )
    assert resp.status_code == 400 and "Nothing was recorded" in text_of(resp)
    resp = client.post(
        f"/sessions/{held.id}/sheet/{enrolment.id}", data={"method": "password", "secret": PASSWORD}
    )
    assert resp.status_code == 302
    # the device is still signed in as the instructor
    assert instructor.name in text_of(client.get("/account"))
    resp = client.post(f"/sessions/{held.id}/sign", data={"password": "bad"})
    assert resp.status_code == 400 and "password is wrong" in text_of(resp)
    # both refused attempts stay in the audit log although their requests rolled back
    db.session.rollback()  # read what the requests committed
    kept = db.session.execute(
        sa.select(AuditEntry.action, AuditEntry.object_type).where(
            AuditEntry.action.in_(("acknowledge_failed", "sign_failed"))
        )
    ).all()
    assert sorted(kept) == [
        ("acknowledge_failed", "session_enrolment"),
        ("sign_failed", "training_session"),
    ]
    resp = client.post(f"/sessions/{held.id}/sign", data={"password": PASSWORD})
    assert resp.status_code == 302
    page = text_of(client.get(f"/sessions/{held.id}"))
    assert "Conducted: I conducted this briefing" in page and "Correct the attendance" in page
    resp = client.post(f"/sessions/{held.id}/attendance", data={f"mark-{people[1].id}": "absent"})
    assert resp.status_code == 400 and "Give the reason" in text_of(resp)
    resp = client.post(
        f"/sessions/{held.id}/attendance",
        data={f"mark-{people[1].id}": "absent", "note": "Was not there"},
    )
    assert resp.status_code == 302
    page = text_of(client.get(f"/sessions/{held.id}"))
    assert "corrected after the session was signed" in page and "Was not there" in page
    client.post(f"/sessions/{held.id}/sign", data={"password": PASSWORD})
    assert "re-signed after a correction" in text_of(client.get(f"/sessions/{held.id}"))


def test_attendees_acknowledge_on_their_own_account(client, auth, held, people):
    _mark(held, {people[0]: "present", people[1]: "present"})
    auth.login(people[0])
    text = text_of(client.get("/sessions/mine"))
    assert "Please acknowledge" in text
    other = queries.enrolment_of(db.session, held.id, people[1].id)
    resp = client.post(f"/sessions/enrolments/{other.id}/acknowledge")
    assert resp.status_code == 403 and "only act for yourself" in text_of(resp)
    assert _count(Acknowledgment) == 0
    mine = queries.enrolment_of(db.session, held.id, people[0].id)
    assert client.post(f"/sessions/enrolments/{mine.id}/acknowledge").status_code == 302
    resp = client.post(f"/sessions/enrolments/{mine.id}/acknowledge")
    assert resp.status_code == 409 and "already acknowledged" in text_of(resp)
    assert "You acknowledged this briefing" in text_of(client.get(f"/sessions/{held.id}"))
    # an employee cannot open the instructor's tools
    assert client.get(f"/sessions/{held.id}/sheet").status_code == 403
    assert client.post(f"/sessions/{held.id}/sheet/{other.id}").status_code == 403


def test_no_acknowledgment_before_the_session_starts(make_session, people):
    ts = make_session(start=datetime(2025, 3, 3, 10, 30))  # NOW is 10:00
    enrol(ts, people[0])
    with pytest.raises(DomainError, match="once the session has started"):
        _ack(ts, people[0])


def test_the_attendance_sheet_needs_the_form_token(client, auth, held, people, csrf_on):
    import re

    auth_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', auth_page).group(1)
    client.post(
        "/login", data={"email": held.instructor.email, "password": PASSWORD, "csrf_token": token}
    )
    page = client.get(f"/sessions/{held.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    mark = {f"mark-{people[0].id}": "present"}
    assert client.post(f"/sessions/{held.id}/attendance", data=mark).status_code == 400
    assert _count(AttendanceMark) == 0
    resp = client.post(f"/sessions/{held.id}/attendance", data={**mark, "csrf_token": token})
    assert resp.status_code == 302 and _count(AttendanceMark) == 1


def test_a_waitlisted_person_sees_their_place_and_can_leave(make_session, people, client, auth):
    ts = make_session(capacity=1)
    enrol(ts, people[0], people[1], people[2])
    auth.login(people[2])
    assert "You are number 2 on the waitlist" in text_of(client.get(f"/sessions/{ts.id}"))
    enrolment = queries.enrolment_of(db.session, ts.id, people[2].id)
    resp = client.post(f"/sessions/enrolments/{enrolment.id}/leave")
    assert resp.status_code == 302
    db.session.expire_all()
    assert queries.enrolment_of(db.session, ts.id, people[2].id).status == "cancelled"
    auth.logout()
    auth.login(people[1])
    assert "You are number 1 on the waitlist" in text_of(client.get(f"/sessions/{ts.id}"))
