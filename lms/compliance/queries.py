"""Reads for the compliance pages: the matrix, drill-down lists and exports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from lms.accounts.models import Department, User
from lms.accounts.services import department_tree, subtree_ids
from lms.compliance import engine
from lms.compliance.models import Requirement, UnscheduledBriefing
from lms.programs.models import Program, ProgramVersion

STATUS_ORDER = ("overdue", "flagged", "never_trained", "due_soon", "compliant")


@dataclass
class Cell:
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def share(self) -> float | None:
        return self.counts.get("compliant", 0) / self.total if self.total else None


@dataclass
class Matrix:
    departments: list[tuple[Department, int]]
    programs: list[Program]
    cells: dict[tuple[int | None, int], Cell]
    totals: dict[int, Cell]


def visible_department_ids(session, user) -> list[int] | None:
    """None for everyone; a manager without admin/auditor rights sees their own subtree."""
    if user.has_role("admin") or user.has_role("auditor") or user.has_role("instructor"):
        return None
    if user.department_id is None:
        return []
    return subtree_ids(session, user.department_id)


def build_matrix(
    session,
    today: date,
    window_days: int,
    department_ids: list[int] | None = None,
    category: str | None = None,
) -> Matrix:
    scope = engine.Scope(
        department_ids=tuple(department_ids) if department_ids is not None else None
    )
    counts = engine.matrix_counts(session, today, window_days, scope)
    program_ids = {pid for (_d, pid) in counts}
    stmt = (
        sa.select(Program)
        .where(Program.id.in_(program_ids))
        .order_by(Program.code)
        .options(sa.orm.selectinload(Program.current_version))
    )
    if category:
        stmt = stmt.where(Program.category == category)
    programs = list(session.execute(stmt).scalars())
    wanted = {p.id for p in programs}
    cells = {key: Cell(v) for key, v in counts.items() if key[1] in wanted}
    depts = [
        (d, depth)
        for d, depth in department_tree(session)
        if department_ids is None or d.id in department_ids
    ]
    totals: dict[int, Cell] = {}
    for (_d, pid), cell in cells.items():
        agg = totals.setdefault(pid, Cell({}))
        for k, v in cell.counts.items():
            agg.counts[k] = agg.counts.get(k, 0) + v
    return Matrix(depts, programs, cells, totals)


def people_select(
    session,
    today: date,
    window_days: int,
    *,
    department_ids=None,
    program_id: int | None = None,
    status: str | None = None,
):
    """Drill-down rows: person, department, program, status, due date, last completion."""
    scope = engine.Scope(
        department_ids=tuple(department_ids) if department_ids is not None else None,
        program_ids=(program_id,) if program_id else None,
    )
    s = engine.status_select(session, today, window_days, scope).subquery("s")
    order = sa.case({st: i for i, st in enumerate(STATUS_ORDER)}, value=s.c.status)
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
            s.c.status,
            s.c.due_on,
            s.c.completed_on,
        )
        .select_from(s)
        .join(User, User.id == s.c.user_id)
        .outerjoin(Department, Department.id == User.department_id)
        .join(Program, Program.id == s.c.program_id)
        .join(ProgramVersion, ProgramVersion.id == Program.current_version_id)
        .order_by(order, s.c.due_on, User.name)
    )
    if status in STATUS_ORDER:
        stmt = stmt.where(s.c.status == status)
    return stmt


def approved_programs(session) -> list[Program]:
    """Programs with an approved version, by code."""
    return list(
        session.execute(
            sa.select(Program).where(Program.current_version_id.is_not(None)).order_by(Program.code)
        ).scalars()
    )


def department_names(session) -> dict[int, str]:
    return {d.id: d.local_name for d in session.execute(sa.select(Department)).scalars()}


def active_requirements(session) -> list[Requirement]:
    return list(
        session.execute(
            sa.select(Requirement)
            .where(Requirement.active.is_(True))
            .order_by(Requirement.program_id, Requirement.id)
        ).scalars()
    )


def recent_unscheduled(session, limit: int = 50) -> list[UnscheduledBriefing]:
    return list(
        session.execute(
            sa.select(UnscheduledBriefing).order_by(UnscheduledBriefing.since.desc()).limit(limit)
        ).scalars()
    )
