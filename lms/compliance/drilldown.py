"""Drill-down lists of people: who holds which required program in what status, a page at a
time (keyset pagination on the due date), and the same rows in batches for the exports; read
from the stored status (``person_program_status``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.accounts.models import Department, User
from lms.compliance.models import PersonStatus
from lms.compliance.queries import PEOPLE_PER_PAGE, STATUS_ORDER, _status
from lms.core.errors import DomainError
from lms.core.model import DbSession
from lms.programs.models import Program, ProgramVersion

_NO_DATE = "-"


@dataclass(frozen=True)
class Cursor:
    """Where a list page continues: after (due date or None, user id, program id)."""

    due_on: date | None
    user_id: int
    program_id: int

    def __str__(self) -> str:
        due = self.due_on.isoformat() if self.due_on else _NO_DATE
        return f"{due}.{self.user_id}.{self.program_id}"

    @classmethod
    def parse(cls, value: str | None) -> Cursor | None:
        """None without a value; a value that is not a cursor is a 400."""
        if not value:
            return None
        parts = value.split(".")
        try:
            if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts[1:]):
                raise ValueError(value)
            user_id, program_id = int(parts[1]), int(parts[2])
            if user_id > 2**31 - 1 or program_id > 2**31 - 1:
                raise ValueError(value)
            due = None if parts[0] == _NO_DATE else date.fromisoformat(parts[0])
        except ValueError:
            raise DomainError(
                _("This page link is not valid any more: start from the first page.")
            ) from None
        return cls(due, user_id, program_id)


def _status_filter(status: str | None, today: date, window_days: int) -> list[Any]:
    """The rows of one status, with a range on the due date where it follows from the status
    (so that the index on it narrows the scan)."""
    if status not in STATUS_ORDER:
        return []
    ps = PersonStatus
    conds = [_status(today, window_days) == status]
    soon = today + timedelta(days=window_days)
    if status == "compliant":
        conds.append(sa.or_(ps.due_on.is_(None), ps.due_on > soon))
    elif status == "due_soon":
        conds.append(ps.due_on >= today)
    elif status == "never_trained":
        conds.append(ps.basis == "never_trained")
    elif status == "flagged":
        conds.append(ps.basis == "flagged")
    return conds


WALK_SHARE = 20  # departments in scope at least 1/20 of all: the drill-down walks by due date


def people_page(
    session: DbSession,
    today: date,
    window_days: int,
    *,
    department_ids: Sequence[int] | None = None,
    program_id: int | None = None,
    status: str | None = None,
    after: Cursor | None = None,
    per_page: int = PEOPLE_PER_PAGE,
) -> tuple[list[Any], Cursor | None]:
    """One page of the drill-down: (rows, cursor of the next page or None), most urgent first
    (by due date; no due date last), in one statement: the page's keys are read in index order
    and only they are joined to people and programs."""
    ps = PersonStatus
    conds = _status_filter(status, today, window_days)
    dated_conds: list[Any] = []
    undated_conds: list[Any] = []
    if department_ids is not None:
        ids = list(department_ids)
        everywhere = session.scalar(sa.select(sa.func.count(Department.id))) or 1
        undated_conds.append(ps.department_id.in_(ids))
        if len(ids) * WALK_SHARE >= everywhere:
            # a large part of the organisation: walk the due-date index in order and keep
            # its rows (dense: a page is found soon) rather than read and sort the whole part;
            # "+ 0" keeps the department index out of it (a small part reads by department)
            dated_conds.append((ps.department_id + 0).in_(ids))
        else:
            dated_conds.append(ps.department_id.in_(ids))
    if program_id:
        conds.append(ps.program_id == program_id)
    keys = (ps.user_id, ps.program_id)
    dated = sa.select(ps.user_id, ps.program_id).where(ps.due_on.is_not(None), *conds, *dated_conds)
    undated = sa.select(ps.user_id, ps.program_id).where(
        ps.due_on.is_(None), *conds, *undated_conds
    )
    if after is not None and after.due_on is not None:
        dated = dated.where(
            sa.tuple_(ps.due_on, *keys) > sa.tuple_(after.due_on, after.user_id, after.program_id)
        )
    elif after is not None:
        dated = dated.where(sa.false())
        undated = undated.where(sa.tuple_(*keys) > sa.tuple_(after.user_id, after.program_id))
    first = dated.order_by(ps.due_on, *keys).limit(per_page + 1).subquery("dated")
    then = undated.order_by(*keys).limit(per_page + 1).subquery("undated")
    page = sa.union_all(sa.select(first), sa.select(then)).subquery("page")
    status_col = _status(today, window_days).label("status")
    stmt = (
        sa.select(
            User.id,
            User.name,
            User.job_title,
            User.job_titles,
            Department.name.label("department"),
            Department.names.label("department_names"),
            Program.id.label("program_id"),
            Program.code,
            ProgramVersion.title,
            status_col,
            ps.due_on,
            ps.completed_on,
        )
        .select_from(page)
        .join(ps, sa.and_(ps.user_id == page.c.user_id, ps.program_id == page.c.program_id))
        .join(User, User.id == ps.user_id)
        .outerjoin(Department, Department.id == ps.department_id)
        .join(Program, Program.id == ps.program_id)
        .outerjoin(ProgramVersion, ProgramVersion.id == Program.current_version_id)
        .order_by(sa.case((ps.due_on.is_(None), 1), else_=0), ps.due_on, ps.user_id, ps.program_id)
    )
    rows = list(session.execute(stmt))
    more = len(rows) > per_page
    rows = rows[:per_page]
    if not more or not rows:
        return rows, None
    last = rows[-1]
    return rows, Cursor(last.due_on, last.id, last.program_id)


EXPORT_BATCH = 10000  # rows of the drill-down read per statement by the exports


def people_export(
    session: DbSession,
    today: date,
    window_days: int,
    *,
    department_ids: Sequence[int] | None = None,
    program_id: int | None = None,
    status: str | None = None,
) -> Iterator[Any]:
    """Every row of the drill-down (for the exports), in the list's order, read a batch at a
    time with the list's own keyset pages: memory stays flat and no database cursor has to
    outlive the request's transaction while the response streams."""
    after: Cursor | None = None
    while True:
        rows, after = people_page(
            session,
            today,
            window_days,
            department_ids=department_ids,
            program_id=program_id,
            status=status,
            after=after,
            per_page=EXPORT_BATCH,
        )
        yield from rows
        if after is None:
            return


# ----- small reads of the other pages ----------------------------------------------------------
