"""Countersigning self-paced completions of briefing programs (the e-learning queue)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.accounts.models import User
from lms.accounts.services import verify_password
from lms.completions.models import Completion, Revocation
from lms.core import audit, ledger, texts
from lms.core.errors import Conflict, DomainError, NotFound
from lms.core.model import utcnow
from lms.learning.models import Attempt
from lms.programs.models import Program
from lms.registers.models import Countersignature

KIND = "register_countersignature"
# completions earned without an instructor present: they enter a register once countersigned
SELF_PACED = ("quiz", "exam")
BRIEFING_CATEGORIES = ("fire", "workplace")
_FIELDS = ("id", "completion_id", "signer_id", "printed_name", "position", "meaning", "method")


def completion_content(c: Completion, attempt: Attempt | None) -> dict[str, Any]:
    """What the countersignature signs: the completion and its knowledge-check result."""
    return {
        "completion_id": c.id,
        "user_id": c.user_id,
        "program_id": c.program_id,
        "version_id": c.version_id,
        "completed_on": c.completed_on.isoformat(),
        "earned_by": c.earned_by,
        "score_percent": attempt.score_percent if attempt else None,
        "passed": attempt.passed if attempt else None,
    }


def _row_hash(values: tuple, signed_at, content_hash: str) -> str:
    return ledger.sha256([*values, signed_at.isoformat(), content_hash])


def queue_select():
    """Self-paced completions of briefing programs, not revoked, awaiting a countersignature."""
    return (
        sa.select(Completion)
        .join(Program, Program.id == Completion.program_id)
        .outerjoin(Countersignature, Countersignature.completion_id == Completion.id)
        .outerjoin(Revocation, Revocation.completion_id == Completion.id)
        .where(
            Completion.earned_by.in_(SELF_PACED),
            Program.category.in_(BRIEFING_CATEGORIES),
            Countersignature.id.is_(None),
            Revocation.id.is_(None),
        )
        .order_by(Completion.completed_on, Completion.id)
    )


def countersign(session, completion_id: int, signer: User, password: str) -> Countersignature:
    completion = session.get(Completion, completion_id)
    if completion is None:
        raise NotFound(_("No such completion."))
    if completion.earned_by not in SELF_PACED:
        raise DomainError(_("Only self-paced completions are countersigned."))
    if completion.user_id == signer.id:
        raise DomainError(_("Nobody countersigns their own completion."))
    if not verify_password(signer, password):
        audit.record_apart(
            session,
            signer.id,
            "sign_failed",
            "completion",
            completion.id,
            texts.stored("core.wrong_password"),
        )
        raise DomainError(_("The password is wrong. Nothing was signed."), field="password")
    if session.execute(
        sa.select(Countersignature.id).where(Countersignature.completion_id == completion.id)
    ).first():
        raise Conflict(_("This completion is already countersigned."))
    if completion.revocation is not None:
        raise DomainError(_("A revoked completion cannot be countersigned."))
    attempt = session.get(Attempt, completion.attempt_id) if completion.attempt_id else None
    content_hash = ledger.sha256(completion_content(completion, attempt))
    sig = Countersignature(
        completion_id=completion.id,
        signer_id=signer.id,
        printed_name=signer.name,
        position=signer.job_title or "",
        meaning="countersigned",
        method="password",
        signed_at=utcnow().replace(microsecond=0),
        content_hash=content_hash,
    )
    session.add(sig)
    session.flush()
    ledger.append(
        session,
        KIND,
        sig.id,
        _row_hash(ledger.values(sig, _FIELDS), sig.signed_at, content_hash),
        signer.id,
    )
    audit.record(
        session, signer.id, "countersign", "completion", completion.id, meaning="countersigned"
    )
    return sig


def _resolve(session, ids: list[str]) -> dict[str, str]:
    out = {}
    for sig in session.execute(
        sa.select(Countersignature).where(Countersignature.id.in_([int(i) for i in ids]))
    ).scalars():
        completion = session.get(Completion, sig.completion_id)
        attempt = (
            session.get(Attempt, completion.attempt_id)
            if completion is not None and completion.attempt_id
            else None
        )
        now = ledger.sha256(completion_content(completion, attempt)) if completion else ""
        out[str(sig.id)] = _row_hash(ledger.values(sig, _FIELDS), sig.signed_at, now)
    return out


ledger.register_kind(KIND, _resolve, every=sa.select(Countersignature.id))
