"""The training status of one assigned program for one person: the rule, in one place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from lms.accounts.models import User
from lms.completions.models import Completion, Revocation
from lms.completions.standing import Standing
from lms.core.clock import local_date
from lms.programs.models import ProgramVersion, Signature

STATES = ("overdue", "due", "in_progress", "not_started", "passed")  # also the sort order


DUE_WINDOW = timedelta(days=30)


# ----- training status ----------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    state: str  # one of STATES
    due_on: date | None
    # why an unscheduled briefing is due (a stored text: the `said` filter reads it), if so
    reason: str = ""


def training_status(
    today: date,
    *,
    valid: Completion | None,
    expired_on: date | None,
    started: bool,
    first_due: date,
) -> Status:
    """The status of one assigned program for one person: the rule, in one place.

    - passed: a valid completion that does not expire within 30 days; due date = its expiry.
    - due: a valid completion that expires within 30 days; due date = its expiry.
    - overdue: the newest completion expired (due date = its expiry), or the program was
      never completed and its first due date is before today.
    - in progress: never completed, not overdue, and a topic was read or a quiz attempted.
    - not started: otherwise.

    The first due date of a program never completed is the later of the person's start date
    (else the day the account was created) and the day the version was approved, plus 0
    days: the training comes before the work. `valid` is the newest valid completion
    (lms.completions.services.valid_completion); `expired_on` the expiry of the newest
    non-revoked completion when it has expired.
    """
    if valid is not None:
        if valid.expires_on is not None and valid.expires_on - today <= DUE_WINDOW:
            return Status("due", valid.expires_on)
        return Status("passed", valid.expires_on)
    if expired_on is not None:
        return Status("overdue", expired_on)
    if first_due < today:
        return Status("overdue", first_due)
    return Status("in_progress" if started else "not_started", first_due)


def approved_dates(session, versions: Sequence[ProgramVersion]) -> dict[int, date]:
    """The day each version was approved (its approving signature), in one query."""
    signed = dict(
        session.execute(
            sa.select(Signature.version_id, sa.func.min(Signature.signed_at))
            .where(
                Signature.version_id.in_([v.id for v in versions]), Signature.meaning == "approved"
            )
            .group_by(Signature.version_id)
        ).all()
    )
    return {v.id: local_date(signed.get(v.id) or v.submitted_at or v.created_at) for v in versions}


def _first_due(user: User, approved: date) -> date:
    """The first due date of a program never completed (see training_status)."""
    start = user.start_date or local_date(user.created_at)
    return max(start, approved)


def _latest_expired(
    session, user_id: int, program_ids: Sequence[int], today: date
) -> dict[int, date]:
    """Per program: the expiry of the newest non-revoked completion, when it has expired."""
    rows = session.execute(
        sa.select(Completion.program_id, Completion.expires_on)
        .where(
            Completion.user_id == user_id,
            Completion.program_id.in_(program_ids),
            ~sa.exists().where(Revocation.completion_id == Completion.id),
        )
        .order_by(Completion.program_id, Completion.completed_on.desc(), Completion.id.desc())
    ).all()
    newest: dict[int, date | None] = {}
    for program_id, expires_on in rows:
        newest.setdefault(program_id, expires_on)
    return {pid: exp for pid, exp in newest.items() if exp is not None and exp < today}


def status_from_standing(row: Standing, today: date, started: bool) -> Status:
    """My training's status of a required program, from the stored standing compliance keeps,
    so both show the same due date: never trained (overdue once due), a valid completion
    (passed, due within 30 days, overdue once expired), revoked or flagged (overdue), an
    unscheduled briefing pending (due, overdue once due)."""
    due = row.due_on
    if row.basis == "never_trained":
        if due is not None and due < today:
            return Status("overdue", due)
        return Status("in_progress" if started else "not_started", due)
    if row.basis in ("revoked", "flagged"):
        return Status("overdue", due)
    if row.basis == "pending":
        return Status("overdue" if due is not None and due < today else "due", due, row.reason)
    until = row.valid_until
    if until is None:
        return Status("passed", None)
    if until < today:
        return Status("overdue", until)
    if until - today <= DUE_WINDOW:
        return Status("due", until)
    return Status("passed", until)
