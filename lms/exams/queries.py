"""Reads for the exam pages: lists, times in the organisation's zone, the people to choose."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from lms.accounts.models import User
from lms.exams.models import ExamAppointment, ExamCandidate, ExamPoint, ExamSession
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
    return to_local(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


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
