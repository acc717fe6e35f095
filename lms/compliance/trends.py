"""The dashboard's charts from stored data: the share of pairs holding a valid completion in
each of the last months, and the expiries of the coming weeks (grouped queries, a bounded
number whatever the size of the organisation)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import sqlalchemy as sa

from lms.completions.models import Completion, Revocation
from lms.compliance.models import PersonStatus
from lms.compliance.queries import FAR, _in_scope, _root_map, _rows, _status
from lms.core.model import DbSession
from lms.core.sqlfuncs import to_date


def compliance_over_time(
    session: DbSession, points: list[date], current_id: int | None, child_ids: Sequence[int]
) -> dict[int | None, list[float]]:
    """Share of (person, required program) pairs holding a valid completion on each date, for
    each row of a level and (key None) for the whole level, from the completions' dates: two
    grouped queries over the stored pairs and their completions (no look-up per pair and
    point), whatever the number of points."""
    m = _root_map(current_id, child_ids)
    if not points:
        return {}
    months = sa.union_all(
        *[
            sa.select(sa.literal(i).label("i"), sa.literal(p, sa.Date).label("point"))
            for i, p in enumerate(points)
        ]
    ).subquery("points")
    ps = PersonStatus
    # each completion holds from its date to its last valid day: its expiry, or the day
    # before its revocation when that comes first ("for ever" as a far date)
    revoked = to_date(Revocation.revoked_at)
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
            m.c.root,
            Completion.completed_on.label("since"),
            sa.func.max(last_day)
            .over(partition_by=pair, order_by=order, rows=(None, 0))
            .label("held_until"),
            sa.func.lead(Completion.completed_on)
            .over(partition_by=pair, order_by=order)
            .label("next_since"),
        )
        .select_from(ps)
        .join(m, m.c.id == ps.department_id)
        .join(
            Completion,
            sa.and_(Completion.user_id == ps.user_id, Completion.program_id == ps.program_id),
        )
        .outerjoin(Revocation, Revocation.completion_id == Completion.id)
        .subquery("runs")
    )
    held = (
        sa.select(runs.c.root, months.c.i)
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
    per_row = sa.select(held.c.root, held.c.i, sa.func.count()).group_by(held.c.root, held.c.i)
    totals = (
        sa.select(m.c.root, sa.func.count())
        .select_from(ps)
        .join(m, m.c.id == ps.department_id)
        .group_by(m.c.root)
    )
    total: dict[int, int] = dict(_rows(session, totals))
    ok: dict[int, list[int]] = {root: [0] * len(points) for root in total}
    for root, i, n in _rows(session, per_row):
        ok.setdefault(root, [0] * len(points))[i] = n
    out: dict[int | None, list[float]] = {}
    whole_ok = [0] * len(points)
    for root, n in total.items():
        out[root] = [k / n if n else 0.0 for k in ok[root]]
        whole_ok = [a + b for a, b in zip(whole_ok, ok[root], strict=True)]
    whole = sum(total.values())
    out[None] = [k / whole if whole else 0.0 for k in whole_ok]
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
    status = _status(today, window_days)
    stmt = _in_scope(
        sa.select(ps.due_on, sa.func.count())
        .where(
            status.in_(("compliant", "due_soon")),
            ps.basis == "valid",
            ps.due_on >= today,
            ps.due_on < end,
        )
        .group_by(ps.due_on),
        department_ids,
    )
    counts = [0] * weeks
    for due, n in _rows(session, stmt):
        counts[(due - today).days // 7] += n
    return [(today + timedelta(weeks=i), n) for i, n in enumerate(counts)]
