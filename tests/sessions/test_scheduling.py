"""Scheduling: approved versions only, local time stored as UTC, repeating series, changes and
cancellation (with messages to the people enrolled)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from lms.core.audit import AuditEntry
from lms.core.errors import Conflict, DomainError, NotAllowed
from lms.core.outbox import OutboxMessage
from lms.extensions import db
from lms.sessions import services
from lms.sessions.models import Enrolment, TrainingSession
from tests.conftest import text_of
from tests.sessions.conftest import enrol, schedule_session

pytestmark = pytest.mark.usefixtures("clock")


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_schedule_stores_utc_and_uses_the_current_approved_version(make_session, instructor):
    ts = make_session(start=datetime(2025, 3, 10, 10, 0), minutes=90)
    assert ts.starts_at == datetime(2025, 3, 10, 8, 0, tzinfo=UTC)  # Riga is UTC+2 in March
    assert ts.ends_at == datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
    assert ts.version_id == ts.program.current_version_id
    assert ts.status == "scheduled" and ts.instructor_id == instructor.id
    entry = db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.object_type == "training_session")
    ).scalar_one()
    assert entry.action == "create" and entry.actor_id == instructor.id


def test_only_an_approved_program_can_be_scheduled(make_program, instructor):
    draft = make_program(approved=False)
    with pytest.raises(DomainError, match="no approved version"):
        schedule_session(program=draft, instructor=instructor, start=datetime(2025, 3, 10, 10))
    assert _count(TrainingSession) == 0


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (datetime(2025, 3, 10, 10), datetime(2025, 3, 10, 9), "end must be after the start"),
        (datetime(2025, 3, 10, 10), datetime(2025, 3, 10, 10), "end must be after the start"),
        (datetime(2025, 3, 1, 10), datetime(2025, 3, 1, 11), "past day"),
    ],
)
def test_bad_times_are_refused(make_plain_program, instructor, start, end, message):
    program = make_plain_program()
    with pytest.raises(DomainError, match=message):
        services.schedule(
            db.session,
            program_id=program.id,
            instructor_id=instructor.id,
            starts_local=start,
            ends_local=end,
            place="Room",
            capacity=5,
            actor=instructor,
        )
    assert _count(TrainingSession) == 0


def test_employees_cannot_schedule_or_run_sessions(make_plain_program, make_user, instructor):
    program = make_plain_program()
    employee = make_user("employee")
    assert services.can_manage_session(employee, program, None)[0] is False
    assert services.can_manage_session(instructor, program, None) == (True, None)
    assert services.can_manage_session(make_user("admin"), program, None) == (True, None)
    with pytest.raises(NotAllowed):
        schedule_session(program=program, instructor=employee, start=datetime(2025, 3, 10, 10))
    with pytest.raises(DomainError, match="cannot run sessions"):
        services.schedule(
            db.session,
            program_id=program.id,
            instructor_id=employee.id,
            starts_local=datetime(2025, 3, 10, 10),
            ends_local=datetime(2025, 3, 10, 11),
            place="Room",
            capacity=5,
            actor=instructor,
        )


def test_weekly_series_keeps_the_local_time_across_daylight_saving(make_session):
    # Riga moves to summer time on 30 March 2025: 10:00 local is 08:00 UTC, then 07:00 UTC.
    series = make_session(start=datetime(2025, 3, 24, 10, 0), repeat="weekly", count=3)
    assert [ts.starts_at for ts in series] == [
        datetime(2025, 3, 24, 8, 0, tzinfo=UTC),
        datetime(2025, 3, 31, 7, 0, tzinfo=UTC),
        datetime(2025, 4, 7, 7, 0, tzinfo=UTC),
    ]
    assert len({ts.series_id for ts in series}) == 1 and series[0].series_id


def test_monthly_on_the_first_monday_and_on_the_same_day():
    first_monday = services.occurrences(datetime(2025, 3, 3, 9), "monthly_weekday", count=4)
    assert [d.date() for d in first_monday] == [
        date(2025, 3, 3),
        date(2025, 4, 7),
        date(2025, 5, 5),
        date(2025, 6, 2),
    ]
    last_friday = services.occurrences(datetime(2025, 1, 31, 9), "monthly_weekday", count=3)
    assert [d.date() for d in last_friday] == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 28),
    ]
    same_day = services.occurrences(
        datetime(2025, 1, 15, 9), "monthly_day", until=date(2025, 4, 30)
    )
    assert [d.date() for d in same_day] == [
        date(2025, 1, 15),
        date(2025, 2, 15),
        date(2025, 3, 15),
        date(2025, 4, 15),
    ]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"count": 53}, "Between 1 and 52"),
        ({"until": date(2026, 12, 31)}, "Between 1 and 52"),
        ({}, "number of sessions"),
        ({"until": date(2025, 1, 1)}, "before the first session"),
    ],
)
def test_series_limits(kw, message):
    with pytest.raises(DomainError, match=message):
        services.occurrences(datetime(2025, 3, 10, 10), "weekly", **kw)


def test_a_series_is_created_in_one_transaction(make_plain_program, instructor):
    program = make_plain_program()
    with pytest.raises(DomainError):
        services.schedule(
            db.session,
            program_id=program.id,
            instructor_id=instructor.id,
            starts_local=datetime(2025, 3, 10, 10),
            ends_local=datetime(2025, 3, 10, 11),
            place="Room",
            capacity=0,
            actor=instructor,
            repeat="weekly",
            count=5,
        )
    db.session.rollback()
    assert _count(TrainingSession) == 0


def test_capacity_cannot_drop_below_the_people_enrolled(make_session, people, instructor):
    ts = make_session(capacity=3)
    enrol(ts, *people[:5])
    with pytest.raises(DomainError, match="3 people are already enrolled") as caught:
        services.update_session(
            db.session,
            ts,
            instructor_id=instructor.id,
            starts_local=datetime(2025, 3, 10, 10),
            ends_local=datetime(2025, 3, 10, 11),
            place="Room 1",
            capacity=2,
            notes="",
            open_signup=True,
            actor=instructor,
        )
    assert caught.value.field == "capacity"
    db.session.rollback()
    # a larger room: the waitlist moves up in order and is told
    services.update_session(
        db.session,
        ts,
        instructor_id=instructor.id,
        starts_local=datetime(2025, 3, 10, 10),
        ends_local=datetime(2025, 3, 10, 11),
        place="Room 1",
        capacity=4,
        notes="",
        open_signup=True,
        actor=instructor,
    )
    db.session.commit()
    statuses = dict(
        db.session.execute(
            sa.select(Enrolment.user_id, Enrolment.status).where(Enrolment.session_id == ts.id)
        ).all()
    )
    assert [statuses[p.id] for p in people[:5]] == [
        "enrolled",
        "enrolled",
        "enrolled",
        "enrolled",
        "waitlisted",
    ]
    promoted = db.session.execute(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "session_promoted")
    ).scalar_one()
    assert promoted.user_id == people[3].id


def test_a_new_time_is_announced_and_raises_the_sequence(make_session, people, instructor):
    ts = make_session()
    enrol(ts, people[0])
    services.update_session(
        db.session,
        ts,
        instructor_id=instructor.id,
        starts_local=datetime(2025, 3, 11, 13),
        ends_local=datetime(2025, 3, 11, 14),
        place="Room 2",
        capacity=20,
        notes="Bring your ID.",
        open_signup=True,
        actor=instructor,
    )
    db.session.commit()
    assert ts.sequence == 1 and ts.starts_at == datetime(2025, 3, 11, 11, tzinfo=UTC)
    changed = db.session.execute(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "session_changed")
    ).scalar_one()
    assert changed.user_id == people[0].id and "Room 2" in changed.body


def test_cancelling_notifies_everyone_enrolled_or_waiting(make_session, people, instructor):
    people[0].locale, people[1].locale = "lv", "en"
    ts = make_session(capacity=2)
    enrol(ts, *people[:3])
    with pytest.raises(DomainError, match="reason"):
        services.cancel_session(db.session, ts, "  ", instructor)
    services.cancel_session(db.session, ts, "The trainer is ill.", instructor)
    db.session.commit()
    assert ts.status == "cancelled" and ts.sequence == 1
    messages = (
        db.session.execute(
            sa.select(OutboxMessage).where(OutboxMessage.kind == "session_cancelled")
        )
        .scalars()
        .all()
    )
    assert sorted(m.user_id for m in messages) == sorted(p.id for p in people[:3])
    assert all("The trainer is ill." in m.body and m.link == f"/sessions/{ts.id}" for m in messages)
    # each in the recipient's language: the program title of a Latvian reader is Latvian
    by_user = {m.user_id: m for m in messages}
    assert "Programma" in by_user[people[0].id].subject
    assert by_user[people[1].id].subject.startswith("Cancelled: Program 1, Mar 10, 2025, 10:00")
    with pytest.raises(Conflict):
        services.cancel_session(db.session, ts, "again", instructor)


def test_schedule_page_round_trip_and_errors(client, login_as, make_plain_program):
    program = make_plain_program(code="EVAC")
    user = login_as("instructor")
    page = text_of(client.get("/sessions/new"))
    assert "EVAC" in page and "Repeating sessions" in page
    data = {
        "program_id": program.id,
        "instructor_id": user.id,
        "department_id": 0,
        "starts_at": "2025-03-12T10:00",
        "ends_at": "2025-03-12T09:00",
        "place": "Hall",
        "capacity": "10",
        "repeat": "none",
        "open_signup": "y",
    }
    resp = client.post("/sessions/new", data=data)
    assert resp.status_code == 400 and "The end must be after the start." in text_of(resp)
    assert _count(TrainingSession) == 0
    data["ends_at"] = "2025-03-12T11:00"
    data.update(repeat="weekly", count="2")
    resp = client.post("/sessions/new", data=data)
    assert resp.status_code == 302
    sessions = db.session.execute(sa.select(TrainingSession).order_by(TrainingSession.id)).scalars()
    assert [ts.starts_at for ts in sessions] == [
        datetime(2025, 3, 12, 8, tzinfo=UTC),
        datetime(2025, 3, 19, 8, tzinfo=UTC),
    ]
    resp = client.post("/sessions/new", data={**data, "capacity": "0"})
    assert resp.status_code == 400


def test_edit_and_cancel_pages(client, login_as, make_session, people):
    user = login_as("instructor")
    ts = make_session(instructor=user, capacity=2)
    enrol(ts, *people[:2])
    form = text_of(client.get(f"/sessions/{ts.id}/edit"))
    assert "Change the session" in form
    resp = client.post(
        f"/sessions/{ts.id}/edit",
        data={
            "instructor_id": user.id,
            "starts_at": "2025-03-10T10:00",
            "ends_at": "2025-03-10T11:00",
            "place": "Room 1",
            "capacity": "1",
        },
    )
    assert resp.status_code == 400 and "2 people are already enrolled" in text_of(resp)
    resp = client.post(f"/sessions/{ts.id}/cancel", data={"cancel-reason": ""})
    assert resp.status_code == 400
    resp = client.post(f"/sessions/{ts.id}/cancel", data={"cancel-reason": "Storm warning"})
    assert resp.status_code == 302
    text = text_of(client.get(f"/sessions/{ts.id}"))
    assert "This session was cancelled" in text and "Storm warning" in text
    # a cancelled session can no longer be changed
    resp = client.get(f"/sessions/{ts.id}/edit")
    assert resp.status_code == 302
