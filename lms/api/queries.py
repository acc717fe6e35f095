"""Reads for the API. ``status_rows`` is the one place the API asks for training status, so it
can move to the stored status per person and program without touching the routes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa

from lms.accounts import services as accounts
from lms.accounts.models import Department, User
from lms.completions.models import Certificate, Completion, Revocation
from lms.compliance.engine import Scope, status_select
from lms.compliance.queries import visible_department_ids
from lms.programs.models import Program, ProgramVersion
from lms.sessions.models import Enrolment, TrainingSession

MAX_ID = 2_147_483_647


def get(session, model: type, ident: int) -> Any | None:
    """The row with this id, or None (also for ids no database column can hold)."""
    return session.get(model, ident) if 0 < ident <= MAX_ID else None


def page(session, stmt, number: int, size: int) -> tuple[int, list[Any]]:
    total = session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.offset((number - 1) * size).limit(size)).scalars().all()
    return total, list(rows)


def people_stmt(
    session,
    q: str = "",
    department_id: int | None = None,
    active: bool | None = None,
    employee_number: str | None = None,
):
    stmt = accounts.search_users(session, q, department_id, None, active)
    if employee_number:
        stmt = stmt.where(User.employee_number == employee_number)
    return stmt.order_by(User.id)


def departments_stmt():
    return sa.select(Department).order_by(Department.id)


def programs_stmt():
    return sa.select(Program).order_by(Program.id)


def current_titles(session, programs: list[Program]) -> dict[int, dict[str, str]]:
    ids = [p.current_version_id for p in programs if p.current_version_id]
    rows = session.execute(
        sa.select(ProgramVersion.id, ProgramVersion.title).where(ProgramVersion.id.in_(ids))
    ).all()
    return {vid: title for vid, title in rows}


def versions_of(session, program_id: int) -> list[ProgramVersion]:
    return list(
        session.scalars(
            sa.select(ProgramVersion)
            .where(ProgramVersion.program_id == program_id)
            .order_by(ProgramVersion.number)
        )
    )


def department_scope(session, viewer: User, department_id: int | None) -> tuple[int, ...] | None:
    """The departments a list may show: the viewer's visible ones (as on the compliance
    pages), narrowed to the subtree asked for. None means every department."""
    visible = visible_department_ids(session, viewer)
    asked = accounts.subtree_ids(session, department_id) if department_id else None
    if visible is None:
        return tuple(asked) if asked is not None else None
    if asked is None:
        return tuple(visible)
    return tuple(set(visible) & set(asked))


def status_rows(
    session,
    today: date,
    viewer: User,
    *,
    user_ids: tuple[int, ...] | None = None,
    program_ids: tuple[int, ...] | None = None,
    department_id: int | None = None,
    status: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[int, list[sa.Row]]:
    """(total, rows of user_id, department_id, program_id, status, due_on, completed_on)."""
    department_ids = department_scope(session, viewer, department_id)
    scope = Scope(department_ids=department_ids, program_ids=program_ids, user_ids=user_ids)
    sub = status_select(session, today, scope=scope).subquery()
    stmt = sa.select(sub)
    if status:
        stmt = stmt.where(sub.c.status == status)
    total = session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(sub.c.user_id, sub.c.program_id).offset(offset).limit(limit)
    ).all()
    return total, list(rows)


def completions_stmt(
    session,
    viewer: User,
    person_id: int | None = None,
    program_id: int | None = None,
    since: date | None = None,
):
    stmt = sa.select(Completion).order_by(Completion.completed_on.desc(), Completion.id.desc())
    departments = department_scope(session, viewer, None)
    if departments is not None:
        stmt = stmt.where(
            Completion.user_id.in_(sa.select(User.id).where(User.department_id.in_(departments)))
        )
    if person_id:
        stmt = stmt.where(Completion.user_id == person_id)
    if program_id:
        stmt = stmt.where(Completion.program_id == program_id)
    if since:
        stmt = stmt.where(Completion.completed_on >= since)
    return stmt


def completion_extras(session, ids: list[int]) -> tuple[set[int], dict[int, str]]:
    """(revoked completion ids, certificate number by completion id)."""
    revoked = set(
        session.scalars(
            sa.select(Revocation.completion_id).where(Revocation.completion_id.in_(ids))
        )
    )
    numbers = dict(
        session.execute(
            sa.select(Certificate.completion_id, Certificate.number).where(
                Certificate.completion_id.in_(ids)
            )
        ).all()
    )
    return revoked, numbers


def certificate_by_number(session, number: str) -> Certificate | None:
    return session.scalar(sa.select(Certificate).where(Certificate.number == number[:40]))


def sessions_stmt(program_id: int | None = None, since: date | None = None):
    stmt = sa.select(TrainingSession).order_by(TrainingSession.starts_at, TrainingSession.id)
    if program_id:
        stmt = stmt.where(TrainingSession.program_id == program_id)
    if since:
        stmt = stmt.where(TrainingSession.starts_at >= datetime.combine(since, time.min, UTC))
    return stmt


def enrolments_of(session, session_id: int) -> list[Enrolment]:
    return list(
        session.scalars(
            sa.select(Enrolment).where(Enrolment.session_id == session_id).order_by(Enrolment.id)
        )
    )
