"""The instructor's conduct signature, and what a held session reports to completions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext

from lms.accounts.models import User
from lms.accounts.services import verify_password
from lms.cascade.services import teaching_right
from lms.completions import earning
from lms.completions.models import Completion
from lms.core import audit, ledger, texts
from lms.core.clock import local_date
from lms.core.errors import Conflict, DomainError, NotAllowed
from lms.core.model import utcnow
from lms.sessions import queries
from lms.sessions.access import lock_session
from lms.sessions.models import (
    ATTENDED,
    AttendanceMark,
    Enrolment,
    SessionSignature,
    TrainingSession,
)
from lms.sessions.records import SIGNATURE_KIND, attendance_content, signature_hash

# ----- the conduct signature ------------------------------------------------------------------


def sign_conducted(session, ts: TrainingSession, signer: User, password: str) -> SessionSignature:
    """The instructor signs that the session was conducted with the attendance as recorded.

    Re-authentication by password. The signature holds the SHA-256 of the canonical attendance
    content; people present (or late) who acknowledged get their completion. Signing again
    after a correction supersedes the previous signature.
    """
    ts = lock_session(session, ts.id)
    if signer.id != ts.instructor_id:
        raise NotAllowed(_("Only the session's instructor can sign it as conducted."))
    if not verify_password(signer, password):
        audit.record_apart(
            session,
            signer.id,
            "sign_failed",
            "training_session",
            ts.id,
            texts.stored("core.wrong_password"),
        )
        raise DomainError(_("The password is wrong. Nothing was signed."), field="password")
    if ts.status == "cancelled":
        raise DomainError(_("A cancelled session cannot be signed."))
    if ts.starts_at > utcnow():
        raise DomainError(_("A session can be signed as conducted once it has started."))
    roster = queries.roster(session, ts)
    if not roster.enrolled:
        raise DomainError(_("Nobody is enrolled: there is nothing to sign."))
    if roster.unmarked:
        raise DomainError(
            ngettext(
                "Mark attendance for everyone first: %(num)d person has no mark.",
                "Mark attendance for everyone first: %(num)d people have no mark.",
                len(roster.unmarked),
            )
        )
    if not any(r.attended or (r.mark and r.mark.status == "failed") for r in roster.enrolled):
        raise DomainError(_("Nobody was present. Cancel the session instead of signing it."))
    marks = [r.mark for r in roster.enrolled if r.mark is not None]  # all marked (above)
    acks = [r.ack for r in roster.enrolled if r.ack is not None]
    content_hash = ledger.sha256(attendance_content(ts, marks, acks))
    previous = queries.latest_signature(session, ts.id)
    if previous is not None and previous.content_hash == content_hash:
        raise Conflict(_("The session is already signed with exactly this attendance."))
    sig = SessionSignature(
        session_id=ts.id,
        signer_id=signer.id,
        printed_name=signer.name,
        meaning="conducted",
        method="password",
        signed_at=utcnow().replace(microsecond=0),
        content_hash=content_hash,
        covers={"marks": sorted(m.id for m in marks), "acks": sorted(a.id for a in acks)},
        supersedes_id=previous.id if previous else None,
    )
    session.add(sig)
    session.flush()
    ledger.append(session, SIGNATURE_KIND, sig.id, signature_hash(sig, content_hash), signer.id)
    ts.status = "held"
    ts.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        signer.id,
        "resign" if previous else "sign",
        "training_session",
        ts.id,
        texts.stored("programs.version", code=ts.program.code, n=ts.version.number),
        meaning="conducted",
        content_hash=content_hash,
        supersedes=previous.id if previous else None,
    )
    _grant_completions(session, ts, sig)
    failed = _failed_checks(session, ts, sig)
    for listener in _CHECK_FAILED_LISTENERS:  # not admitted until repeated (lms.compliance)
        listener(session, ts, failed)
    return sig


# (session, the signed session, ids of people whose knowledge check failed)
_CHECK_FAILED_LISTENERS: list[Callable[[Any, TrainingSession, list[int]], Any]] = []


def on_check_failed(
    func: Callable[[Any, TrainingSession, list[int]], Any],
) -> Callable[[Any, TrainingSession, list[int]], Any]:
    """Register func(session, ts, user ids), called when a session is signed as conducted with
    people marked "knowledge check failed" (present, check failed)."""
    _CHECK_FAILED_LISTENERS.append(func)
    return func


def _failed_checks(session, ts: TrainingSession, sig: SessionSignature) -> list[int]:
    covered = set((sig.covers or {}).get("marks", []))
    return [
        row.user.id
        for row in queries.roster(session, ts).enrolled
        if row.mark is not None and row.mark.id in covered and row.mark.status == "failed"
    ]


def _grant_completions(session, ts: TrainingSession, sig: SessionSignature) -> list[Completion]:
    """Report the signed attendance to completions, which decides who earns what."""
    covered = set((sig.covers or {}).get("marks", []))
    roster = queries.roster(session, ts)
    attendees = [
        earning.Attendee(
            user_id=row.user.id,
            counted=(
                row.mark is not None
                and row.mark.id in covered
                and row.mark.status in ATTENDED
                and row.ack is not None
            ),
            absent=row.mark is not None and row.mark.id in covered and not row.attended,
        )
        for row in roster.enrolled
    ]
    return earning.session_signed(
        session,
        version=ts.version,
        attendance=session_attendance(session, ts),
        attendees=attendees,
        signer_id=sig.signer_id,
    )


def session_attendance(session, ts: TrainingSession) -> earning.Attendance:
    """What attending this session means for earning: the session, its trainer and date, and
    for a cascade program the level taught and the trainer's own completion (lineage), as they
    stood on the day of the session."""
    held_on = local_date(ts.starts_at)
    level = trainer_completion_id = None
    if ts.version.delivery_mode == "cascade":
        right = teaching_right(session, ts.instructor, ts.program, ts.department_id, held_on)
        if right.allowed:
            level = right.level
            own = right.own_completion if right.level >= 1 else None
            trainer_completion_id = own.id if own is not None else None
    return earning.Attendance(
        session_id=ts.id,
        trainer_id=ts.instructor_id,
        held_on=held_on,
        cascade_level=level,
        trainer_completion_id=trainer_completion_id,
    )


@earning.register_attendance_source
def held_attendance(session, user_id: int, program_id: int) -> earning.Attendance | None:
    """The newest session of the program signed as conducted where the person was present
    or late and acknowledged, as completions needs it when a quiz is passed later; or None."""
    mk, ak = queries.current_mark_ids(), queries.current_ack_ids()
    ts = session.execute(
        sa.select(TrainingSession)
        .join(Enrolment, Enrolment.session_id == TrainingSession.id)
        .join(mk, mk.c.enrolment_id == Enrolment.id)
        .join(AttendanceMark, AttendanceMark.id == mk.c.mid)
        .join(ak, ak.c.enrolment_id == Enrolment.id)
        .where(
            TrainingSession.program_id == program_id,
            TrainingSession.status == "held",
            Enrolment.user_id == user_id,
            Enrolment.status == "enrolled",
            AttendanceMark.status.in_(ATTENDED),
        )
        .order_by(TrainingSession.starts_at.desc(), TrainingSession.id.desc())
        .limit(1)
    ).scalar()
    return session_attendance(session, ts) if ts is not None else None


def next_enrolment(session, user_id: int, program_id: int) -> TrainingSession | None:
    """The person's next session of the program that they are enrolled in (not waitlisted)."""
    return next_enrolments(session, user_id, [program_id]).get(program_id)


@earning.register_upcoming_source
def next_enrolments(session, user_id: int, program_ids) -> dict[int, TrainingSession]:
    """next_enrolment for several programs in one query: {program id: session}."""
    rows = session.execute(
        sa.select(TrainingSession)
        .join(Enrolment, Enrolment.session_id == TrainingSession.id)
        .where(
            TrainingSession.program_id.in_(list(program_ids)),
            TrainingSession.status == "scheduled",
            TrainingSession.ends_at >= utcnow(),
            Enrolment.user_id == user_id,
            Enrolment.status == "enrolled",
        )
        .order_by(TrainingSession.starts_at, TrainingSession.id)
    ).scalars()
    out: dict[int, TrainingSession] = {}
    for ts in rows:
        out.setdefault(ts.program_id, ts)
    return out


@dataclass
class AttendanceOutcome:
    """What a person's attendance at a session earned, and what is still missing."""

    state: str  # earned, quiz_missing, not_signed, ack_missing, not_attended, none
    completion: Completion | None = None


def attendance_outcome(session, ts: TrainingSession, user_id: int, mark, ack) -> AttendanceOutcome:
    """For the attendee's own view of the session page."""
    earned = session.execute(
        sa.select(Completion)
        .where(Completion.session_id == ts.id, Completion.user_id == user_id)
        .order_by(Completion.id.desc())
        .limit(1)
    ).scalar()
    if earned is not None and earned.revocation is None:
        return AttendanceOutcome("earned", earned)
    if mark is None:
        return AttendanceOutcome("none")
    if mark.status not in ATTENDED:
        return AttendanceOutcome("not_attended")
    if ack is None:
        return AttendanceOutcome("ack_missing")
    if ts.status != "held":
        return AttendanceOutcome("not_signed")
    if ts.version.questions and earning.passed_attempt(session, user_id, ts.program_id) is None:
        return AttendanceOutcome("quiz_missing")
    return AttendanceOutcome("none")


@dataclass
class SignatureState:
    latest: SessionSignature | None
    resigned: bool  # the latest signature replaced an earlier one
    corrected: bool  # attendance changed after the latest signature: sign again
    late_acks: int  # acknowledgments made after the latest signature


def signature_state(session, ts: TrainingSession, roster: queries.Roster) -> SignatureState:
    latest = queries.latest_signature(session, ts.id)
    if latest is None:
        return SignatureState(None, False, False, 0)
    covered_marks = set((latest.covers or {}).get("marks", []))
    covered_acks = set((latest.covers or {}).get("acks", []))
    corrected = any(r.mark is None or r.mark.id not in covered_marks for r in roster.enrolled)
    late = sum(1 for r in roster.enrolled if r.ack is not None and r.ack.id not in covered_acks)
    return SignatureState(latest, latest.supersedes_id is not None, corrected, late)
