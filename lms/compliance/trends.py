"""The dashboard's charts from stored data: the share of pairs holding a valid completion in
each of the last months, and the expiries of the coming weeks (grouped queries, a bounded
number whatever the size of the organisation).

The months' shares are monthly snapshots (``ComplianceSnapshot``: per department, its own people
and everyone below it, on the first day of each month), written once per closed month by the
daily job (lms.jobs) and backfilled from the completions' history when missing; the current
point is today's status counts (lms.compliance.counts)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta

from lms.accounts import services as accounts
from lms.accounts.models import Department
from lms.completions.models import Completion, Revocation
from lms.compliance import counts, engine
from lms.compliance.models import ComplianceSnapshot, PersonStatus
from lms.compliance.queries import FAR, _in_scope, _rows
from lms.core.clock import org_zone
from lms.core.model import DbSession
from lms.core.sqlfuncs import local_date


def _department_history(
    session: DbSession, points: Sequence[date]
) -> tuple[dict[int, int], dict[int, list[int]]]:
    """(pairs per department, pairs holding a valid completion per department on each point)
    over the stored pairs of people placed in a department, from the completions' dates: two
    grouped queries (no look-up per pair and point), whatever the number of points."""
    if not points:
        return {}, {}
    months = sa.union_all(
        *[
            sa.select(sa.literal(i).label("i"), sa.literal(p, sa.Date).label("point"))
            for i, p in enumerate(points)
        ]
    ).subquery("points")
    ps = PersonStatus
    # each completion holds from its date to its last valid day: its expiry, or the day
    # before its revocation when that comes first ("for ever" as a far date)
    revoked = local_date(Revocation.revoked_at, org_zone().key)
    day_before = (
        sa.func.date(revoked, "-1 day")
        if session.get_bind().dialect.name == "sqlite"
        else sa.cast(revoked - sa.literal(1), sa.Date)
    )
    far = sa.literal(FAR, sa.Date)
    last_day = sa.case(
        (sa.and_(Revocation.id.is_(None), Completion.expires_on.is_(None)), far),
        (Revocation.id.is_(None), Completion.expires_on),
        (Completion.expires_on.is_(None), day_before),
        (Completion.expires_on < day_before, Completion.expires_on),
        else_=day_before,
    )
    pair = (Completion.user_id, Completion.program_id)
    order = (Completion.completed_on, Completion.id)
    # per completion, in date order within its pair: the furthest last day of it and every
    # earlier one, and the date of the next one. A pair holds a valid completion on a day
    # exactly when its latest completion up to that day has a furthest last day on or after it
    runs = (
        sa.select(
            ps.department_id,
            Completion.completed_on.label("since"),
            sa.func.max(last_day)
            .over(partition_by=pair, order_by=order, rows=(None, 0))
            .label("held_until"),
            sa.func.lead(Completion.completed_on)
            .over(partition_by=pair, order_by=order)
            .label("next_since"),
        )
        .select_from(ps)
        .join(
            Completion,
            sa.and_(Completion.user_id == ps.user_id, Completion.program_id == ps.program_id),
        )
        .outerjoin(Revocation, Revocation.completion_id == Completion.id)
        .where(ps.department_id.is_not(None))
        .subquery("runs")
    )
    held = (
        sa.select(runs.c.department_id, months.c.i)
        .select_from(runs)
        .join(
            months,
            sa.and_(
                runs.c.since <= months.c.point,
                sa.or_(runs.c.next_since.is_(None), runs.c.next_since > months.c.point),
                runs.c.held_until >= months.c.point,
            ),
        )
        .subquery("held")
    )
    per_dept = sa.select(held.c.department_id, held.c.i, sa.func.count()).group_by(
        held.c.department_id, held.c.i
    )
    totals = (
        sa.select(ps.department_id, sa.func.count())
        .where(ps.department_id.is_not(None))
        .group_by(ps.department_id)
    )
    total: dict[int, int] = dict(_rows(session, totals))
    ok: dict[int, list[int]] = {dept: [0] * len(points) for dept in total}
    for dept, i, n in _rows(session, per_dept):
        ok.setdefault(dept, [0] * len(points))[i] = n
    return total, ok


def _parents(session: DbSession) -> dict[int, int | None]:
    return dict(_rows(session, sa.select(Department.id, Department.parent_id)))


def _roll_up(parents: dict[int, int | None], own: dict[int, list[int]]) -> dict[int, list[int]]:
    """{department: the sums of its own values and those of every department below it}."""
    out: dict[int, list[int]] = {}
    for dept, values in own.items():
        cur: int | None = dept
        seen: set[int] = set()
        while cur is not None and cur not in seen:
            seen.add(cur)
            acc = out.setdefault(cur, [0] * len(values))
            for j, v in enumerate(values):
                acc[j] += v
            cur = parents.get(cur)
    return out


def compliance_over_time(
    session: DbSession, points: list[date], current_id: int | None, child_ids: Sequence[int]
) -> dict[int | None, list[float]]:
    """Share of (person, required program) pairs holding a valid completion on each date, for
    each row of a level (the children with everything below them, the chosen department's own
    people) and (key None) for the whole level, recomputed from the completions' history."""
    if not points:
        return {}
    total, ok = _department_history(session, points)
    parents = _parents(session)
    tree_total = _roll_up(parents, {d: [n] for d, n in total.items()})
    tree_ok = _roll_up(parents, ok)
    rows: dict[int, tuple[int, list[int]]] = {
        c: (tree_total[c][0], tree_ok[c]) for c in child_ids if tree_total.get(c, [0])[0]
    }
    if current_id is not None and total.get(current_id):
        rows[current_id] = (total[current_id], ok[current_id])
    out: dict[int | None, list[float]] = {}
    whole_ok = [0] * len(points)
    for root, (n, held) in rows.items():
        out[root] = [k / n if n else 0.0 for k in held]
        whole_ok = [a + b for a, b in zip(whole_ok, held, strict=True)]
    whole = sum(n for n, _held in rows.values())
    out[None] = [k / whole if whole else 0.0 for k in whole_ok]
    return out


# ----- the monthly snapshots the dashboard reads -----------------------------------------------

WHOLE = 0  # the department id of the snapshot row of the whole organisation (also: "computed")


def month_points(today: date, months: int = 12) -> list[date]:
    """The chart's points: the first day of each of the last months, today last."""
    points = [today.replace(day=1) - relativedelta(months=i) for i in range(months - 1, -1, -1)]
    points[-1] = today
    return points


def fill_snapshots(session: DbSession, points: Sequence[date]) -> int:
    """Compute and store the points that have no snapshot yet (from the completions' history,
    all of them in one pass); returns how many were computed."""
    cs = ComplianceSnapshot
    have = set(
        session.execute(
            sa.select(cs.point).where(
                cs.point.in_(list(points)), cs.subtree == sa.true(), cs.department_id == WHOLE
            )
        ).scalars()
    )
    missing = sorted(p for p in set(points) if p not in have)
    if not missing:
        return 0
    total, ok = _department_history(session, missing)
    parents = _parents(session)
    own_total = {d: [n] for d, n in total.items()}
    tree_total = _roll_up(parents, own_total)
    tree_ok = _roll_up(parents, ok)
    values: list[dict[str, object]] = []
    for i, point in enumerate(missing):
        for subtree, totals, helds in ((False, own_total, ok), (True, tree_total, tree_ok)):
            for dept, (n,) in totals.items():
                values.append(
                    {
                        "point": point,
                        "subtree": subtree,
                        "department_id": dept,
                        "held": helds.get(dept, [0] * len(missing))[i],
                        "total": n,
                    }
                )
        values.append(
            {
                "point": point,
                "subtree": True,
                "department_id": WHOLE,
                "held": sum(v[i] for v in ok.values()),
                "total": sum(total.values()),
            }
        )
    for start in range(0, len(values), 2000):
        session.execute(
            counts.dialect_insert(session, cs)
            .values(values[start : start + 2000])
            .on_conflict_do_nothing()
        )
    return len(missing)


def rebuild_snapshots(session: DbSession, today: date) -> int:
    """Recompute every closed month's snapshot from the history (`flask lms rebuild-status`,
    the generator)."""
    session.execute(sa.delete(ComplianceSnapshot))
    return fill_snapshots(session, month_points(today)[:-1])


def keep_current(session: DbSession, today: date) -> None:
    """The daily work (lms.jobs): recount the status counts when the day moved on, record the
    month just closed (on the first day of a month, or later when the job missed it)."""
    counts.ensure_current(session, today)
    fill_snapshots(session, month_points(today)[:-1])


@accounts.on_structure_changed
def _tree_moved(session: DbSession) -> None:
    """A department moved: sum the snapshots again over the new tree (their own rows stay)."""
    cs = ComplianceSnapshot
    session.execute(sa.delete(cs).where(cs.subtree == sa.true(), cs.department_id != WHOLE))
    tree = engine.department_tree_cte()
    session.execute(
        sa.insert(cs).from_select(
            ["point", "subtree", "department_id", "held", "total"],
            sa.select(
                cs.point,
                sa.literal(True, sa.Boolean),
                tree.c.root,
                sa.func.sum(cs.held),
                sa.func.sum(cs.total),
            )
            .join(tree, tree.c.id == cs.department_id)
            .where(cs.subtree == sa.false())
            .group_by(cs.point, tree.c.root),
        )
    )


def history(
    session: DbSession,
    points: Sequence[date],
    current_id: int | None,
    child_ids: Sequence[int],
    today_cells: dict[tuple[int | None, int], Any],
) -> dict[int | None, list[float]]:
    """The dashboard's history of a level: the closed months from the stored snapshots
    (computed and stored once when missing), the last point (today) from today's counts
    (compliant or due soon, over all). Keys as compliance_over_time's."""
    closed = list(points[:-1])
    fill_snapshots(session, closed)
    now: dict[int, list[int]] = {}  # row -> [held, total] today
    for (root, _pid), cell in today_cells.items():
        if root is None:
            continue
        acc = now.setdefault(root, [0, 0])
        acc[0] += cell.counts.get("compliant", 0) + cell.counts.get("due_soon", 0)
        acc[1] += cell.total
    cs = ComplianceSnapshot
    conds = [sa.and_(cs.subtree == sa.true(), cs.department_id.in_(list(child_ids) or [-1]))]
    if current_id is not None:
        conds.append(sa.and_(cs.subtree == sa.false(), cs.department_id == current_id))
    index = {p: i for i, p in enumerate(closed)}
    past: dict[int, list[tuple[int, int]]] = {}
    for point, dept, held, total in _rows(
        session,
        sa.select(cs.point, cs.department_id, cs.held, cs.total).where(
            cs.point.in_(closed), sa.or_(*conds)
        ),
    ):
        past.setdefault(dept, [(0, 0)] * len(closed))[index[point]] = (held, total)
    out: dict[int | None, list[float]] = {}
    whole = [[0, 0] for _p in points]
    for root, (held_now, total_now) in now.items():
        if not total_now:
            continue
        line = [*past.get(root, [(0, 0)] * len(closed)), (held_now, total_now)]
        out[root] = [h / t if t else 0.0 for h, t in line]
        for j, (h, t) in enumerate(line):
            whole[j][0] += h
            whole[j][1] += t
    out[None] = [h / t if t else 0.0 for h, t in whole]
    return out


def upcoming_expiries(
    session: DbSession,
    today: date,
    window_days: int,
    weeks: int = 12,
    department_ids: Sequence[int] | None = None,
) -> list[tuple[date, int]]:
    """How many valid completions of required programs expire in each coming week (one
    grouped query: a row per day at most)."""
    ps = PersonStatus
    end = today + timedelta(weeks=weeks)
    # a valid completion's due date is its expiry: from today on it is compliant or due soon
    # (whatever the window), so the range alone selects them, read from an index
    # (ix_person_program_status_expiry) without the table's rows
    stmt = _in_scope(
        sa.select(ps.due_on, sa.func.count())
        .where(ps.basis == "valid", ps.due_on >= today, ps.due_on < end)
        .group_by(ps.due_on),
        department_ids,
    )
    counts = [0] * weeks
    for due, n in _rows(session, stmt):
        counts[(due - today).days // 7] += n
    return [(today + timedelta(weeks=i), n) for i, n in enumerate(counts)]
