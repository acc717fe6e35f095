"""Attendance marks, walk-ins and acknowledgments: append-only rows that go into the ledger."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from werkzeug.security import check_password_hash

from lms.accounts.models import User
from lms.core import audit, ledger, texts
from lms.core.audit import AuditEntry
from lms.core.dates import fmt_datetime
from lms.core.errors import Conflict, DomainError, NotAllowed
from lms.core.model import utcnow
from lms.sessions import queries
from lms.sessions.access import _require_manager, attendance_open, lock_session, require_own_unit
from lms.sessions.models import (
    ACK_METHODS,
    ATTENDANCE_STATUSES,
    ATTENDED,
    Acknowledgment,
    AttendanceMark,
    Enrolment,
    TrainingSession,
)
from lms.sessions.records import ACK_KIND, ATTENDANCE_KIND, ack_content_hash, ack_hash, mark_hash
from lms.sessions.signing import _grant_completions

FAILED_ACK_WINDOW_MINUTES = 15


MAX_FAILED_ACKS = 5  # wrong passwords or PINs per enrolment within the window below


# ----- attendance -----------------------------------------------------------------------------


def _require_attendance_open(ts: TrainingSession) -> None:
    if ts.status == "cancelled":
        raise DomainError(_("This session was cancelled."))
    if not attendance_open(ts):
        raise DomainError(
            _(
                "Attendance opens when the session starts, at %(time)s.",
                time=fmt_datetime(ts.starts_at),
            )
        )


def mark_attendance(
    session, ts: TrainingSession, marks: dict[int, str], actor: User, note: str = ""
) -> list[AttendanceMark]:
    """Record present / absent / excused / late for people enrolled, all or nothing.

    ``marks`` is {user id: status}. Someone not enrolled must be added as a walk-in first.
    An unchanged mark writes nothing; a changed one is a new row superseding the old. After the
    session was signed a correction needs a reason, and then a new signature.
    """
    ts = lock_session(session, ts.id)
    _require_manager(actor, ts)
    _require_attendance_open(ts)
    if not marks:
        raise DomainError(_("Choose a mark for at least one person."))
    if any(status not in ATTENDANCE_STATUSES for status in marks.values()):
        raise DomainError(_("Unknown attendance mark."))
    enrolments = {
        e.user_id: e
        for e in session.execute(
            sa.select(Enrolment).where(
                Enrolment.session_id == ts.id, Enrolment.user_id.in_(list(marks))
            )
        ).scalars()
    }
    for user_id in marks:
        enrolment = enrolments.get(user_id)
        if enrolment is None or enrolment.status != "enrolled":
            person = session.get(User, user_id)
            name = person.name if person else _("This person")
            raise DomainError(
                _(
                    "%(name)s is not enrolled in this session. Add them as a walk-in first.",
                    name=name,
                )
            )
    signed = queries.latest_signature(session, ts.id) is not None
    note = (note or "").strip()
    current = queries.current_marks(session, ts.id)
    changes = [
        (enrolments[uid], status)
        for uid, status in sorted(marks.items())
        if current.get(enrolments[uid].id) is None or current[enrolments[uid].id].status != status
    ]
    if signed and changes and not note:
        raise DomainError(
            _(
                "The session was already signed as conducted. Give the reason for the "
                "correction; the session must then be signed again."
            ),
            field="note",
        )
    now = utcnow().replace(microsecond=0)
    written = []
    for enrolment, status in changes:
        old = current.get(enrolment.id)
        mark = AttendanceMark(
            session_id=ts.id,
            enrolment_id=enrolment.id,
            user_id=enrolment.user_id,
            status=status,
            recorded_by_id=actor.id,
            recorded_at=now,
            supersedes_id=old.id if old else None,
            note=note[:500],
        )
        session.add(mark)
        session.flush()
        ledger.append(session, ATTENDANCE_KIND, mark.id, mark_hash(mark), actor.id)
        audit.record(
            session,
            actor.id,
            "correct" if old else "mark",
            "session_attendance",
            mark.id,
            texts.stored("sessions.attendance_marked", name=enrolment.user.name, status=status),
            session_id=ts.id,
            was=old.status if old else None,
            supersedes=old.id if old else None,
            note=note,
        )
        written.append(mark)
    return written


def add_walk_in(
    session, ts: TrainingSession, user_id: int, actor: User, status: str = "present"
) -> Enrolment:
    """Someone who came without being enrolled: enrol them (room permitting) and mark them."""
    ts = lock_session(session, ts.id)
    _require_manager(actor, ts)
    _require_attendance_open(ts)
    person = session.get(User, user_id) if user_id else None
    if person is None:
        raise DomainError(_("Choose a person."), field="user_id")
    if not person.active:
        raise DomainError(_("%(name)s is deactivated.", name=person.name), field="user_id")
    if person.id == ts.instructor_id:
        raise DomainError(
            _("The instructor cannot be enrolled in their own session."), field="user_id"
        )
    if status not in ATTENDANCE_STATUSES:
        raise DomainError(_("Unknown attendance mark."), field="status")
    require_own_unit(session, ts, person, field="user_id")
    enrolment = queries.enrolment_of(session, ts.id, person.id)
    if enrolment is not None and enrolment.status == "enrolled":
        raise Conflict(_("%(name)s is already enrolled: mark them on the sheet.", name=person.name))
    enrolled = queries.counts(session, ts.id)["enrolled"]
    if enrolled >= ts.capacity:
        raise DomainError(
            _(
                "The session is full (capacity %(n)d). Raise the capacity to add a walk-in.",
                n=ts.capacity,
            ),
            field="user_id",
        )
    if enrolment is None:
        enrolment = Enrolment(session_id=ts.id, user_id=person.id)
        session.add(enrolment)
    was = enrolment.status
    enrolment.status = "enrolled"
    enrolment.source = "walk_in"
    enrolment.requested_at = utcnow()
    enrolment.cancelled_at = None
    enrolment.invited_by_id = actor.id
    session.flush()
    audit.record(
        session,
        actor.id,
        "walk_in",
        "session_enrolment",
        enrolment.id,
        person.name,
        session_id=ts.id,
        was=was,
    )
    mark_attendance(
        session,
        ts,
        {person.id: status},
        actor,
        note=texts.stored("sessions.walk_in") if queries.latest_signature(session, ts.id) else "",
    )
    return enrolment


# ----- acknowledgments ------------------------------------------------------------------------


class TooManyAttempts(DomainError):
    status_code = 429


def _recent_failures(session, enrolment_id: int) -> int:
    """Wrong passwords or PINs typed for this enrolment in the last few minutes."""
    since = utcnow() - timedelta(minutes=FAILED_ACK_WINDOW_MINUTES)
    return session.execute(
        sa.select(sa.func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.object_type == "session_enrolment",
            AuditEntry.object_id == str(enrolment_id),
            AuditEntry.action == "acknowledge_failed",
            AuditEntry.at >= since,
        )
    ).scalar_one()


def acknowledge(
    session, enrolment: Enrolment, *, actor: User, method: str, secret: str = ""
) -> Acknowledgment:
    """The attendee confirms they received the briefing.

    ``account``: the attendee is signed in as themselves (actor is the attendee).
    ``password`` / ``pin``: on the instructor's device (actor runs the session), the attendee
    types their own password or PIN. Nobody can acknowledge for someone else.
    """
    if method not in ACK_METHODS:
        raise DomainError(_("Choose how the attendee confirms."), field="method")
    ts = lock_session(session, enrolment.session_id)
    session.refresh(enrolment)
    person = enrolment.user
    if method == "account":
        if actor.id != enrolment.user_id:
            raise NotAllowed(_("You can only acknowledge your own briefing."))
        witness_id = None
    else:
        _require_manager(actor, ts)
        witness_id = actor.id
    if ts.status == "cancelled":
        raise DomainError(_("This session was cancelled."))
    if ts.starts_at > utcnow():
        raise DomainError(_("The briefing can be acknowledged once the session has started."))
    if enrolment.status != "enrolled":
        raise DomainError(_("%(name)s is not enrolled in this session.", name=person.name))
    mark = queries.current_marks(session, ts.id).get(enrolment.id)
    if mark is not None and mark.status not in ATTENDED:
        raise DomainError(
            _(
                "%(name)s is not marked as present, so cannot acknowledge the briefing.",
                name=person.name,
            )
        )
    existing = queries.current_acks(session, ts.id).get(enrolment.id)
    if existing is not None:
        raise Conflict(_("%(name)s has already acknowledged this briefing.", name=person.name))
    if method != "account":
        if not person.active:
            raise DomainError(_("%(name)s is deactivated.", name=person.name))
        if method == "pin" and not person.pin_hash:
            raise DomainError(
                _(
                    "%(name)s has no personal PIN. Use the password, or set a PIN under "
                    "My account.",
                    name=person.name,
                ),
                field="method",
            )
        if _recent_failures(session, enrolment.id) >= MAX_FAILED_ACKS:
            raise TooManyAttempts(
                _(
                    "Too many wrong attempts for %(name)s. Try again in %(n)d minutes.",
                    name=person.name,
                    n=FAILED_ACK_WINDOW_MINUTES,
                ),
                field="secret",
            )
        stored = person.pin_hash if method == "pin" else person.password_hash
        if not secret or not check_password_hash(stored, secret):
            audit.record_apart(
                session,
                actor.id,
                "acknowledge_failed",
                "session_enrolment",
                enrolment.id,
                texts.stored("core.wrong_pin" if method == "pin" else "core.wrong_password"),
                session_id=ts.id,
                user_id=person.id,
            )
            raise DomainError(
                _("The password or PIN is wrong. Nothing was recorded."), field="secret"
            )
    ack = Acknowledgment(
        session_id=ts.id,
        enrolment_id=enrolment.id,
        user_id=person.id,
        method=method,
        meaning="received",
        printed_name=person.name,
        job_title=person.job_title or "",
        acknowledged_at=utcnow().replace(microsecond=0),
        witness_id=witness_id,
        content_hash=ack_content_hash(ts, person.id),
    )
    session.add(ack)
    session.flush()
    ledger.append(session, ACK_KIND, ack.id, ack_hash(ack), person.id)
    audit.record(
        session,
        actor.id,
        "acknowledge",
        "session_acknowledgment",
        ack.id,
        person.name,
        session_id=ts.id,
        method=method,
        witness_id=witness_id,
    )
    signature = queries.latest_signature(session, ts.id)
    if ts.status == "held" and signature is not None:
        _grant_completions(session, ts, signature)
    return ack
