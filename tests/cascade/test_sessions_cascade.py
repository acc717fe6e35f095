"""Level 0 and level 1 through real sessions: who may run them, and the lineage they record."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from lms.cascade import services as cascade
from lms.completions.models import Completion
from lms.core.errors import NotAllowed
from lms.extensions import db
from lms.sessions import services as sessions
from lms.sessions.models import Enrolment
from tests.conftest import PASSWORD, text_of
from tests.sessions.conftest import approve_without_quiz, enrol, schedule_session


@pytest.fixture
def org(make_department, make_user, make_program):
    shop = make_department("Workshop", "SHOP")
    office = make_department("Office", "OFF")
    specialist = make_user("instructor", name="Ivars Ozols")
    manager = make_user("manager", name="Līga Bērziņa", department=shop)
    staff = [make_user(name=f"Welder {i}", department=shop) for i in range(1, 4)]
    clerk = make_user(name="Clerk", department=office)
    program = approve_without_quiz(
        make_program(approved=False, delivery_mode="cascade", code="FS-EVAC")
    )
    cascade.designate(
        db.session,
        user_id=manager.id,
        department_id=shop.id,
        program_id=program.id,
        category=None,
        level=1,
        starts_on=date(2025, 1, 1),
        ends_on=None,
        actor_id=None,
    )
    db.session.commit()
    return dict(
        shop=shop,
        office=office,
        specialist=specialist,
        manager=manager,
        staff=staff,
        clerk=clerk,
        program=program,
    )


def run_session(ts, attendees, instructor):
    """Everyone present, acknowledges with their password on the instructor's device, signed."""
    from datetime import timedelta

    with time_machine.travel(ts.starts_at - timedelta(days=1), tick=False):
        enrol(ts, *attendees, actor=instructor)
    with time_machine.travel(ts.ends_at, tick=False):
        sessions.mark_attendance(db.session, ts, {u.id: "present" for u in attendees}, instructor)
        for u in attendees:
            en = db.session.execute(
                sa.select(Enrolment).where(Enrolment.session_id == ts.id, Enrolment.user_id == u.id)
            ).scalar_one()
            sessions.acknowledge(
                db.session, en, actor=instructor, method="password", secret=PASSWORD
            )
        sessions.sign_conducted(db.session, ts, instructor, PASSWORD)
        db.session.commit()


def completion_of(user, program):
    return db.session.execute(
        sa.select(Completion).where(
            Completion.user_id == user.id, Completion.program_id == program.id
        )
    ).scalar_one()


def test_level_0_then_level_1_with_lineage(org):
    o = org
    with time_machine.travel(datetime(2025, 3, 1, 8, 0), tick=False):
        level0 = schedule_session(
            program=o["program"], instructor=o["specialist"], start=datetime(2025, 3, 3, 10, 0)
        )
    run_session(level0, [o["manager"]], o["specialist"])
    own = completion_of(o["manager"], o["program"])
    assert own.cascade_level == 0 and own.trainer_id == o["specialist"].id
    # before training the manager could not schedule; now they can, for their own unit only
    with time_machine.travel(datetime(2025, 3, 5, 8, 0), tick=False):
        with pytest.raises(NotAllowed, match="another department"):
            schedule_session(
                program=o["program"],
                instructor=o["manager"],
                start=datetime(2025, 3, 10, 10, 0),
                department_id=o["office"].id,
            )
        db.session.rollback()
        level1 = schedule_session(
            program=o["program"],
            instructor=o["manager"],
            start=datetime(2025, 3, 10, 10, 0),
            department_id=o["shop"].id,
        )
    run_session(level1, o["staff"], o["manager"])
    for person in o["staff"]:
        c = completion_of(person, o["program"])
        assert c.trainer_id == o["manager"].id
        assert c.trainer_completion_id == own.id and c.cascade_level == 1


def test_expired_own_completion_stops_the_cascade(org):
    o = org
    with time_machine.travel(datetime(2025, 3, 1, 8, 0), tick=False):
        level0 = schedule_session(
            program=o["program"], instructor=o["specialist"], start=datetime(2025, 3, 3, 10, 0)
        )
    run_session(level0, [o["manager"]], o["specialist"])
    # twelve months later the manager's own completion has expired
    with (
        time_machine.travel(datetime(2026, 3, 10, 8, 0), tick=False),
        pytest.raises(NotAllowed, match="trained again"),
    ):
        schedule_session(
            program=o["program"],
            instructor=o["manager"],
            start=datetime(2026, 3, 20, 10, 0),
            department_id=o["shop"].id,
        )


def test_schedule_page_for_a_designated_person(client, auth, org):
    o = org
    with time_machine.travel(datetime(2025, 3, 5, 8, 0), tick=True):
        auth.login(o["manager"])
        resp = client.get("/sessions/new")
        assert resp.status_code == 200
        assert "trained again" in text_of(resp)  # designated, but not yet trained at level 0
        home = text_of(client.get("/"))
        assert "You are a responsible person" in home


def test_a_trainer_whose_training_expires_has_upcoming_sessions_flagged(org, runner):
    from lms.core.outbox import OutboxMessage

    o = org
    with time_machine.travel(datetime(2025, 3, 1, 8, 0), tick=False):
        level0 = schedule_session(
            program=o["program"], instructor=o["specialist"], start=datetime(2025, 3, 3, 10, 0)
        )
    run_session(level0, [o["manager"]], o["specialist"])
    own = completion_of(o["manager"], o["program"])
    with time_machine.travel(datetime(2026, 2, 20, 8, 0), tick=False):
        later = schedule_session(
            program=o["program"],
            instructor=o["manager"],
            start=datetime(2026, 3, 20, 10, 0),
            department_id=o["shop"].id,
        )
    assert own.expires_on < date(2026, 3, 10)
    with time_machine.travel(datetime(2026, 3, 10, 6, 0), tick=False):
        for _ in range(2):  # daily runs: flagged once
            assert runner.invoke(args=["lms", "send-reminders"]).exit_code == 0
        told = db.session.scalars(
            sa.select(OutboxMessage.user_id).where(
                OutboxMessage.kind == "session_trainer_lost_right"
            )
        ).all()
        assert told == [o["manager"].id]
        assert db.session.get(type(later), later.id).status == "scheduled"
