"""Reads for the exam pages: lists, times in the organisation's zone, the people to choose."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from lms.accounts.models import User
from lms.core.dates import fmt_datetime
from lms.exams.models import ExamAppointment, ExamCandidate, ExamPoint, ExamSession
from lms.learning.models import Attempt
from lms.programs.models import Program, ProgramVersion


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["LMS_CONFIG"].timezone)


def to_utc(local: datetime) -> datetime:
    """A wall-clock time in the organisation's zone (naive or aware) as UTC."""
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone())
    return local.astimezone(ZoneInfo("UTC"))


def to_local(moment: datetime) -> datetime:
    return moment.astimezone(zone())


def stamp(moment: datetime | None) -> str:
    """A moment as people read it: the one date-and-time style (lms.core.dates)."""
    return fmt_datetime(moment)


def exams_for(session, user: User) -> list[ExamSession]:
    """Every exam for those who see all; otherwise the ones the person is part of."""
    stmt = sa.select(ExamSession).order_by(ExamSession.starts_at.desc(), ExamSession.id.desc())
    if not user.can("exams.view_all"):
        mine = sa.union(
            sa.select(ExamAppointment.exam_id).where(ExamAppointment.user_id == user.id),
            sa.select(ExamCandidate.exam_id).where(ExamCandidate.user_id == user.id),
        )
        stmt = stmt.where(ExamSession.id.in_(mine))
    return list(session.execute(stmt.limit(500)).scalars())


def points(session) -> list[ExamPoint]:
    return list(session.execute(sa.select(ExamPoint).order_by(ExamPoint.name)).scalars())


def person(session, user_id: int | None) -> User | None:
    """The person with this id, None when there is none (or no id was chosen)."""
    return session.get(User, user_id) if user_id else None


def program(session, program_id: int) -> Program | None:
    return session.get(Program, program_id)


def people(session) -> list[User]:
    return list(
        session.execute(
            sa.select(User).where(User.active.is_(True)).order_by(User.name, User.id)
        ).scalars()
    )


def examinable_programs(session) -> list[Program]:
    """Programs whose current version is approved."""
    return list(
        session.execute(
            sa.select(Program)
            .join(ProgramVersion, ProgramVersion.id == Program.current_version_id)
            .where(ProgramVersion.status == "approved")
            .order_by(Program.code)
        ).scalars()
    )


def quiz_attempts(session, exam: ExamSession) -> dict[int, tuple[int, bool, datetime]]:
    """When the test is the program's quiz: each candidate's last submitted attempt made while
    the exam was open, {user id: (score, passed, finished at)}, for the commission to confirm."""
    if exam.test_kind != "quiz" or exam.opened_at is None:
        return {}
    # times of opening and closing are kept to the second: count the whole second of closing
    end = (exam.closed_at or exam.ends_at + timedelta(days=1)) + timedelta(seconds=1)
    rows = session.execute(
        sa.select(Attempt.user_id, Attempt.score_percent, Attempt.passed, Attempt.finished_at)
        .where(
            Attempt.program_id == exam.program_id,
            Attempt.user_id.in_([c.user_id for c in exam.candidates]),
            Attempt.state == "submitted",
            Attempt.finished_at >= exam.opened_at,
            Attempt.finished_at < end,
        )
        .order_by(Attempt.finished_at, Attempt.id)
    ).all()
    return {uid: (score, bool(passed), at) for uid, score, passed, at in rows}
