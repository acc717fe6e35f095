"""Reads for the API. ``status_rows`` is the one place the API asks for training status, so it
can move to the stored status per person and program without touching the routes."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from lms.compliance.engine import Scope, status_select


def status_rows(
    session,
    today: date,
    *,
    user_ids: tuple[int, ...] | None = None,
    program_ids: tuple[int, ...] | None = None,
    department_ids: tuple[int, ...] | None = None,
    status: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[int, list[sa.Row]]:
    """(total, rows of user_id, department_id, program_id, status, due_on, completed_on)."""
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
