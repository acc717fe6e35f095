"""Completions: record, correct, revoke, and ask who holds a valid one."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _

from lms.accounts.models import User
from lms.completions.models import EARNED_BY, Completion, Revocation
from lms.core import audit, ledger
from lms.core.errors import Conflict, DomainError, NotFound
from lms.core.model import utcnow
from lms.programs.models import ProgramVersion

LEDGER_KIND = "completion"
REVOCATION_KIND = "completion_revocation"


def completion_hash(c: Completion) -> str:
    return ledger.sha256(
        {
            "completion": c.id,
            "user": c.user_id,
            "program": c.program_id,
            "version": c.version_id,
            "completed_on": c.completed_on.isoformat(),
            "expires_on": c.expires_on.isoformat() if c.expires_on else None,
            "earned_by": c.earned_by,
            "session": c.session_id,
            "attempt": c.attempt_id,
            "trainer": c.trainer_id,
            "trainer_completion": c.trainer_completion_id,
            "cascade_level": c.cascade_level,
            "supersedes": c.supersedes_id,
            "note": c.note,
        }
    )


def revocation_hash(r: Revocation) -> str:
    return ledger.sha256(
        {
            "revocation": r.id,
            "completion": r.completion_id,
            "reason": r.reason,
            "by": r.revoked_by_id,
            "at": r.revoked_at.isoformat(),
            "caused_by": r.caused_by_id,
        }
    )


def _resolve_completions(session, ids: list[str]) -> dict[str, str]:
    rows = session.execute(
        sa.select(Completion).where(Completion.id.in_([int(i) for i in ids]))
    ).scalars()
    return {str(c.id): completion_hash(c) for c in rows}


def _resolve_revocations(session, ids: list[str]) -> dict[str, str]:
    rows = session.execute(
        sa.select(Revocation).where(Revocation.id.in_([int(i) for i in ids]))
    ).scalars()
    return {str(r.id): revocation_hash(r) for r in rows}


ledger.register_kind(LEDGER_KIND, _resolve_completions)
ledger.register_kind(REVOCATION_KIND, _resolve_revocations)


def expiry_for(version: ProgramVersion, completed_on: date) -> date | None:
    """Expiry from the certificate validity, else the refresher interval; None: no expiry."""
    months = version.certificate_validity_months or version.refresher_months
    return completed_on + relativedelta(months=months) if months else None


def record_completion(
    session,
    *,
    user_id: int,
    version: ProgramVersion,
    completed_on: date,
    earned_by: str,
    actor_id: int | None,
    session_id: int | None = None,
    attempt_id: int | None = None,
    trainer_id: int | None = None,
    trainer_completion_id: int | None = None,
    cascade_level: int | None = None,
    supersedes: Completion | None = None,
    note: str = "",
) -> Completion:
    """Record that a person completed an approved program version; appends to the ledger."""
    if earned_by not in EARNED_BY:
        raise DomainError(_("Unknown way of earning a completion."))
    if version.status != "approved":
        raise DomainError(_("Only an approved program version can be scheduled or taken."))
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such person."))
    if trainer_completion_id is not None:
        _check_lineage(session, user_id, trainer_completion_id)
    if supersedes is not None and supersedes.user_id != user_id:
        raise DomainError(_("A correction must concern the same person."))
    c = Completion(
        user_id=user_id,
        program_id=version.program_id,
        version_id=version.id,
        completed_on=completed_on,
        expires_on=expiry_for(version, completed_on),
        earned_by=earned_by,
        session_id=session_id,
        attempt_id=attempt_id,
        trainer_id=trainer_id,
        trainer_completion_id=trainer_completion_id,
        cascade_level=cascade_level,
        supersedes_id=supersedes.id if supersedes else None,
        recorded_by_id=actor_id,
        note=note[:500],
    )
    session.add(c)
    session.flush()
    ledger.append(session, LEDGER_KIND, c.id, completion_hash(c), actor_id)
    audit.record(
        session,
        actor_id,
        "complete",
        "completion",
        c.id,
        user.name,
        program_id=version.program_id,
        version=version.number,
        earned_by=earned_by,
    )
    return c


def _check_lineage(session, user_id: int, trainer_completion_id: int) -> None:
    """A trainer's completion chain may not lead back to the trainee (no cycles)."""
    seen: set[int] = set()
    cursor: int | None = trainer_completion_id
    while cursor is not None:
        if cursor in seen:
            raise DomainError(_("The training lineage would form a cycle."))
        seen.add(cursor)
        row = session.execute(
            sa.select(Completion.user_id, Completion.trainer_completion_id).where(
                Completion.id == cursor
            )
        ).first()
        if row is None:
            raise NotFound(_("No such completion."))
        if row.user_id == user_id:
            raise DomainError(_("The training lineage would form a cycle."))
        cursor = row.trainer_completion_id


def revoke(
    session,
    completion: Completion,
    reason: str,
    actor_id: int | None,
    caused_by: Revocation | None = None,
) -> Revocation:
    """Withdraw a completion with a reason (ledger entry). Listeners may react (cascade)."""
    if not reason.strip():
        raise DomainError(_("Give the reason for the revocation."), field="reason")
    if completion.revocation is not None:
        raise Conflict(_("This completion is already revoked."))
    r = Revocation(
        completion_id=completion.id,
        reason=reason.strip()[:1000],
        revoked_by_id=actor_id,
        revoked_at=utcnow().replace(microsecond=0),
        caused_by_id=caused_by.id if caused_by else None,
    )
    session.add(r)
    session.flush()
    session.refresh(completion, ["revocation"])
    ledger.append(session, REVOCATION_KIND, r.id, revocation_hash(r), actor_id)
    audit.record(session, actor_id, "revoke", "completion", completion.id, reason.strip()[:200])
    for listener in _REVOCATION_LISTENERS:
        listener(session, completion, r, actor_id)
    return r


_REVOCATION_LISTENERS: list = []


def on_revocation(func):
    """Register func(session, completion, revocation, actor_id), called after each revocation."""
    _REVOCATION_LISTENERS.append(func)
    return func


def current_completions_stmt(today: date, valid_only: bool = True):
    """The latest completion per (person, program), as a select of Completion rows.

    valid_only keeps those not revoked and not expired on `today`.
    """
    ranked = (
        sa.select(
            Completion.id.label("cid"),
            sa.func.row_number()
            .over(
                partition_by=(Completion.user_id, Completion.program_id),
                order_by=(Completion.completed_on.desc(), Completion.id.desc()),
            )
            .label("rn"),
        )
        .where(~sa.exists().where(Revocation.completion_id == Completion.id))
        .subquery()
    )
    stmt = sa.select(Completion).join(
        ranked, sa.and_(ranked.c.cid == Completion.id, ranked.c.rn == 1)
    )
    if valid_only:
        stmt = stmt.where(sa.or_(Completion.expires_on.is_(None), Completion.expires_on >= today))
    return stmt


def valid_completion(session, user_id: int, program_id: int, today: date) -> Completion | None:
    """The person's newest valid (not expired, not revoked) completion of a program."""
    return session.execute(
        sa.select(Completion)
        .where(
            Completion.user_id == user_id,
            Completion.program_id == program_id,
            sa.or_(Completion.expires_on.is_(None), Completion.expires_on >= today),
            ~sa.exists().where(Revocation.completion_id == Completion.id),
        )
        .order_by(Completion.completed_on.desc(), Completion.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def completions_of(session, user_id: int) -> list[Completion]:
    return list(
        session.execute(
            sa.select(Completion)
            .where(Completion.user_id == user_id)
            .order_by(Completion.completed_on.desc(), Completion.id.desc())
        ).scalars()
    )


def lineage(session, completion: Completion) -> list[Completion]:
    """The chain of completions back to the first instructor: [own, trainer's, ...]."""
    chain = [completion]
    seen = {completion.id}
    while chain[-1].trainer_completion_id and chain[-1].trainer_completion_id not in seen:
        nxt = session.get(Completion, chain[-1].trainer_completion_id)
        if nxt is None:
            break
        seen.add(nxt.id)
        chain.append(nxt)
    return chain
