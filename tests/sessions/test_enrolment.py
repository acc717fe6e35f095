"""Enrolment: invitations (one, a department, everyone due), self sign-up, capacity and the
waitlist, including 50 people signing up at the same moment on PostgreSQL."""

from __future__ import annotations

import os
import threading
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from lms.accounts.models import User
from lms.completions import services as completions
from lms.core.errors import Conflict, DomainError, NotAllowed
from lms.core.outbox import OutboxMessage
from lms.extensions import db
from lms.sessions import queries, services
from lms.sessions.models import Enrolment
from tests.conftest import text_of
from tests.sessions.conftest import enrol, schedule_session

pytestmark = pytest.mark.usefixtures("clock")


def _statuses(ts) -> dict[int, str]:
    db.session.expire_all()
    return dict(
        db.session.execute(
            sa.select(Enrolment.user_id, Enrolment.status).where(Enrolment.session_id == ts.id)
        ).all()
    )


def _kinds(user) -> list[str]:
    return list(
        db.session.execute(
            sa.select(OutboxMessage.kind)
            .where(OutboxMessage.user_id == user.id)
            .order_by(OutboxMessage.id)
        ).scalars()
    )


def test_sign_up_fills_places_then_the_waitlist(make_session, people):
    ts = make_session(capacity=2)
    got = [services.sign_up(db.session, ts.id, p).status for p in people[:4]]
    db.session.commit()
    assert got == ["enrolled", "enrolled", "waitlisted", "waitlisted"]
    with pytest.raises(Conflict, match="already signed up"):
        services.sign_up(db.session, ts.id, people[0])


def test_cancelling_promotes_the_first_on_the_waitlist(make_session, people, clock):
    ts = make_session(capacity=1)
    services.sign_up(db.session, ts.id, people[0])
    for p in people[1:4]:
        clock.shift(timedelta(seconds=1))
        services.sign_up(db.session, ts.id, p)
    db.session.commit()
    mine = queries.enrolment_of(db.session, ts.id, people[0].id)
    promoted = services.cancel_enrolment(db.session, mine, people[0])
    db.session.commit()
    assert [e.user_id for e in promoted] == [people[1].id]
    assert _statuses(ts) == {
        people[0].id: "cancelled",
        people[1].id: "enrolled",
        people[2].id: "waitlisted",
        people[3].id: "waitlisted",
    }
    assert _kinds(people[1]) == ["session_promoted"]
    # leaving the waitlist promotes nobody
    waiting = queries.enrolment_of(db.session, ts.id, people[2].id)
    assert services.cancel_enrolment(db.session, waiting, people[2]) == []
    # signing up again puts one at the back of the queue
    clock.shift(timedelta(seconds=1))
    assert services.sign_up(db.session, ts.id, people[0]).status == "waitlisted"
    db.session.commit()
    roster = queries.roster(db.session, ts)
    assert [r.user.id for r in roster.waitlisted] == [people[3].id, people[0].id]
    assert [r.position for r in roster.waitlisted] == [1, 2]


def test_next_enrolment(make_session, people):
    later = make_session(start=datetime(2025, 3, 20, 10))
    sooner = make_session(program=later.program, start=datetime(2025, 3, 12, 10), capacity=1)
    enrol(later, people[0], people[1])
    enrol(sooner, people[1], people[0])  # people[0] only waits for the sooner one
    assert services.next_enrolment(db.session, people[0].id, later.program_id) == later
    assert services.next_enrolment(db.session, people[1].id, later.program_id) == sooner
    assert sooner.location == "Room 1"
    assert services.next_enrolment(db.session, people[2].id, later.program_id) is None


def test_nobody_leaves_someone_elses_place_without_the_right(make_session, people):
    ts = make_session()
    enrol(ts, people[0])
    enrolment = queries.enrolment_of(db.session, ts.id, people[0].id)
    with pytest.raises(NotAllowed):
        services.cancel_enrolment(db.session, enrolment, people[1])


def test_no_enrolment_into_a_cancelled_or_past_session(make_session, people, instructor, clock):
    ts = make_session(start=datetime(2025, 3, 10, 10))
    services.cancel_session(db.session, ts, "No room", instructor)
    db.session.commit()
    with pytest.raises(DomainError, match="cancelled"):
        services.sign_up(db.session, ts.id, people[0])
    with pytest.raises(DomainError, match="cancelled"):
        services.invite(db.session, ts, [people[0]], instructor)
    past = make_session(start=datetime(2025, 3, 3, 9, 0))  # started an hour before NOW
    with pytest.raises(DomainError, match="already started"):
        services.sign_up(db.session, past.id, people[0])
    with pytest.raises(DomainError, match="already started"):
        services.invite(db.session, past, [people[0]], instructor)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 0


def test_invitation_only_and_audience(make_plain_program, make_session, people):
    ts = make_session(open_signup=False)
    with pytest.raises(NotAllowed, match="invitation only"):
        services.sign_up(db.session, ts.id, people[0])
    warehouse_only = make_plain_program(audience_departments=["WH"])
    ts2 = make_session(program=warehouse_only)
    with pytest.raises(NotAllowed, match="not meant for your department"):
        services.sign_up(db.session, ts2.id, people[0])
    assert services.sign_up(db.session, ts2.id, people[5]).status == "enrolled"


def test_invite_one_person_and_a_department(make_session, people, make_department, make_user):
    ts = make_session(capacity=4)
    result = services.invite_person(db.session, ts, people[5].id, ts.instructor)
    assert [u.id for u in result.enrolled] == [people[5].id]
    with pytest.raises(Conflict, match="already in this session"):
        services.invite_person(db.session, ts, people[5].id, ts.instructor)
    with pytest.raises(DomainError, match="instructor cannot be enrolled"):
        services.invite_person(db.session, ts, ts.instructor_id, ts.instructor)
    workshop = people[0].department
    sub = make_department(name="Welding bay", code="WELD", parent=workshop)
    welder = make_user(name="Sub Welder", department=sub)
    result = services.invite_department(db.session, ts, workshop.id, ts.instructor)
    db.session.commit()
    assert len(result.enrolled) == 3 and len(result.waitlisted) == 3  # 5 workshop + 1 sub
    assert welder in result.enrolled + result.waitlisted
    assert _kinds(people[0]) == ["session_invitation"]
    waiting = result.waitlisted[0]
    body = db.session.execute(
        sa.select(OutboxMessage.body).where(OutboxMessage.user_id == waiting.id)
    ).scalar_one()
    # in the recipient's language: no preference set, so the organisation's default, Latvian
    assert "gaidīšanas sarakstā" in body


def test_due_people(make_plain_program, people, make_user, make_department):
    program = make_plain_program(audience_departments=["WSHP"], audience_job_titles=["Welder"])
    outsider = make_user(name="Fitter", department=people[0].department, job_title="Fitter")
    version = program.current_version
    today = date(2025, 3, 3)
    # Worker 1: valid for a year; Worker 2: expires in 20 days; Worker 3: expired; 4, 5: never
    for person, done in ((people[0], date(2025, 3, 1)), (people[1], date(2024, 3, 23))):
        completions.record_completion(
            db.session,
            user_id=person.id,
            version=version,
            completed_on=done,
            earned_by="record",
            actor_id=None,
        )
    completions.record_completion(
        db.session,
        user_id=people[2].id,
        version=version,
        completed_on=date(2024, 1, 1),
        earned_by="record",
        actor_id=None,
    )
    revoked = completions.record_completion(
        db.session,
        user_id=people[3].id,
        version=version,
        completed_on=date(2025, 3, 1),
        earned_by="record",
        actor_id=None,
    )
    completions.revoke(db.session, revoked, "Wrong person", None)
    people[4].active = False
    db.session.commit()
    due = services.due_people(db.session, program, today)
    assert [u.id for u in due] == [people[1].id, people[2].id, people[3].id]
    assert outsider not in due
    # an empty audience means everyone (active)
    everyone = make_plain_program()
    names = {u.name for u in services.due_people(db.session, everyone, today)}
    assert {"Worker 1", "Storekeeper 1", "Fitter"} <= names and "Worker 5" not in names


def test_invite_everyone_due(make_plain_program, make_session, people):
    program = make_plain_program(audience_departments=["WH"])
    ts = make_session(program=program)
    result = services.invite_due(db.session, ts, ts.instructor)
    db.session.commit()
    assert sorted(u.id for u in result.enrolled) == sorted(p.id for p in people[5:])
    with pytest.raises(DomainError, match="Nobody is due"):
        services.invite_due(
            db.session,
            make_session(program=make_plain_program(audience_job_titles=["Astronaut"])),
            ts.instructor,
        )


def test_enrolment_pages(client, auth, login_as, make_session, people, instructor):
    ts = make_session(capacity=1)
    auth.login(people[0])
    text = text_of(client.get("/sessions/mine"))
    assert "Open for sign-up" in text and ts.program.code in text
    resp = client.post(f"/sessions/{ts.id}/signup")
    assert resp.status_code == 302
    text = text_of(client.get(f"/sessions/{ts.id}"))
    assert "Your place" in text and "Enrolled" in text
    assert ts.program.code in text_of(client.get("/sessions/mine"))
    auth.logout()
    auth.login(people[1])
    client.post(f"/sessions/{ts.id}/signup")
    assert "On the waitlist" in text_of(client.get("/sessions/mine"))
    # someone else's enrolment cannot be cancelled
    other = queries.enrolment_of(db.session, ts.id, people[0].id)
    resp = client.post(f"/sessions/enrolments/{other.id}/leave")
    assert resp.status_code == 403 and "someone else" in text_of(resp)
    assert _statuses(ts)[people[0].id] == "enrolled"
    auth.logout()
    auth.login(people[0])
    assert client.post(f"/sessions/enrolments/{other.id}/leave").status_code == 302
    assert _statuses(ts) == {people[0].id: "cancelled", people[1].id: "enrolled"}
    auth.logout()
    # the instructor invites through the page
    auth.login(instructor)
    resp = client.post(f"/sessions/{ts.id}/invite/person", data={"invite-user_id": people[2].id})
    assert resp.status_code == 302
    resp = client.post(f"/sessions/{ts.id}/invite/person", data={"invite-user_id": people[2].id})
    assert resp.status_code == 409 and "already in this session" in text_of(resp)
    resp = client.post(
        f"/sessions/{ts.id}/invite/department",
        data={"dept-department_id": people[5].department_id, "dept-include_sub": "y"},
    )
    assert resp.status_code == 302
    text = text_of(client.get(f"/sessions/{ts.id}"))
    assert "Waitlist" in text and "Storekeeper 2" in text
    resp = client.post(f"/sessions/{ts.id}/invite/due")
    assert resp.status_code == 302


def test_an_employee_sees_only_sessions_meant_for_them(client, auth, make_session, people):
    closed = make_session(open_signup=False)
    auth.login(people[0])
    assert client.get(f"/sessions/{closed.id}").status_code == 404
    assert client.post(f"/sessions/{closed.id}/signup").status_code == 404
    assert client.get(f"/sessions/{closed.id}/event.ics").status_code == 404
    assert client.get("/sessions/").status_code == 403
    assert client.post(f"/sessions/{closed.id}/invite/person").status_code == 403


@pytest.mark.skipif(
    os.environ.get("LMS_TEST_DB") != "postgresql", reason="needs PostgreSQL row locks"
)
@pytest.mark.postgresql_only
def test_fifty_simultaneous_sign_ups_never_exceed_the_capacity(app, make_plain_program, instructor):
    program = make_plain_program()
    start = datetime.now() + timedelta(days=7)
    ts = schedule_session(
        program=program, instructor=instructor, start=start.replace(microsecond=0), capacity=20
    )
    people = [
        User(email=f"rush{i}@example.test", name=f"Rush {i:02d}", password_hash="x")
        for i in range(50)
    ]
    db.session.add_all(people)
    db.session.commit()
    ids = [p.id for p in people]
    barrier = threading.Barrier(len(ids))
    errors: list[Exception] = []

    def sign_up(user_id: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                services.sign_up(db.session, ts.id, db.session.get(User, user_id))
                db.session.commit()
            except Exception as err:  # reported by the assertion below
                db.session.rollback()
                errors.append(err)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sign_up, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    counts = queries.counts(db.session, ts.id)
    assert counts == {"enrolled": 20, "waitlisted": 30, "cancelled": 0}

    first_waiting = db.session.execute(
        sa.select(Enrolment)
        .where(Enrolment.session_id == ts.id, Enrolment.status == "waitlisted")
        .order_by(Enrolment.requested_at, Enrolment.id)
        .limit(1)
    ).scalar_one()
    leaving = db.session.execute(
        sa.select(Enrolment)
        .where(Enrolment.session_id == ts.id, Enrolment.status == "enrolled")
        .limit(1)
    ).scalar_one()
    promoted = services.cancel_enrolment(db.session, leaving, leaving.user)
    db.session.commit()
    assert [e.id for e in promoted] == [first_waiting.id]
    assert queries.counts(db.session, ts.id) == {"enrolled": 20, "waitlisted": 29, "cancelled": 1}
