"""A three-level cascade built through the ordinary pages (not the demo): sessions scheduled,
walk-ins added, attendance marked, acknowledged, signed, quizzes passed afterwards; then the
top trainer's certificate is revoked and every level below is flagged."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from lms.cascade import services as cascade
from lms.completions.models import Certificate, Completion, Revocation
from lms.core.outbox import OutboxMessage
from lms.extensions import db
from lms.learning.models import Attempt
from lms.sessions.models import Enrolment, TrainingSession
from tests.conftest import PASSWORD, text_of
from tests.learning.conftest import answers_for


@pytest.fixture
def org(make_department, make_user, make_program):
    production = make_department("Production", "PROD")
    workshop = make_department("Metal workshop", "WSHP", parent=production)
    office = make_department("Office", "OFF")
    specialist = make_user("instructor", name="Ivars Ozols")
    admin = make_user("admin", name="Anna Admin")
    head = make_user("manager", name="Līga Bērziņa", department=production)
    foreman = make_user(name="Dmitrijs Petrovs", department=workshop)
    welders = [make_user(name=f"Welder {i}", department=workshop) for i in (1, 2)]
    clerk = make_user(name="Clerk Outside", department=office)
    production.manager_id = head.id
    program = make_program(delivery_mode="cascade", code="FS-EVAC")
    program.current_version.cascade_levels = 2
    for person, dept, level in ((head, production, 1), (foreman, workshop, 2)):
        cascade.designate(
            db.session,
            user_id=person.id,
            department_id=dept.id,
            program_id=program.id,
            category=None,
            level=level,
            starts_on=date(2025, 1, 1),
            ends_on=None,
            actor_id=admin.id,
        )
    db.session.commit()
    return dict(
        production=production,
        workshop=workshop,
        specialist=specialist,
        admin=admin,
        head=head,
        foreman=foreman,
        welders=welders,
        clerk=clerk,
        program=program,
    )


def as_(auth, person) -> None:
    auth.logout()
    resp = auth.login(person)
    assert resp.status_code == 302


def at(day: int, hour: int, minute: int = 0):
    """A moment in March 2025, given as the time in Riga (UTC+2 in March)."""
    return time_machine.travel(datetime(2025, 3, day, hour - 2, minute, tzinfo=UTC), tick=False)


def schedule(client, auth, trainer, program, day: int, department=None) -> int:
    as_(auth, trainer)
    resp = client.post(
        "/sessions/new",
        data={
            "program_id": program.id,
            "instructor_id": trainer.id,
            "starts_at": f"2025-03-{day:02d}T10:00",
            "ends_at": f"2025-03-{day:02d}T11:00",
            "place": "Room 1",
            "capacity": 10,
            "department_id": department.id if department else 0,
            "repeat": "none",
            "open_signup": "y",
        },
    )
    assert resp.status_code == 302, text_of(resp)[:800]
    return int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def walk_in(client, session_id: int, person):
    return client.post(
        f"/sessions/{session_id}/walk-in",
        data={"walkin-user_id": person.id, "walkin-status": "present"},
    )


def run(client, auth, trainer, session_id: int, people, day: int) -> None:
    """At 10:30 on the day: walk-ins, each acknowledges on their own account, signed."""
    with at(day, 10, 30):
        as_(auth, trainer)
        for person in people:
            resp = walk_in(client, session_id, person)
            assert resp.status_code == 302, text_of(resp)[:800]
        for person in people:
            as_(auth, person)
            enrolment_id = db.session.scalar(
                sa.select(Enrolment.id).where(
                    Enrolment.session_id == session_id, Enrolment.user_id == person.id
                )
            )
            resp = client.post(f"/sessions/enrolments/{enrolment_id}/acknowledge")
            assert resp.status_code == 302, text_of(resp)[:800]
        as_(auth, trainer)
        resp = client.post(f"/sessions/{session_id}/sign", data={"password": PASSWORD})
        assert resp.status_code == 302, text_of(resp)[:800]


def pass_quiz(client, auth, person, program, day: int) -> None:
    """The quiz after the session (the path that used to lose the lineage)."""
    with at(day, 14):
        as_(auth, person)
        resp = client.post(f"/learning/programs/{program.id}/attempts")
        assert resp.status_code == 302, text_of(resp)[:800]
        attempt = db.session.get(Attempt, int(resp.headers["Location"].rsplit("/", 1)[1]))
        resp = client.post(f"/learning/attempts/{attempt.id}", data=answers_for(attempt))
        assert resp.status_code in (200, 302)


def completion_of(person, program) -> Completion:
    db.session.expire_all()
    return db.session.execute(
        sa.select(Completion).where(
            Completion.user_id == person.id, Completion.program_id == program.id
        )
    ).scalar_one()


def test_three_levels_through_the_pages_then_revocation_at_the_top(client, auth, org):
    o = org
    program = o["program"]
    # level 0: the specialist briefs the head of production
    with at(1, 9):
        s0 = schedule(client, auth, o["specialist"], program, 3)
    run(client, auth, o["specialist"], s0, [o["head"]], 3)
    pass_quiz(client, auth, o["head"], program, 3)
    top = completion_of(o["head"], program)
    assert (top.cascade_level, top.trainer_id, top.session_id) == (0, o["specialist"].id, s0)
    assert top.attempt_id is not None  # session and quiz: one completion
    # level 1: the head briefs the foreman of the workshop (inside her unit)
    with at(4, 9):
        s1 = schedule(client, auth, o["head"], program, 5, department=o["production"])
    # a person of another unit is refused as a walk-in, with the reason, and nothing is kept
    with at(5, 10, 15):
        as_(auth, o["head"])
        page = text_of(client.get(f"/sessions/{s1}"))
        assert "Welder 1" in page and "Clerk Outside" not in page  # walk-ins of her unit only
        resp = walk_in(client, s1, o["clerk"])
        assert resp.status_code == 403
        assert "Clerk Outside is not in Production" in text_of(resp)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 1
    run(client, auth, o["head"], s1, [o["foreman"]], 5)
    pass_quiz(client, auth, o["foreman"], program, 5)
    middle = completion_of(o["foreman"], program)
    assert (middle.cascade_level, middle.trainer_completion_id) == (1, top.id)
    # level 2: the foreman briefs two welders
    with at(6, 9):
        s2 = schedule(client, auth, o["foreman"], program, 7, department=o["workshop"])
        upcoming = schedule(client, auth, o["foreman"], program, 20, department=o["workshop"])
    run(client, auth, o["foreman"], s2, o["welders"], 7)
    for welder in o["welders"]:
        pass_quiz(client, auth, welder, program, 7)
    bottom = [completion_of(w, program) for w in o["welders"]]
    assert {(c.cascade_level, c.trainer_completion_id) for c in bottom} == {(2, middle.id)}
    # the certificate prints the whole chain above the trainer
    printed = db.session.scalar(
        sa.select(Certificate.fields).where(Certificate.completion_id == bottom[0].id)
    )
    assert printed["lineage"] == ["Līga Bērziņa", "Ivars Ozols"]

    # the top trainer's certificate is revoked (a signature): every level below is flagged
    with at(10, 9):
        as_(auth, o["admin"])
        cert = db.session.scalar(sa.select(Certificate).where(Certificate.completion_id == top.id))
        resp = client.post(
            f"/certificates/{cert.id}/revoke",
            data={"reason": "Trainer's qualification withdrawn", "password": PASSWORD},
        )
        assert resp.status_code == 302, text_of(resp)[:800]
        db.session.expire_all()
        revoked = set(db.session.scalars(sa.select(Revocation.completion_id)))
        assert revoked == {top.id, middle.id} | {c.id for c in bottom}
        # the people below, and their managers, are told
        lapse = db.session.execute(
            sa.select(OutboxMessage.user_id).where(OutboxMessage.kind == "cascade_lapse")
        ).scalars()
        told = set(lapse)
        assert {o["foreman"].id, o["head"].id} | {w.id for w in o["welders"]} <= told
        # their certificates no longer verify as valid
        for c in bottom:
            code = db.session.scalar(
                sa.select(Certificate.code).where(Certificate.completion_id == c.id)
            )
            assert "Revoked" in text_of(client.get(f"/verify/{code}"))
        # the foreman's upcoming session is flagged on its page and to the organiser
        flagged = db.session.scalars(
            sa.select(OutboxMessage.user_id).where(
                OutboxMessage.kind == "session_trainer_lost_right"
            )
        ).all()
        assert o["foreman"].id in flagged
        assert db.session.get(TrainingSession, upcoming).status == "scheduled"
        page = text_of(client.get(f"/sessions/{upcoming}"))
        assert "Dmitrijs Petrovs may no longer run this session" in page
        # revoking again is refused, nothing is added
        resp = client.post(
            f"/certificates/{cert.id}/revoke",
            data={"reason": "Again", "password": PASSWORD},
        )
        assert resp.status_code == 409
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Revocation)) == 4
