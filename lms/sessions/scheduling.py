"""Scheduling sessions: one-off and repeating, changes and cancellation."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any

import sqlalchemy as sa
from dateutil import rrule
from flask_babel import gettext as _
from flask_babel import ngettext

from lms.accounts.models import Department, User
from lms.core import audit, texts
from lms.core.clock import local_today, to_utc
from lms.core.errors import Conflict, DomainError, NotAllowed
from lms.core.model import utcnow
from lms.programs.models import Program
from lms.programs.services import approved_version
from lms.sessions import queries
from lms.sessions.access import _notify, _require_manager, can_manage_session, lock_session
from lms.sessions.enrolment import _fill_from_waitlist
from lms.sessions.models import (
    MAX_CAPACITY,
    Acknowledgment,
    AttendanceMark,
    Enrolment,
    TrainingSession,
)

REPEATS = ("none", "weekly", "monthly_weekday", "monthly_day")


MAX_REPEAT = 52


# ----- scheduling -----------------------------------------------------------------------------


def occurrences(
    start: datetime, repeat: str = "none", count: int | None = None, until: date | None = None
) -> list[datetime]:
    """The local start times of a repeating session (dateutil.rrule), the first included."""
    if repeat not in REPEATS:
        raise DomainError(_("Choose how the session repeats."), field="repeat")
    if repeat == "none":
        return [start]
    if count is None and until is None:
        raise DomainError(
            _("Give the number of sessions or the date of the last one."), field="count"
        )
    if count is not None and not 1 <= count <= MAX_REPEAT:
        raise DomainError(
            _("Between 1 and %(n)d sessions can be created at once.", n=MAX_REPEAT),
            field="count",
        )
    if until is not None and until < start.date():
        raise DomainError(_("The last date is before the first session."), field="until")
    options: dict[str, Any] = {"dtstart": start}
    if until is not None:
        options["until"] = datetime.combine(until, datetime.max.time())
    else:
        options["count"] = count
    if repeat == "weekly":
        freq = rrule.WEEKLY
    elif repeat == "monthly_weekday":
        freq = rrule.MONTHLY
        nth = (start.day - 1) // 7 + 1
        options["byweekday"] = rrule.weekday(start.weekday())(-1 if nth == 5 else nth)
    else:
        freq = rrule.MONTHLY
        options["bymonthday"] = start.day
    found = list(islice(rrule.rrule(freq, **options), MAX_REPEAT + 1))
    if len(found) > MAX_REPEAT:
        raise DomainError(
            _("Between 1 and %(n)d sessions can be created at once.", n=MAX_REPEAT),
            field="until",
        )
    return found


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise DomainError(_("The end must be after the start."), field="ends_at")
    if ends_at - starts_at > timedelta(days=7):
        raise DomainError(_("A session can last at most 7 days."), field="ends_at")


def _check_capacity(capacity: int) -> None:
    if not isinstance(capacity, int) or not 1 <= capacity <= MAX_CAPACITY:
        raise DomainError(
            _("The capacity must be from 1 to %(n)d.", n=MAX_CAPACITY), field="capacity"
        )


def _instructor(session, instructor_id: int, program: Program, department_id: int | None) -> User:
    instructor = session.get(User, instructor_id) if instructor_id else None
    if instructor is None:
        raise DomainError(_("Choose the instructor."), field="instructor_id")
    allowed, _reason = can_manage_session(instructor, program, department_id)
    if not allowed:
        raise DomainError(
            _("%(name)s cannot run sessions of this program.", name=instructor.name),
            field="instructor_id",
        )
    return instructor


# the briefing types an event may carry, and those that need a reason (MK 749, 2464, 1120)
EVENT_TYPES = ("introductory", "initial", "repeated", "unscheduled", "targeted", "thematic")
NEEDS_REASON = ("unscheduled", "targeted")
# a completion earned at such an event answers no periodic due (not a yearly refresher)
NOT_A_REFRESHER = ("targeted", "thematic")
# what made an unscheduled or targeted briefing necessary (the regimes' triggers, plus a task)
EVENT_TRIGGERS = (
    "break",
    "transfer",
    "instruction_amended",
    "accident",
    "fire",
    "rule_breach",
    "new_rules",
    "knowledge_check_failed",
    "task",
    "other",
)


@dataclass(frozen=True)
class BriefingEvent:
    """The type of a briefing event and, when unscheduled or targeted, why (None: the program
    version's type, as before types belonged to events)."""

    briefing_type: str | None = None
    reason: str = ""
    trigger: str | None = None
    permit: str = ""


# (program) -> {event type the organisation's regimes allow for it: it needs a reason};
# compliance registers it (sessions does not read the regimes)
TypesSource = Callable[[Program], dict[str, bool]]
_allowed_types: list[TypesSource] = []


def register_allowed_types(func: TypesSource) -> TypesSource:
    _allowed_types[:] = [func]
    return func


def allowed_types(program: Program) -> dict[str, bool]:
    """{briefing type an event of this program may carry: whether it needs a reason} (every
    event type when no regime source is registered)."""
    if _allowed_types:
        return _allowed_types[0](program)
    return {k: k in NEEDS_REASON for k in EVENT_TYPES}


def allowed_types_of(session, program_id: int | None) -> dict[str, bool] | None:
    """The types a program's events may carry, or None for no such program."""
    program = session.get(Program, program_id) if program_id else None
    return allowed_types(program) if program is not None else None


def check_event(program: Program, event: BriefingEvent) -> BriefingEvent:
    """The event's type must be one the program's regimes allow; an unscheduled or targeted
    briefing needs its reason and trigger."""
    kind = event.briefing_type or None
    if kind is None:
        return BriefingEvent()
    allowed = allowed_types(program)
    if kind not in EVENT_TYPES or kind not in allowed:
        raise DomainError(
            _("The regimes of this program do not have this type of briefing."),
            field="briefing_type",
        )
    reason = (event.reason or "").strip()
    trigger = event.trigger or None
    permit = (event.permit or "").strip()
    if kind in NEEDS_REASON or allowed[kind]:
        if not reason:
            raise DomainError(
                _("An unscheduled or targeted briefing needs its reason."), field="briefing_reason"
            )
        if trigger not in EVENT_TRIGGERS:
            raise DomainError(
                _("Choose what made this briefing necessary."), field="briefing_trigger"
            )
    else:
        reason, trigger, permit = "", None, ""
    if kind != "targeted":
        permit = ""
    return BriefingEvent(kind, reason[:1000], trigger, permit[:200])


def schedule(
    session,
    *,
    program_id: int,
    instructor_id: int,
    starts_local: datetime,
    ends_local: datetime,
    place: str,
    capacity: int,
    actor: User,
    notes: str = "",
    open_signup: bool = True,
    department_id: int | None = None,
    repeat: str = "none",
    count: int | None = None,
    until: date | None = None,
    event: BriefingEvent | None = None,
) -> list[TrainingSession]:
    """Schedule a session, or a repeating series in one go, against the program's current
    approved version. Times are wall-clock times in the organisation's zone."""
    program = session.get(Program, program_id) if program_id else None
    if program is None:
        raise DomainError(_("Choose a program."), field="program_id")
    allowed, reason = can_manage_session(actor, program, department_id)
    if not allowed:
        raise NotAllowed(reason)
    if program.current_version_id is None:
        raise DomainError(
            _("This program has no approved version yet, so it cannot be scheduled."),
            field="program_id",
        )
    version = approved_version(session, program.current_version_id)
    if department_id is not None and session.get(Department, department_id) is None:
        raise DomainError(_("Unknown department."), field="department_id")
    instructor = _instructor(session, instructor_id, program, department_id)
    event = check_event(program, event or BriefingEvent())
    _check_times(starts_local, ends_local)
    _check_capacity(capacity)
    if starts_local.date() < local_today():
        raise DomainError(_("A session cannot be scheduled on a past day."), field="starts_at")
    duration = ends_local - starts_local
    starts = occurrences(starts_local, repeat, count, until)
    series = uuid.uuid4().hex if len(starts) > 1 else None
    created = []
    for start in starts:
        ts = TrainingSession(
            program_id=program.id,
            version_id=version.id,
            instructor_id=instructor.id,
            department_id=department_id,
            starts_at=to_utc(start),
            ends_at=to_utc(start + duration),
            place=place.strip()[:200],
            capacity=capacity,
            notes=notes.strip(),
            open_signup=open_signup,
            series_id=series,
            created_by_id=actor.id,
            updated_at=utcnow(),
            briefing_type=event.briefing_type,
            briefing_reason=event.reason,
            briefing_trigger=event.trigger,
            permit=event.permit,
        )
        session.add(ts)
        created.append(ts)
    session.flush()
    for ts in created:
        audit.record(
            session,
            actor.id,
            "create",
            "training_session",
            ts.id,
            texts.stored(
                "sessions.scheduled",
                code=program.code,
                n=version.number,
                when=ts.starts_at.isoformat(),
            ),
            instructor_id=instructor.id,
            capacity=capacity,
            series_id=series,
            briefing_type=event.briefing_type,
            trigger=event.trigger,
        )
    return created


def update_session(
    session,
    ts: TrainingSession,
    *,
    instructor_id: int,
    starts_local: datetime,
    ends_local: datetime,
    place: str,
    capacity: int,
    notes: str,
    open_signup: bool,
    actor: User,
    event: BriefingEvent | None = None,
) -> TrainingSession:
    """Change a scheduled session. The capacity may not drop below the people enrolled; a
    higher capacity takes people from the waitlist; a new time or place is announced."""
    ts = lock_session(session, ts.id)
    _require_manager(actor, ts)
    if ts.status != "scheduled":
        raise Conflict(_("Only a scheduled session can be changed."))
    instructor = _instructor(session, instructor_id, ts.program, ts.department_id)
    if event is None:  # unchanged
        event = BriefingEvent(ts.briefing_type, ts.briefing_reason, ts.briefing_trigger, ts.permit)
    event = check_event(ts.program, event)
    _check_times(starts_local, ends_local)
    _check_capacity(capacity)
    enrolled = queries.counts(session, ts.id)["enrolled"]
    if capacity < enrolled:
        raise DomainError(
            ngettext(
                "%(num)d person is already enrolled: the capacity cannot be lower.",
                "%(num)d people are already enrolled: the capacity cannot be lower.",
                enrolled,
            ),
            field="capacity",
        )
    starts_at, ends_at = to_utc(starts_local), to_utc(ends_local)
    if starts_at != ts.starts_at and starts_local.date() < local_today():
        raise DomainError(_("A session cannot be moved to a past day."), field="starts_at")
    before = {
        "instructor_id": ts.instructor_id,
        "starts_at": ts.starts_at.isoformat(),
        "ends_at": ts.ends_at.isoformat(),
        "place": ts.place,
        "capacity": ts.capacity,
        "notes": ts.notes,
        "open_signup": ts.open_signup,
        "briefing_type": ts.briefing_type,
        "briefing_reason": ts.briefing_reason,
        "briefing_trigger": ts.briefing_trigger,
        "permit": ts.permit,
    }
    moved = starts_at != ts.starts_at or ends_at != ts.ends_at or place.strip() != ts.place
    if moved and _attendance_taken(session, ts):
        raise DomainError(
            _("Attendance was already taken: the time and the place can no longer change."),
            field="starts_at",
        )
    retyped = (event.briefing_type, event.reason, event.trigger, event.permit) != (
        ts.briefing_type,
        ts.briefing_reason,
        ts.briefing_trigger,
        ts.permit,
    )
    if retyped and _attendance_taken(session, ts):
        raise DomainError(
            _("Attendance was already taken: the type of briefing can no longer change."),
            field="briefing_type",
        )
    ts.briefing_type, ts.briefing_reason = event.briefing_type, event.reason
    ts.briefing_trigger, ts.permit = event.trigger, event.permit
    ts.instructor_id = instructor.id
    ts.starts_at, ts.ends_at = starts_at, ends_at
    ts.place = place.strip()[:200]
    ts.capacity = capacity
    ts.notes = notes.strip()
    ts.open_signup = open_signup
    after = {
        "instructor_id": ts.instructor_id,
        "starts_at": ts.starts_at.isoformat(),
        "ends_at": ts.ends_at.isoformat(),
        "place": ts.place,
        "capacity": ts.capacity,
        "notes": ts.notes,
        "open_signup": ts.open_signup,
        "briefing_type": ts.briefing_type,
        "briefing_reason": ts.briefing_reason,
        "briefing_trigger": ts.briefing_trigger,
        "permit": ts.permit,
    }
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if not changed:
        return ts
    ts.updated_at = utcnow()
    if moved or "instructor_id" in changed:
        ts.sequence += 1
    session.flush()
    session.refresh(ts, ["instructor"])
    audit.record(session, actor.id, "change", "training_session", ts.id, "", changed=changed)
    _fill_from_waitlist(session, ts, actor)
    if moved:
        for enrolment in _active_enrolments(session, ts):
            _notify(session, enrolment.user, ts, "changed")
    return ts


def _attendance_taken(session, ts: TrainingSession) -> bool:
    """Whether any mark or acknowledgment names this session (they record its time and place)."""
    marked = sa.exists().where(AttendanceMark.session_id == ts.id)
    acked = sa.exists().where(Acknowledgment.session_id == ts.id)
    return bool(session.execute(sa.select(sa.or_(marked, acked))).scalar())


def cancel_session(session, ts: TrainingSession, reason: str, actor: User) -> TrainingSession:
    """Cancel a session that was not held, and tell everyone enrolled or waiting."""
    ts = lock_session(session, ts.id)
    _require_manager(actor, ts)
    if not reason.strip():
        raise DomainError(_("Give the reason for cancelling."), field="reason")
    if ts.status == "cancelled":
        raise Conflict(_("This session is already cancelled."))
    if ts.status == "held":
        raise Conflict(_("A session that was signed as conducted cannot be cancelled."))
    ts.status = "cancelled"
    ts.cancelled_at = utcnow().replace(microsecond=0)
    ts.cancelled_by_id = actor.id
    ts.cancel_reason = reason.strip()[:500]
    ts.sequence += 1
    ts.updated_at = utcnow()
    session.flush()
    people = _active_enrolments(session, ts)
    audit.record(
        session,
        actor.id,
        "cancel",
        "training_session",
        ts.id,
        ts.cancel_reason,
        notified=len(people),
    )
    for enrolment in people:
        _notify(session, enrolment.user, ts, "cancelled", reason=ts.cancel_reason)
    return ts


def _active_enrolments(session, ts: TrainingSession) -> list[Enrolment]:
    return list(
        session.execute(
            sa.select(Enrolment)
            .where(Enrolment.session_id == ts.id, Enrolment.status.in_(("enrolled", "waitlisted")))
            .order_by(Enrolment.id)
        ).scalars()
    )
