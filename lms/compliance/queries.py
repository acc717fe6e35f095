"""Reads for the compliance pages: the matrix, the dashboard, drill-down lists and exports.

Every figure is read from the stored status (``person_program_status``, kept current by
lms.compliance.status): counts come from grouped queries, never from a status computed per
person. Pages show one level of the department tree at a time (the children of the chosen
department, each counted over everything below it) and lists of people a page at a time with
keyset pagination, so that the number of statements and the size of a page do not grow with
the number of employees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.accounts.models import Department, User
from lms.accounts.services import subtree_ids
from lms.compliance import counts, engine
from lms.compliance.models import PersonStatus, Requirement, UnscheduledBriefing
from lms.core.errors import DomainError
from lms.core.model import DbSession
from lms.programs.models import Program, ProgramVersion

STATUS_ORDER = ("overdue", "flagged", "never_trained", "due_soon", "compliant")
ROWS_PER_PAGE = 25  # department rows of the matrix (a screenful)
PEOPLE_PER_PAGE = 50  # rows of a drill-down list
HISTORY_LINES = 7  # departments drawn in the 12-month chart besides the whole
FAR = date(9999, 12, 31)  # "valid for ever" in date comparisons


@dataclass
class Cell:
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def share(self) -> float | None:
        return self.counts.get("compliant", 0) / self.total if self.total else None

    def add(self, status: str, n: int) -> None:
        self.counts[status] = self.counts.get(status, 0) + n


# ----- where the viewer stands in the department tree ---------------------------------------


def visible_department_ids(session: DbSession, user: Any) -> list[int] | None:
    """None for everyone; a manager without admin/auditor rights sees their own subtree."""
    if user.has_role("admin") or user.has_role("auditor") or user.has_role("instructor"):
        return None
    if user.department_id is None:
        return []
    return subtree_ids(session, user.department_id)


@dataclass
class Row:
    """A row of the matrix: a department counted over its subtree, or (own) only the people
    placed directly in it."""

    department: Department
    own: bool = False
    has_children: bool = False


@dataclass
class Level:
    """One level of the department tree: the chosen department (None: the top), the way down
    to it, and the departments right below it (the rows)."""

    current: Department | None
    path: list[Department]
    children: list[Department]
    allowed: set[int] | None
    kids: dict[int | None, list[int]]  # the whole tree: department ids below each, by name

    @property
    def scope(self) -> list[int] | None:
        """Every department id the level covers (None: everything)."""
        if self.current is None:
            return None if self.allowed is None else sorted(self.allowed)
        return self.subtree(self.current.id)

    def subtree(self, department_id: int) -> list[int]:
        out, stack = [], [department_id]
        while stack:
            cur = stack.pop()
            out.append(cur)
            stack.extend(self.kids.get(cur, []))
        return out

    def rows(self) -> list[Row]:
        rows = [Row(self.current, own=True)] if self.current is not None else []
        rows += [Row(d, has_children=bool(self.kids.get(d.id))) for d in self.children]
        return rows

    def choices(self, shown: Sequence[Department] | None = None) -> list[tuple[Department, int]]:
        """The department filter: the way down and the departments right below (those
        shown, when a page shows some of them): a screenful, not the whole tree."""
        out = [(d, depth) for depth, d in enumerate(self.path)]
        if self.current is not None:
            out.append((self.current, len(self.path)))
        depth = len(out)
        below = self.children if shown is None else shown
        return out + [(d, depth) for d in below]


def level(session: DbSession, viewer: Any, department_id: int | None) -> Level:
    """The level the viewer asked for: the tree's shape as (id, parent) pairs, then only the
    departments the level shows (the way down and the rows) as objects: two statements."""
    parent_of: dict[int, int | None] = {}
    kids: dict[int | None, list[int]] = {}
    for did, parent_id in session.execute(
        sa.select(Department.id, Department.parent_id).order_by(Department.name, Department.id)
    ):
        parent_of[did] = parent_id
        kids.setdefault(parent_id, []).append(did)
    allowed_list = visible_department_ids(session, viewer)
    allowed = None if allowed_list is None else set(allowed_list)
    current_id = department_id if department_id in parent_of else None
    if current_id is not None and allowed is not None and current_id not in allowed:
        current_id = None
    path_ids: list[int] = []
    if current_id is not None:
        up = parent_of.get(current_id)
        while up is not None and (allowed is None or up in allowed):
            path_ids.insert(0, up)
            up = parent_of.get(up)
    if current_id is not None:
        child_ids = kids.get(current_id, [])
    elif allowed is None:
        child_ids = kids.get(None, [])
    else:  # a manager at the top of their view: the highest departments they may see
        child_ids = [d for d in parent_of if d in allowed and parent_of[d] not in allowed]
    wanted = [*path_ids, *([current_id] if current_id is not None else []), *child_ids]
    by_id = {
        d.id: d
        for d in session.execute(
            sa.select(Department).where(Department.id.in_(wanted or [-1]))
        ).scalars()
    }
    return Level(
        by_id[current_id] if current_id is not None else None,
        [by_id[i] for i in path_ids],
        [by_id[i] for i in child_ids],
        allowed,
        kids,
    )


def after_position(items: Sequence[Any], after: str | None, key: Any) -> int:
    """Where a page continues: the index after the item whose key is ``after`` (0 without a
    cursor); a cursor that names no item is a 400 (the link is out of date or made up)."""
    if not after:
        return 0
    for i, item in enumerate(items):
        if str(key(item)) == after:
            return i + 1
    raise DomainError(_("This page link is not valid any more: start from the first page."))


# ----- counts from the stored status ---------------------------------------------------------


def _rows(session: DbSession, stmt: Any) -> list[Any]:
    """The rows of a grouped query (tuples, typed loosely)."""
    return list(session.execute(stmt).all())


def _status(today: date, window_days: int) -> Any:
    ps = PersonStatus
    return engine.status_on(ps.basis, ps.valid_until, ps.due_on, today, window_days)


def _in_scope(stmt: Any, department_ids: Sequence[int] | None) -> Any:
    if department_ids is not None:
        stmt = stmt.where(PersonStatus.department_id.in_(list(department_ids)))
    return stmt


def _root_map(current_id: int | None, child_ids: Sequence[int]) -> Any:
    """(root, id): each department of the rows with every department below it; the chosen
    department itself maps only to itself (its own people)."""
    tree = engine.department_tree_cte()
    parts: list[Any] = [
        sa.select(tree.c.root, tree.c.id).where(tree.c.root.in_(list(child_ids) or [-1]))
    ]
    if current_id is not None:
        parts.append(sa.select(sa.literal(current_id).label("root"), sa.literal(current_id)))
    return sa.union_all(*parts).subquery("rows_map")


def level_counts(
    session: DbSession,
    today: date,
    window_days: int,
    current_id: int | None,
    child_ids: Sequence[int],
    *,
    everyone: bool = False,
) -> dict[tuple[int | None, int], Cell]:
    """{(row department id, program id): Cell} for the rows of a level; with ``everyone`` also
    the people without a department (key None). The default window reads the status counts
    kept current (lms.compliance.counts: a level's rows, recounted first when the day moved
    on); another window counts the stored status in one grouped query."""
    cells: dict[tuple[int | None, int], Cell] = {}
    if window_days == counts.WINDOW_DAYS:
        counts.ensure_current(session, today)
        for key, pid, st, n in counts.level_rows(session, current_id, child_ids, everyone=everyone):
            cells.setdefault((key, pid), Cell()).add(st, n)
        return cells
    return live_level_counts(session, today, window_days, current_id, child_ids, everyone=everyone)


def live_level_counts(
    session: DbSession,
    today: date,
    window_days: int,
    current_id: int | None,
    child_ids: Sequence[int],
    *,
    everyone: bool = False,
) -> dict[tuple[int | None, int], Cell]:
    """level_counts from the stored status itself: one grouped query over every stored row
    of the level (any window)."""
    cells: dict[tuple[int | None, int], Cell] = {}
    m = _root_map(current_id, child_ids)
    # grouped by the status's label (PostgreSQL would not match the repeated expression)
    rows = (
        sa.select(m.c.root, PersonStatus.program_id, _status(today, window_days).label("status"))
        .select_from(PersonStatus)
        .join(m, m.c.id == PersonStatus.department_id, isouter=everyone)
        .subquery("counted")
    )
    stmt = sa.select(rows.c.root, rows.c.program_id, rows.c.status, sa.func.count()).group_by(
        rows.c.root, rows.c.program_id, rows.c.status
    )
    for root, pid, st, n in _rows(session, stmt):
        cells.setdefault((root, pid), Cell()).add(st, n)
    return cells


def status_totals(totals: dict[int, Cell]) -> dict[str, int]:
    """{status: count} summed over programs."""
    out: dict[str, int] = {}
    for cell in totals.values():
        for st, n in cell.counts.items():
            out[st] = out.get(st, 0) + n
    return out


@dataclass(frozen=True)
class ProgramHead:
    """A program as a column of the matrix: its code and its current version's title."""

    id: int
    code: str
    title: Any


@dataclass
class Matrix:
    level: Level
    rows: list[Row]
    programs: list[ProgramHead]
    cells: dict[tuple[int | None, int], Cell]
    totals: dict[int, Cell]
    next_after: int | None = None

    @property
    def departments(self) -> list[tuple[Department, int]]:
        return [(r.department, 0) for r in self.rows]

    def views(self, shade: Any) -> dict[tuple[int | None, int], tuple[str, int, int, int]]:
        """What a page prints of each cell, computed once: {(row, program): (shade of the
        share, percent compliant, compliant, total)} (a dict lookup per cell in templates)."""
        out = {}
        for key, cell in self.cells.items():
            total = cell.total
            if total:
                ok = cell.counts.get("compliant", 0)
                out[key] = (shade(ok / total), int(round(ok / total * 100)), ok, total)
        return out


def build_matrix(
    session: DbSession,
    lv: Level,
    today: date,
    window_days: int,
    *,
    category: str | None = None,
    after: str | None = None,
    per_page: int | None = ROWS_PER_PAGE,
) -> Matrix:
    """The matrix of one level: its rows (a page of them) by the programs anyone in scope must
    hold, with the counts of each status, from one grouped query over the stored status."""
    current_id = lv.current.id if lv.current is not None else None
    cells = level_counts(
        session,
        today,
        window_days,
        current_id,
        [d.id for d in lv.children],
        everyone=lv.current is None and lv.allowed is None,
    )
    totals: dict[int, Cell] = {}
    for (_root, pid), cell in cells.items():
        agg = totals.setdefault(pid, Cell())
        for st, n in cell.counts.items():
            agg.add(st, n)
    # the column heads: code and title, no program or version objects
    stmt = (
        sa.select(Program.id, Program.code, ProgramVersion.title)
        .outerjoin(ProgramVersion, ProgramVersion.id == Program.current_version_id)
        .where(Program.id.in_(list(totals) or [-1]))
        .order_by(Program.code)
    )
    if category:
        stmt = stmt.where(Program.category == category)
    programs = [ProgramHead(pid, code, title) for pid, code, title in session.execute(stmt)]
    wanted = {p.id for p in programs}
    start = after_position(lv.children, after, lambda d: d.id)
    rows = lv.rows()
    own = [r for r in rows if r.own and start == 0]
    children = [r for r in rows if not r.own]
    shown = children[start : start + per_page] if per_page else children[start:]
    more = per_page is not None and start + per_page < len(children)
    page_rows = [r for r in own if any((r.department.id, p) in cells for p in wanted)] + shown
    return Matrix(
        lv,
        page_rows,
        programs,
        {k: c for k, c in cells.items() if k[1] in wanted and k[0] is not None},
        {pid: c for pid, c in totals.items() if pid in wanted},
        shown[-1].department.id if more and shown else None,
    )


def matrix_export_rows(
    session: DbSession, today: date, window_days: int, department_ids: Sequence[int] | None
) -> list[tuple[str, str, dict[str, int]]]:
    """(department name, program code, {status: count}) for every department of the scope
    that anyone must train in (not rolled up), from one grouped query."""
    rows = _in_scope(
        sa.select(
            Department.id,
            Department.name,
            Program.code,
            _status(today, window_days).label("status"),
        )
        .select_from(PersonStatus)
        .join(Department, Department.id == PersonStatus.department_id)
        .join(Program, Program.id == PersonStatus.program_id),
        department_ids,
    ).subquery("counted")
    stmt = (
        sa.select(rows.c.name, rows.c.code, rows.c.status, sa.func.count())
        .group_by(rows.c.name, rows.c.id, rows.c.code, rows.c.status)
        .order_by(rows.c.name, rows.c.id, rows.c.code)
    )
    out: list[tuple[str, str, dict[str, int]]] = []
    key: tuple[str, str] | None = None
    for name, code, st, n in _rows(session, stmt):
        if key != (name, code):
            key = (name, code)
            out.append((name, code, {}))
        out[-1][2][st] = n
    return out


def approved_programs(session: DbSession) -> list[Program]:
    """Programs with an approved version, by code."""
    return list(
        session.execute(
            sa.select(Program).where(Program.current_version_id.is_not(None)).order_by(Program.code)
        ).scalars()
    )


def department_names(session) -> dict[int, str]:
    return {d.id: d.local_name for d in session.execute(sa.select(Department)).scalars()}


def program_codes(session: DbSession) -> list[tuple[int, str]]:
    """(id, code) of the programs with an approved version: the program filter."""
    return [
        (pid, code)
        for pid, code in session.execute(
            sa.select(Program.id, Program.code)
            .where(Program.current_version_id.is_not(None))
            .order_by(Program.code)
        )
    ]


def active_requirements(session: DbSession) -> list[Requirement]:
    return list(
        session.execute(
            sa.select(Requirement)
            .where(Requirement.active.is_(True))
            .order_by(Requirement.program_id, Requirement.id)
        ).scalars()
    )


def recent_unscheduled(session: DbSession, limit: int = 50) -> list[UnscheduledBriefing]:
    return list(
        session.execute(
            sa.select(UnscheduledBriefing).order_by(UnscheduledBriefing.since.desc()).limit(limit)
        ).scalars()
    )


def person(session: DbSession, user_id: int | None) -> User | None:
    return session.get(User, user_id) if user_id else None


def program(session: DbSession, program_id: int | None) -> Program | None:
    return session.get(Program, program_id) if program_id else None


def requirement(session: DbSession, req_id: int) -> Requirement | None:
    return session.get(Requirement, req_id)
