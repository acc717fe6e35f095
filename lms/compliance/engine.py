"""The status engine: for every (person, required program) one status, in a few SQL queries.

Statuses: compliant, due_soon (within the window), overdue, never_trained, flagged (a cascade
lapse: the person's training was revoked because their trainer's was). No per-person loops:
requirements are expanded to (department, job title) scope rows, joined to people, and the
completion that counts for each person and program is picked by index or by window (per database).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from lms.accounts.models import Department, User
from lms.completions.models import Completion, Revocation
from lms.compliance.models import PersonStatus, Requirement, UnscheduledBriefing
from lms.core.clock import org_zone
from lms.core.sqlfuncs import add_months, local_date
from lms.programs.models import Program
from lms.sessions.models import TrainingSession
from lms.sessions.scheduling import NOT_A_REFRESHER

DEFAULT_WINDOW_DAYS = 30


@dataclass(frozen=True)
class Scope:
    department_ids: tuple[int, ...] | None = None  # None: every department
    program_ids: tuple[int, ...] | None = None
    user_ids: tuple[int, ...] | None = None


def department_tree_cte():
    """(root, id): every department with each department at or below it (recursive)."""
    tree = sa.select(Department.id.label("root"), Department.id.label("id")).cte(
        "dept_tree", recursive=True
    )
    child = sa.orm.aliased(Department)
    return tree.union_all(
        sa.select(tree.c.root, child.id).join(child, child.parent_id == tree.c.id)
    )


def _narrow(stmt, scope: Scope):
    if scope.department_ids is not None:
        stmt = stmt.where(User.department_id.in_(scope.department_ids))
    if scope.program_ids is not None:
        stmt = stmt.where(Requirement.program_id.in_(scope.program_ids))
    if scope.user_ids is not None:
        stmt = stmt.where(User.id.in_(scope.user_ids))
    return stmt


def pairs_subquery(session, scope: Scope):
    """(user_id, program_id, interval override) for every active person and required program.

    A requirement for a department covers the departments below it; one without a department
    covers everyone; a job title narrows it. Several requirements: the shortest interval wins.
    """
    tree = department_tree_cte()
    live = sa.and_(
        Requirement.active.is_(True),
        Program.current_version_id.is_not(None),
        User.active.is_(True),
        sa.or_(
            Requirement.job_title.is_(None),
            sa.func.lower(User.job_title) == sa.func.lower(Requirement.job_title),
        ),
    )
    cols = (
        User.id.label("user_id"),
        Requirement.program_id.label("program_id"),
        Requirement.interval_months.label("months"),
    )
    everyone = (
        sa.select(*cols)
        .select_from(Requirement)
        .join(Program, Program.id == Requirement.program_id)
        .join(User, sa.true())
        .where(live, Requirement.department_id.is_(None))
    )
    by_department = (
        sa.select(*cols)
        .select_from(Requirement)
        .join(Program, Program.id == Requirement.program_id)
        .join(tree, tree.c.root == Requirement.department_id)
        .join(User, User.department_id == tree.c.id)
        .where(live)
    )
    everyone, by_department = (_narrow(everyone, scope), _narrow(by_department, scope))
    both = sa.union_all(everyone, by_department).subquery("req_people")
    return (
        sa.select(
            both.c.user_id, both.c.program_id, sa.func.min(both.c.months).label("override_months")
        )
        .group_by(both.c.user_id, both.c.program_id)
        .subquery("pairs")
    )


def _per_pair(session) -> bool:
    """How to find the completion that counts: SQLite is fastest with an index look-up per
    (person, program) pair, PostgreSQL with one window over the completions and a hash join."""
    return session.get_bind().dialect.name == "sqlite"


def _counts(completion) -> sa.ColumnElement[bool]:
    """A completion counts for the status unless earned at a targeted or thematic briefing
    event (those answer no periodic or unscheduled due)."""
    return ~sa.exists().where(
        TrainingSession.id == completion.session_id,
        TrainingSession.briefing_type.in_(NOT_A_REFRESHER),
    )


def _pick_completions(session, pairs, scope: Scope):
    """(user_id, program_id, override_months, completion_id) for every pair: the completion
    that counts is the newest not revoked one, else the newest revoked one (ties: higher id)."""
    newest_first = (Completion.completed_on.desc(), Completion.id.desc())
    if _per_pair(session):
        mine = sa.orm.aliased(Completion)
        withdrawn = sa.orm.aliased(Revocation)
        latest_id = (
            sa.select(mine.id)
            .outerjoin(withdrawn, withdrawn.completion_id == mine.id)
            .where(
                mine.user_id == pairs.c.user_id,
                mine.program_id == pairs.c.program_id,
                _counts(mine),
            )
            .order_by(
                sa.case((withdrawn.id.is_not(None), 1), else_=0),
                mine.completed_on.desc(),
                mine.id.desc(),
            )
            .limit(1)
            .scalar_subquery()
        )
        return sa.select(
            pairs.c.user_id,
            pairs.c.program_id,
            pairs.c.override_months,
            latest_id.label("completion_id"),
        ).subquery("picked")
    ranked = sa.select(
        Completion.id,
        Completion.user_id,
        Completion.program_id,
        sa.func.row_number()
        .over(
            partition_by=(Completion.user_id, Completion.program_id),
            order_by=(sa.case((Revocation.id.is_not(None), 1), else_=0), *newest_first),
        )
        .label("rn"),
    ).outerjoin(Revocation, Revocation.completion_id == Completion.id)
    ranked = ranked.where(_counts(Completion))
    # only the completions the scope can use: the window over them is the costly part
    if scope.user_ids is not None:
        ranked = ranked.where(Completion.user_id.in_(scope.user_ids))
    if scope.department_ids is not None:
        ranked = ranked.where(
            Completion.user_id.in_(
                sa.select(User.id).where(User.department_id.in_(scope.department_ids))
            )
        )
    if scope.program_ids is not None:
        ranked = ranked.where(Completion.program_id.in_(scope.program_ids))
    ranked_q = ranked.subquery("ranked")
    return (
        sa.select(
            pairs.c.user_id,
            pairs.c.program_id,
            pairs.c.override_months,
            ranked_q.c.id.label("completion_id"),
        )
        .outerjoin(
            ranked_q,
            sa.and_(
                ranked_q.c.user_id == pairs.c.user_id,
                ranked_q.c.program_id == pairs.c.program_id,
                ranked_q.c.rn == 1,
            ),
        )
        .subquery("picked")
    )


def facts_select(session, scope: Scope | None = None):
    """The history each status is computed from, nothing relative to today: a select of
    (user_id, department_id, program_id, completion_id, completed_on, is_revoked, is_lapse,
    expiry, pending_due, pending_reason, start) for every active person and required program."""
    scope = scope or Scope()
    pairs = pairs_subquery(session, scope)
    picked = _pick_completions(session, pairs, scope)
    ub = UnscheduledBriefing
    pending_where = sa.and_(
        ub.program_id == picked.c.program_id,
        sa.or_(ub.department_id.is_(None), ub.department_id == User.department_id),
        sa.or_(ub.user_id.is_(None), ub.user_id == picked.c.user_id),
        sa.or_(Completion.completed_on.is_(None), Completion.completed_on < ub.since),
    )
    pending = sa.select(sa.func.min(ub.due_on)).where(pending_where).scalar_subquery()
    pending_reason = (
        sa.select(ub.reason)
        .where(pending_where)
        .order_by(ub.due_on, ub.id)
        .limit(1)
        .scalar_subquery()
    )
    # a group's own interval shortens the validity, it never lengthens it
    overridden = add_months(Completion.completed_on, picked.c.override_months)
    effective_expiry = sa.case(
        (picked.c.override_months.is_(None), Completion.expires_on),
        (Completion.expires_on.is_(None), overridden),
        (overridden < Completion.expires_on, overridden),
        else_=Completion.expires_on,
    )
    # a newer completion withdrawn because the trainer's was (a cascade lapse) flags the
    # person even when an older one still counts: the newest briefing is the one that failed
    later = sa.orm.aliased(Completion)
    later_rev = sa.orm.aliased(Revocation)
    lapsed_later = (
        sa.select(sa.func.count())
        .select_from(later)
        .join(later_rev, later_rev.completion_id == later.id)
        .where(
            later.user_id == picked.c.user_id,
            later.program_id == picked.c.program_id,
            later_rev.caused_by_id.is_not(None),
            later.completed_on >= Completion.completed_on,
            later.id != Completion.id,
        )
        .scalar_subquery()
    )
    is_lapse = sa.case(
        (Revocation.caused_by_id.is_not(None), 1),
        (sa.and_(Revocation.id.is_(None), lapsed_later > 0), 1),
        else_=0,
    )
    return (
        sa.select(
            picked.c.user_id,
            User.department_id,
            picked.c.program_id,
            Completion.id.label("completion_id"),
            Completion.completed_on,
            sa.case((Revocation.id.is_not(None), 1), else_=0).label("is_revoked"),
            is_lapse.label("is_lapse"),
            effective_expiry.label("expiry"),
            pending.label("pending_due"),
            pending_reason.label("pending_reason"),
            sa.func.coalesce(User.start_date, local_date(User.created_at, org_zone().key)).label(
                "start"
            ),
        )
        .select_from(picked)
        .join(User, User.id == picked.c.user_id)
        .outerjoin(Completion, Completion.id == picked.c.completion_id)
        .outerjoin(Revocation, Revocation.completion_id == Completion.id)
    )


def basis_of(b) -> tuple:
    """(basis, due_on) expressions over facts_select columns: what the status rests on."""
    basis = sa.case(
        (b.completed_on.is_(None), "never_trained"),
        (b.is_lapse == 1, "flagged"),
        (b.is_revoked == 1, "revoked"),
        (b.pending_due.is_not(None), "pending"),
        else_="valid",
    )
    # an unscheduled briefing pending: due on its date, or earlier when the completion
    # expires first (a pending briefing never hides an expiry)
    pending_due = sa.case(
        (sa.and_(b.expiry.is_not(None), b.expiry < b.pending_due), b.expiry),
        else_=b.pending_due,
    )
    due_on = sa.case(
        (b.completed_on.is_(None), b.start),
        (b.is_lapse == 1, b.completed_on),
        (b.is_revoked == 1, b.completed_on),
        (b.pending_due.is_not(None), pending_due),
        else_=b.expiry,
    )
    return basis, due_on


def status_on(basis, valid_until, due_on, today: date, window_days: int):
    """The status on a day, from the stored basis and dates.

    never trained; flagged (a cascade lapse); revoked: overdue; an unscheduled briefing
    pending: overdue after its due date, else due soon; a valid completion: overdue after its
    expiry, due soon within the window, else compliant.
    """
    soon = today + timedelta(days=window_days)
    return sa.case(
        (basis == "never_trained", "never_trained"),
        (basis == "flagged", "flagged"),
        (basis == "revoked", "overdue"),
        (sa.and_(basis == "pending", due_on < today), "overdue"),
        (basis == "pending", "due_soon"),
        (sa.and_(valid_until.is_not(None), valid_until < today), "overdue"),
        (sa.and_(valid_until.is_not(None), valid_until <= soon), "due_soon"),
        else_="compliant",
    )


def computed_status_select(
    session, today: date, window_days: int = DEFAULT_WINDOW_DAYS, scope: Scope | None = None
):
    """The status recomputed from the history (for verification), same columns as
    status_select."""
    b = facts_select(session, scope).subquery("base").c
    basis, due_on = basis_of(b)
    valid_until = sa.case((basis == "valid", b.expiry), else_=None)
    status = status_on(basis, valid_until, due_on, today, window_days).label("status")
    return sa.select(
        b.user_id, b.department_id, b.program_id, status, due_on.label("due_on"), b.completed_on
    )


def status_select(
    session, today: date, window_days: int = DEFAULT_WINDOW_DAYS, scope: Scope | None = None
):
    """A select of (user_id, department_id, program_id, status, due_on, completed_on), read
    from the stored status (lms.compliance.status keeps it current)."""
    scope = scope or Scope()
    ps = PersonStatus
    status = status_on(ps.basis, ps.valid_until, ps.due_on, today, window_days).label("status")
    stmt = sa.select(
        ps.user_id,
        ps.department_id,
        ps.program_id,
        status,
        ps.due_on.label("due_on"),
        ps.completed_on,
    )
    if scope.department_ids is not None:
        stmt = stmt.where(ps.department_id.in_(scope.department_ids))
    if scope.program_ids is not None:
        stmt = stmt.where(ps.program_id.in_(scope.program_ids))
    if scope.user_ids is not None:
        stmt = stmt.where(ps.user_id.in_(scope.user_ids))
    return stmt


def matrix_counts(
    session, today: date, window_days: int = DEFAULT_WINDOW_DAYS, scope: Scope | None = None
) -> dict[tuple[int | None, int], dict[str, int]]:
    """{(department_id, program_id): {status: count}} in one grouped query."""
    rows = status_select(session, today, window_days, scope).subquery("s")
    result: dict[tuple[int | None, int], dict[str, int]] = {}
    for dept, pid, st, n in session.execute(
        sa.select(rows.c.department_id, rows.c.program_id, rows.c.status, sa.func.count()).group_by(
            rows.c.department_id, rows.c.program_id, rows.c.status
        )
    ):
        result.setdefault((dept, pid), {})[st] = n
    return result
