"""When a trainer loses the right to teach: their upcoming sessions are flagged.

A revoked completion can take away a responsible person's right to run the cascade sessions
they scheduled. Completions reports every revocation to its listeners; this one finds the
trainer's upcoming sessions of that program, and tells the organiser of each session and the
trainer's manager. The session page shows the same warning (`instructor_problem`).
"""

from __future__ import annotations

import sqlalchemy as sa

from lms.accounts.models import User
from lms.cascade.services import teaching_right
from lms.completions import services as completions
from lms.completions.models import Completion, Revocation
from lms.core import audit, texts
from lms.core.clock import local_today
from lms.core.model import utcnow
from lms.core.outbox import OutboxMessage
from lms.sessions.access import _notify
from lms.sessions.models import TrainingSession


def instructor_problem(session, ts: TrainingSession) -> str | None:
    """Why the instructor of an upcoming session may no longer run it, or None."""
    if ts.status != "scheduled" or ts.ends_at < utcnow():
        return None
    right = teaching_right(session, ts.instructor, ts.program, ts.department_id, local_today())
    return None if right.allowed else right.reason


def upcoming_sessions_of(session, trainer_id: int, program_id: int) -> list[TrainingSession]:
    return list(
        session.execute(
            sa.select(TrainingSession)
            .where(
                TrainingSession.instructor_id == trainer_id,
                TrainingSession.program_id == program_id,
                TrainingSession.status == "scheduled",
                TrainingSession.ends_at >= utcnow(),
            )
            .order_by(TrainingSession.starts_at)
        ).scalars()
    )


@completions.on_revocation
def flag_trainer_sessions(
    session, completion: Completion, revocation: Revocation, actor_id: int | None
) -> list[TrainingSession]:
    """After a revocation: flag the trainer's upcoming sessions that they may no longer run."""
    upcoming = upcoming_sessions_of(session, completion.user_id, completion.program_id)
    return _flag(session, upcoming, f"revocation:{revocation.id}", actor_id)


def flag_lapsed_trainers(session) -> list[TrainingSession]:
    """Daily (with the reminders): flag the upcoming sessions of responsible persons whose own
    completion has expired since they scheduled them. Each session is flagged once per cause."""
    upcoming = session.execute(
        sa.select(TrainingSession)
        .where(
            TrainingSession.status == "scheduled",
            TrainingSession.ends_at >= utcnow(),
            TrainingSession.department_id.is_not(None),
        )
        .order_by(TrainingSession.starts_at)
    ).scalars()
    return _flag(session, list(upcoming), f"lapsed:{local_today().isoformat()[:7]}", None)


def _flag(
    session, sessions: list[TrainingSession], cause: str, actor_id: int | None
) -> list[TrainingSession]:
    flagged = []
    for ts in sessions:
        reason = instructor_problem(session, ts)
        if reason is None:
            continue
        own_key = f"trainer-lost-right:{ts.id}:{cause}:{ts.instructor_id}"
        if session.execute(
            sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key == own_key)
        ).scalar():
            continue  # already flagged for this cause
        flagged.append(ts)
        recipients: dict[int, User] = {}
        if ts.created_by_id and ts.created_by_id != ts.instructor_id:
            recipients[ts.created_by_id] = session.get(User, ts.created_by_id)
        dept = ts.instructor.department
        if dept is not None and dept.manager_id and dept.manager_id != ts.instructor_id:
            recipients[dept.manager_id] = session.get(User, dept.manager_id)
        recipients.setdefault(ts.instructor_id, ts.instructor)
        for user in recipients.values():
            _notify(
                session,
                user,
                ts,
                "trainer_lost_right",
                reason=reason,
                dedupe_key=f"trainer-lost-right:{ts.id}:{cause}:{user.id}",
            )
        audit.record(
            session,
            actor_id,
            "flag",
            "training_session",
            ts.id,
            texts.stored("sessions.instructor_lost_right"),
            cause=cause,
        )
    return flagged
