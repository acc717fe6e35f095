"""The stored status of every person for every required program: kept current, verified.

`refresh()` recomputes the rows of a scope (some people, some programs) from the history with
the status engine and replaces them, inside the caller's transaction. It runs on every change
that moves a status: a completion or a revocation (listeners of completions), a requirement
added or ended, an unscheduled briefing, a version approved (lms.compliance.services), a person
transferred, leaving or returning (a listener of accounts). Pages, exports, charts and
reminders read the rows (lms.compliance.engine.status_select); `verify()` recomputes everything
and names each row that disagrees; `rebuild()` replaces every row. The status counts the matrix
and the dashboard read (lms.compliance.counts) follow every refresh in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from lms.accounts import services as accounts
from lms.accounts.models import User
from lms.completions import services as completions
from lms.completions import standing
from lms.completions.models import Completion, Revocation
from lms.compliance import counts, engine
from lms.compliance.models import PersonStatus
from lms.core.clock import local_today
from lms.core.model import utcnow
from lms.programs.models import Program

COLUMNS = ("department_id", "basis", "completion_id", "completed_on", "valid_until", "due_on")
REASONS = {
    "never_trained": "never trained",
    "revoked": "completion revoked",
    "flagged": "trainer's training revoked: re-briefing needed",
}


def _rows(session, scope: engine.Scope) -> dict[tuple[int, int], dict]:
    """{(user id, program id): the row's values}, recomputed from the history."""
    b = engine.facts_select(session, scope).subquery("facts")
    basis, due_on = engine.basis_of(b.c)
    out = {}
    for r in session.execute(
        sa.select(
            b.c.user_id,
            b.c.program_id,
            b.c.department_id,
            basis.label("basis"),
            b.c.completion_id,
            b.c.completed_on,
            b.c.expiry,
            due_on.label("due_on"),
            b.c.pending_reason,
        )
    ):
        out[(r.user_id, r.program_id)] = {
            "department_id": r.department_id,
            "basis": r.basis,
            "completion_id": r.completion_id,
            "completed_on": r.completed_on,
            "valid_until": r.expiry if r.basis in ("valid", "pending") else None,
            "due_on": r.due_on,
            "reason": (r.pending_reason or "")[:1000]
            if r.basis == "pending"
            else REASONS.get(r.basis, ""),
        }
    return out


def _where(scope: engine.Scope):
    conds = []
    if scope.user_ids is not None:
        conds.append(PersonStatus.user_id.in_(scope.user_ids))
    if scope.program_ids is not None:
        conds.append(PersonStatus.program_id.in_(scope.program_ids))
    return sa.and_(sa.true(), *conds)


def _recomputed(session, scope: engine.Scope):
    """The stored columns of every pair of the scope, recomputed from the history, as a select
    (the same values `_rows` reads into Python)."""
    # computed once (a materialised CTE): the status's cases read each fact several times,
    # and an inlined subquery would run its correlated look-ups again for every read
    b = engine.facts_select(session, scope).cte("facts").prefix_with("MATERIALIZED")
    basis, due_on = engine.basis_of(b.c)
    reason = sa.case(
        (basis == "pending", sa.func.substr(sa.func.coalesce(b.c.pending_reason, ""), 1, 1000)),
        *[(basis == key, text) for key, text in REASONS.items()],
        else_="",
    )
    return sa.select(
        b.c.user_id,
        b.c.program_id,
        b.c.department_id,
        basis,
        b.c.completion_id,
        b.c.completed_on,
        sa.case((basis.in_(("valid", "pending")), b.c.expiry), else_=None),
        due_on,
        reason,
        sa.literal(utcnow(), PersonStatus.updated_at.type),
    )


def refresh(
    session,
    *,
    user_ids: Iterable[int] | None = None,
    program_ids: Iterable[int] | None = None,
    today: date | None = None,
) -> None:
    """Recompute and replace the stored rows of these people and/or programs (all when both
    are None), in the caller's transaction: one DELETE and one INSERT ... SELECT, no row
    passes through Python. The status counts follow: the difference of the scope's counts
    (grouped before and after), or a recount when everything was replaced (counted for
    ``today``, by default the day they hold)."""
    scope = engine.Scope(
        user_ids=tuple(sorted(set(user_ids))) if user_ids is not None else None,
        program_ids=tuple(sorted(set(program_ids))) if program_ids is not None else None,
    )
    session.flush()
    everyone = scope.user_ids is None and scope.program_ids is None
    where = _where(scope)
    before = None if everyone else counts.before_change(session, where)
    session.execute(sa.delete(PersonStatus).where(where))
    session.execute(
        sa.insert(PersonStatus).from_select(
            [
                "user_id",
                "program_id",
                "department_id",
                "basis",
                "completion_id",
                "completed_on",
                "valid_until",
                "due_on",
                "reason",
                "updated_at",
            ],
            _recomputed(session, scope),
        )
    )
    if everyone:  # everything changed (a rebuild, a department moved): recount
        counts.rebuild(session, today or counts.current_day(session) or local_today())
    else:
        counts.after_change(session, where, before)


def rebuild(session, today: date | None = None) -> int:
    """Replace every stored row with the recomputation and recount the status counts for
    today (`flask lms rebuild-status`)."""
    refresh(session, today=today or local_today())
    return int(session.scalar(sa.select(sa.func.count()).select_from(PersonStatus)) or 0)


@dataclass
class Disagreement:
    user_id: int
    user_name: str
    program_code: str
    stored: dict | None
    recomputed: dict | None

    def __str__(self) -> str:
        def show(values: dict | None) -> str:
            if values is None:
                return "no row"
            return ", ".join(f"{k}={values.get(k)}" for k in COLUMNS)

        return (
            f"{self.user_name} (#{self.user_id}), {self.program_code}: stored "
            f"[{show(self.stored)}], recomputed [{show(self.recomputed)}]"
        )


@dataclass
class VerifyReport:
    checked: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)
    # the status counts (lms.compliance.counts) that differ from a recount, named
    counts: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.disagreements and not self.counts


def verify(session) -> VerifyReport:
    """Recompute every status from the history and compare it with the stored rows."""
    computed = _rows(session, engine.Scope())
    stored: dict[tuple[int, int], dict] = {}
    for row in session.execute(sa.select(PersonStatus)).scalars():
        stored[(row.user_id, row.program_id)] = {
            "department_id": row.department_id,
            "basis": row.basis,
            "completion_id": row.completion_id,
            "completed_on": row.completed_on,
            "valid_until": row.valid_until,
            "due_on": row.due_on,
            "reason": row.reason,
        }
    report = VerifyReport(checked=len(set(computed) | set(stored)), counts=counts.verify(session))
    wrong = [
        key
        for key in sorted(set(computed) | set(stored))
        if _key(stored.get(key)) != _key(computed.get(key))
    ]
    if wrong:
        names = dict(
            session.execute(
                sa.select(User.id, User.name).where(User.id.in_({u for u, _p in wrong}))
            ).all()
        )
        codes = dict(
            session.execute(
                sa.select(Program.id, Program.code).where(Program.id.in_({p for _u, p in wrong}))
            ).all()
        )
        for uid, pid in wrong:
            report.disagreements.append(
                Disagreement(
                    uid,
                    names.get(uid, "?"),
                    codes.get(pid, "?"),
                    stored.get((uid, pid)),
                    computed.get((uid, pid)),
                )
            )
    return report


def _key(values: dict | None):
    return None if values is None else tuple(values.get(k) for k in (*COLUMNS, "reason"))


def status_of(session, user_id: int, program_ids: Iterable[int]) -> dict[int, PersonStatus]:
    """The stored rows of one person: {program id: row} (required programs only)."""
    return {
        row.program_id: row
        for row in session.execute(
            sa.select(PersonStatus).where(
                PersonStatus.user_id == user_id, PersonStatus.program_id.in_(list(program_ids))
            )
        ).scalars()
    }


# ----- what moves a status ----------------------------------------------------------------


@completions.on_completion
def _completion_recorded(session, completion: Completion, actor_id: int | None) -> None:
    refresh(session, user_ids=[completion.user_id], program_ids=[completion.program_id])


@completions.on_revocation
def _completion_revoked(
    session, completion: Completion, revocation: Revocation, actor_id: int | None
) -> None:
    refresh(session, user_ids=[completion.user_id], program_ids=[completion.program_id])


@accounts.on_person_changed
def _person_changed(session, user: User) -> None:
    """Transferred, left, returned, new job title or start date: that person's rows."""
    refresh(session, user_ids=[user.id])


@accounts.on_structure_changed
def _structure_changed(session) -> None:
    refresh(session)


@standing.register_standing_source
def standings_of(session, user_id: int, program_ids: list[int]) -> dict[int, standing.Standing]:
    """The stored rows of one person as lower domains read them (My training)."""
    return {
        pid: standing.Standing(row.basis, row.valid_until, row.due_on, row.reason)
        for pid, row in status_of(session, user_id, program_ids).items()
    }
