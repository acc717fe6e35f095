"""Status counts kept current: how many stored statuses of each program are in each status, per
department (its own people, and everyone at or below it), on one day with the default due-soon
window.

lms.compliance.status.refresh() applies the difference of every change of the stored status in
the same transaction (`apply_difference`); `rebuild` recounts everything (a full refresh, a
department moved in the tree, the day moved on: `ensure_current`, run by the daily job and, when
it has not run, by the first page that needs the counts). The matrix and the dashboard read a
level's rows (`level_rows`): a few hundred, whatever the number of people. `verify` compares
them with a recount.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lms.accounts.models import Department
from lms.compliance import engine
from lms.compliance.models import PersonStatus, StatusCount, StatusCountsDay

NO_DEPARTMENT = 0  # the department id of the people placed in none
WINDOW_DAYS = engine.DEFAULT_WINDOW_DAYS
NEVER = date(1970, 1, 1)  # the day of counts not counted yet

Key = tuple[bool, int, int, str]  # (subtree, department id, program id, status)


def _status(as_of: date, window_days: int) -> Any:
    ps = PersonStatus
    return engine.status_on(ps.basis, ps.valid_until, ps.due_on, as_of, window_days)


def _own_select(where: Any, as_of: date, window_days: int) -> Any:
    """(department id or 0, program id, status, count) of the stored rows matching ``where``."""
    ps = PersonStatus
    rows = (
        sa.select(
            sa.func.coalesce(ps.department_id, NO_DEPARTMENT).label("department_id"),
            ps.program_id,
            _status(as_of, window_days).label("status"),
        )
        .where(where)
        .subquery("counted")
    )
    return sa.select(
        rows.c.department_id, rows.c.program_id, rows.c.status, sa.func.count().label("n")
    ).group_by(rows.c.department_id, rows.c.program_id, rows.c.status)


def _tree_select(as_of: date, window_days: int) -> Any:
    """(department id, program id, status, count) of everyone at or below each department."""
    ps = PersonStatus
    tree = engine.department_tree_cte()
    rows = (
        sa.select(
            tree.c.root.label("department_id"),
            ps.program_id,
            _status(as_of, window_days).label("status"),
        )
        .select_from(ps)
        .join(tree, tree.c.id == ps.department_id)
        .subquery("counted")
    )
    return sa.select(
        rows.c.department_id, rows.c.program_id, rows.c.status, sa.func.count().label("n")
    ).group_by(rows.c.department_id, rows.c.program_id, rows.c.status)


def _day(session: Any, *, lock: bool = False, shared: bool = False) -> StatusCountsDay | None:
    stmt = sa.select(StatusCountsDay).where(StatusCountsDay.id == 1)
    if lock or shared:  # PostgreSQL: a rebuild waits for refreshes and the other way round
        # and the row as it is now, not as this session read it before the wait
        stmt = stmt.with_for_update(read=shared).execution_options(populate_existing=True)
    return session.execute(stmt).scalar_one_or_none()


def dialect_insert(session: Any, model: Any) -> Any:
    """An INSERT that can take ON CONFLICT (SQLite or PostgreSQL, as the session's)."""
    name = session.get_bind().dialect.name
    return (pg_insert if name == "postgresql" else sqlite_insert)(model)


def rebuild(
    session: Any, today: date, window_days: int = WINDOW_DAYS, *, unless_current: bool = False
) -> None:
    """Recount every row from the stored status (a DELETE and two INSERT ... SELECT), for
    ``today``; with ``unless_current``, not when another transaction recounted them for that
    day while this one waited for the lock (PostgreSQL: two first pages of a day)."""
    session.flush()
    day = _day(session, lock=True)
    if day is None:
        session.execute(
            dialect_insert(session, StatusCountsDay)
            .values(id=1, as_of=NEVER, window_days=window_days)  # set below
            .on_conflict_do_nothing()
        )
        day = _day(session, lock=True)
    assert day is not None
    if unless_current and (day.as_of, day.window_days) == (today, window_days):
        return
    session.execute(sa.delete(StatusCount))
    columns = ["subtree", "department_id", "program_id", "status", "n"]
    for subtree, grouped in (
        (False, _own_select(sa.true(), today, window_days)),
        (True, _tree_select(today, window_days)),
    ):
        inner = grouped.subquery("grouped")
        session.execute(
            sa.insert(StatusCount).from_select(
                columns,
                sa.select(
                    sa.literal(subtree, sa.Boolean),
                    inner.c.department_id,
                    inner.c.program_id,
                    inner.c.status,
                    inner.c.n,
                ),
            )
        )
    day.as_of, day.window_days = today, window_days
    session.flush()


def ensure_current(session: Any, today: date) -> None:
    """Recount when the counts hold another day (the day moved on: due soon and overdue
    shift) or were never counted; nothing otherwise (one primary-key read)."""
    day = _day(session)
    if day is not None and day.as_of == today and day.window_days == WINDOW_DAYS:
        return
    rebuild(session, today, unless_current=True)


def current_day(session: Any) -> date | None:
    day = _day(session)
    return day.as_of if day is not None and day.window_days == WINDOW_DAYS else None


def grouped_of(session: Any, where: Any, as_of: date, window_days: int) -> dict[Key, int]:
    """{(False, department, program, status): count} of the stored rows matching ``where``."""
    return {
        (False, dept, pid, st): n
        for dept, pid, st, n in session.execute(_own_select(where, as_of, window_days))
    }


def before_change(session: Any, where: Any) -> tuple[StatusCountsDay, dict[Key, int]] | None:
    """The counts of a refresh's scope before it replaces the rows (None when no counts are
    kept yet: the first page counts them)."""
    day = _day(session, shared=True)
    if day is None:
        return None
    return day, grouped_of(session, where, day.as_of, day.window_days)


def after_change(
    session: Any, where: Any, before: tuple[StatusCountsDay, dict[Key, int]] | None
) -> None:
    """Apply the difference between the scope's counts now and ``before`` to the rows of the
    departments concerned and of every department above them."""
    if before is None:
        return
    day, old = before
    new = grouped_of(session, where, day.as_of, day.window_days)
    diff: dict[Key, int] = {}
    for key in set(old) | set(new):
        d = new.get(key, 0) - old.get(key, 0)
        if d:
            diff[key] = d
    if not diff:
        return
    depts = {dept for _s, dept, _p, _st in diff if dept != NO_DEPARTMENT}
    above = ancestors(session, depts)
    for (_s, dept, pid, st), d in list(diff.items()):
        for anc in above.get(dept, ()):
            key = (True, anc, pid, st)
            diff[key] = diff.get(key, 0) + d
    add(session, diff)


def ancestors(session: Any, department_ids: set[int]) -> dict[int, list[int]]:
    """{department id: itself and every department above it}, one recursive statement."""
    if not department_ids:
        return {}
    up = (
        sa.select(Department.id.label("dept"), Department.id.label("anc"))
        .where(Department.id.in_(sorted(department_ids)))
        .cte("up", recursive=True)
    )
    parent = sa.orm.aliased(Department)
    up = up.union_all(
        sa.select(up.c.dept, parent.parent_id)
        .join(parent, parent.id == up.c.anc)
        .where(parent.parent_id.is_not(None))
    )
    out: dict[int, list[int]] = {}
    for dept, anc in session.execute(sa.select(up.c.dept, up.c.anc)):
        out.setdefault(dept, []).append(anc)
    return out


def add(session: Any, diff: dict[Key, int]) -> None:
    """Add each difference to its row (a portable upsert, in key order: concurrent
    transactions lock the same rows in the same order)."""
    if not diff:
        return
    ins = dialect_insert(session, StatusCount)
    values = [
        {"subtree": s, "department_id": dept, "program_id": pid, "status": st, "n": n}
        for (s, dept, pid, st), n in sorted(diff.items())
    ]
    session.execute(
        ins.values(values).on_conflict_do_update(
            index_elements=["subtree", "department_id", "program_id", "status"],
            set_={"n": StatusCount.n + ins.excluded.n},
        )
    )


def level_rows(
    session: Any, current_id: int | None, child_ids: Sequence[int], *, everyone: bool
) -> list[tuple[int | None, int, str, int]]:
    """(row key, program id, status, count) of a matrix level: each child department with
    everything below it, the chosen department's own people (key: its id) and, with
    ``everyone``, the people without a department (key None)."""
    sc = StatusCount
    conds = [sa.and_(sc.subtree == sa.true(), sc.department_id.in_(list(child_ids) or [-1]))]
    if current_id is not None:
        conds.append(sa.and_(sc.subtree == sa.false(), sc.department_id == current_id))
    if everyone:
        conds.append(sa.and_(sc.subtree == sa.false(), sc.department_id == NO_DEPARTMENT))
    out: list[tuple[int | None, int, str, int]] = []
    for subtree, dept, pid, st, n in session.execute(
        sa.select(sc.subtree, sc.department_id, sc.program_id, sc.status, sc.n).where(
            sa.or_(*conds), sc.n > 0
        )
    ):
        key = None if (not subtree and dept == NO_DEPARTMENT) else dept
        out.append((key, pid, st, n))
    return out


def verify(session: Any) -> list[str]:
    """Each stored count that differs from a recount of the stored status, named; [] when
    they agree (or none are kept yet)."""
    day = _day(session)
    if day is None:
        return []
    recount: dict[Key, int] = {}
    for subtree, grouped in (
        (False, _own_select(sa.true(), day.as_of, day.window_days)),
        (True, _tree_select(day.as_of, day.window_days)),
    ):
        for dept, pid, st, n in session.execute(grouped):
            recount[(subtree, dept, pid, st)] = n
    stored: dict[Key, int] = {
        (s, dept, pid, st): n
        for s, dept, pid, st, n in session.execute(
            sa.select(
                StatusCount.subtree,
                StatusCount.department_id,
                StatusCount.program_id,
                StatusCount.status,
                StatusCount.n,
            ).where(StatusCount.n != 0)
        )
    }
    wrong = []
    for key in sorted(set(recount) | set(stored)):
        if recount.get(key, 0) != stored.get(key, 0):
            subtree, dept, pid, st = key
            where = "at or below" if subtree else "directly in"
            wrong.append(
                f"department #{dept} ({where}), program #{pid}, {st} on {day.as_of}: "
                f"stored {stored.get(key, 0)}, recounted {recount.get(key, 0)}"
            )
    return wrong
