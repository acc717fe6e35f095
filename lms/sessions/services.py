"""Rules for scheduled briefings: scheduling, enrolment and the waitlist, attendance,
acknowledgments, the instructor's conduct signature, and the completions a held session gives.

Services flush, never commit. Attendance marks, acknowledgments and conduct signatures are
append-only and go into the ledger; everything else that changes is written to the audit log.
Enrolment counts and inserts run under a row lock on the session, so capacity holds when many
people sign up at the same moment.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any

import sqlalchemy as sa
from dateutil import rrule
from flask_babel import format_date, format_time, get_locale, ngettext
from flask_babel import gettext as _
from werkzeug.security import check_password_hash

from lms.accounts.models import Department, User
from lms.accounts.services import subtree_ids, verify_password
from lms.completions import services as completions
from lms.completions.models import Completion
from lms.core import audit, ledger, outbox
from lms.core.audit import AuditEntry
from lms.core.errors import Conflict, DomainError, NotAllowed, NotFound
from lms.core.i18n import pick
from lms.core.model import utcnow
from lms.programs.models import Program, ProgramVersion
from lms.programs.services import approved_version
from lms.sessions import queries
from lms.sessions.models import (
    ACK_METHODS,
    ATTENDANCE_STATUSES,
    ATTENDED,
    MAX_CAPACITY,
    Acknowledgment,
    AttendanceMark,
    Enrolment,
    SessionSignature,
    TrainingSession,
)
from lms.sessions.queries import local_date, local_today, to_utc

ATTENDANCE_KIND = "attendance"
ACK_KIND = "acknowledgment"
SIGNATURE_KIND = "session_signature"
MAX_REPEAT = 52
MAX_FAILED_ACKS = 5  # wrong passwords or PINs per enrolment within the window below
FAILED_ACK_WINDOW_MINUTES = 15
REPEATS = ("none", "weekly", "monthly_weekday", "monthly_day")


# ----- who may run sessions ---------------------------------------------------------------


def can_manage_session(user, program: Program | None, department_id: int | None):
    """Whether a person may schedule and run sessions of a program for a department.

    Returns (allowed, reason shown when not). Administrators and instructors may run any
    session. Every check of this right, in pages and services, goes through here.
    """
    if user is None or not getattr(user, "active", False):
        return False, _("This account cannot run sessions.")
    if user.has_role("admin") or user.has_role("instructor"):
        return True, None
    if program is not None:
        # a designated responsible person, for their own department, while trained (cascade)
        from lms.cascade.services import teaching_right

        right = teaching_right(
            sa.orm.object_session(program), user, program, department_id, local_today()
        )
        return right.allowed, right.reason
    return False, _("Only instructors and administrators can schedule and run sessions.")


def _require_manager(user, ts: TrainingSession) -> None:
    allowed, reason = can_manage_session(user, ts.program, ts.department_id)
    if not allowed:
        raise NotAllowed(reason)


# ----- loaders ------------------------------------------------------------------------------


def get_session(session, ts_id: int) -> TrainingSession:
    ts = session.get(TrainingSession, ts_id)
    if ts is None:
        raise NotFound(_("No such session."))
    return ts


def managed_session(session, user, ts_id: int) -> TrainingSession:
    """A session the user may run; NotFound or NotAllowed otherwise."""
    ts = get_session(session, ts_id)
    _require_manager(user, ts)
    return ts


def visible_session(session, user, ts_id: int) -> TrainingSession:
    """A session the user may see: everyone with sessions.view_all, others only their own
    sessions and sessions open to them for sign-up. Others look like no session at all."""
    ts = get_session(session, ts_id)
    if user.can("sessions.view_all") or ts.instructor_id == user.id:
        return ts
    if queries.enrolment_of(session, ts.id, user.id) is not None:
        return ts
    if (
        ts.status == "scheduled"
        and ts.open_signup
        and queries.in_audience(session, user, ts.version)
    ):
        return ts
    raise NotFound(_("No such session."))


def own_enrolment(session, user, enrolment_id: int) -> Enrolment:
    """The user's own enrolment; someone else's is refused with a clear message."""
    enrolment = session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound(_("No such enrolment."))
    if enrolment.user_id != user.id:
        raise NotAllowed(_("You can only act for yourself: this enrolment is someone else's."))
    return enrolment


def session_enrolment(session, ts: TrainingSession, enrolment_id: int) -> Enrolment:
    enrolment = session.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.session_id != ts.id:
        raise NotFound(_("No such enrolment."))
    return enrolment


def lock_session(session, ts_id: int) -> TrainingSession:
    """The session row, locked until the transaction ends (FOR UPDATE on PostgreSQL; on
    SQLite a no-op write takes the database's write lock, which serialises writers)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            sa.update(TrainingSession)
            .where(TrainingSession.id == ts_id)
            .values(sequence=TrainingSession.sequence)
            .execution_options(synchronize_session=False)
        )
    ts = session.execute(
        sa.select(TrainingSession)
        .where(TrainingSession.id == ts_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if ts is None:
        raise NotFound(_("No such session."))
    return ts


# ----- messages -------------------------------------------------------------------------------


def _notify(session, user: User, ts: TrainingSession, kind: str, **extra: Any) -> None:
    """Queue a message to one person, in their language."""

    def render() -> tuple[str, str]:
        locale = str(get_locale() or "en")
        title = pick(ts.version.title, locale)[0]
        when = f"{format_date(ts.starts_at, 'long')}, {format_time(ts.starts_at, 'short')}"
        place = ts.place or _("place to be announced")
        facts = _(
            "%(title)s, %(when)s, %(place)s. Instructor: %(instructor)s.",
            title=title,
            when=when,
            place=place,
            instructor=ts.instructor.name,
        )
        if kind == "invitation":
            subject = _("Invitation to a briefing: %(title)s, %(when)s", title=title, when=when)
            body = _("You are invited to a briefing: %(facts)s", facts=facts)
            if extra.get("waitlisted"):
                body += "\n" + _(
                    "The session is full: you are on the waitlist and will be told when a "
                    "place becomes free."
                )
        elif kind == "promoted":
            subject = _("A place became free: %(title)s, %(when)s", title=title, when=when)
            body = _("You have moved from the waitlist into the session: %(facts)s", facts=facts)
        elif kind == "cancelled":
            subject = _("Cancelled: %(title)s, %(when)s", title=title, when=when)
            body = _("This briefing was cancelled: %(facts)s", facts=facts)
            body += "\n" + _("Reason: %(reason)s", reason=extra.get("reason", ""))
        else:  # changed
            subject = _("Changed: %(title)s, now %(when)s", title=title, when=when)
            body = _("The time or place of this briefing changed: %(facts)s", facts=facts)
        return subject, body

    subject, body = outbox.in_locale(user, render)
    outbox.queue(
        session,
        user_id=user.id,
        kind=f"session_{kind}",
        subject=subject,
        body=body,
        link=f"/sessions/{ts.id}",
    )


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
            f"{program.code} v{version.number} {ts.starts_at.isoformat()}",
            instructor_id=instructor.id,
            capacity=capacity,
            series_id=series,
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
) -> TrainingSession:
    """Change a scheduled session. The capacity may not drop below the people enrolled; a
    higher capacity takes people from the waitlist; a new time or place is announced."""
    ts = lock_session(session, ts.id)
    _require_manager(actor, ts)
    if ts.status != "scheduled":
        raise Conflict(_("Only a scheduled session can be changed."))
    instructor = _instructor(session, instructor_id, ts.program, ts.department_id)
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
    }
    moved = starts_at != ts.starts_at or ends_at != ts.ends_at or place.strip() != ts.place
    if moved and _attendance_taken(session, ts):
        raise DomainError(
            _("Attendance was already taken: the time and the place can no longer change."),
            field="starts_at",
        )
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


# ----- enrolment ------------------------------------------------------------------------------


def _require_enrollable(ts: TrainingSession) -> None:
    if ts.status == "cancelled":
        raise DomainError(_("This session was cancelled: nobody can be enrolled in it."))
    if ts.status == "held" or ts.starts_at <= utcnow():
        raise DomainError(
            _("This session has already started or taken place: nobody can be enrolled any more.")
        )


def _place(
    session, ts: TrainingSession, user: User, source: str, actor_id: int | None
) -> tuple[Enrolment, bool]:
    """Enrol the person, or put them on the waitlist when the session is full.

    Runs under the session's row lock. Returns (enrolment, whether anything changed).
    """
    enrolment = queries.enrolment_of(session, ts.id, user.id)
    if enrolment is not None and enrolment.status != "cancelled":
        return enrolment, False
    enrolled = queries.counts(session, ts.id)["enrolled"]
    status = "enrolled" if enrolled < ts.capacity else "waitlisted"
    now = utcnow()
    if enrolment is None:
        enrolment = Enrolment(session_id=ts.id, user_id=user.id)
        session.add(enrolment)
    enrolment.status = status
    enrolment.source = source
    enrolment.requested_at = now
    enrolment.cancelled_at = None
    enrolment.invited_by_id = actor_id if source != "self" else None
    session.flush()
    audit.record(
        session,
        actor_id,
        "enrol" if status == "enrolled" else "waitlist",
        "session_enrolment",
        enrolment.id,
        user.name,
        session_id=ts.id,
        source=source,
    )
    return enrolment, True


def sign_up(session, ts_id: int, user: User) -> Enrolment:
    """An employee signs up for an open session: enrolled while there is room, else waitlisted."""
    ts = lock_session(session, ts_id)
    if ts.instructor_id == user.id:
        raise DomainError(_("You are the instructor of this session."))
    _require_enrollable(ts)
    if not ts.open_signup:
        raise NotAllowed(_("This session is by invitation only."))
    if not queries.in_audience(session, user, ts.version):
        raise NotAllowed(_("This session is not meant for your department or job title."))
    enrolment, changed = _place(session, ts, user, "self", user.id)
    if not changed:
        raise Conflict(_("You are already signed up for this session."))
    return enrolment


@dataclass
class InviteResult:
    enrolled: list[User] = field(default_factory=list)
    waitlisted: list[User] = field(default_factory=list)
    skipped: list[User] = field(default_factory=list)


def invite(session, ts: TrainingSession, people: list[User], actor: User) -> InviteResult:
    """Invite people: each is enrolled (or waitlisted when full) and gets a message. People
    already in the session, inactive people and the instructor are skipped."""
    ts = lock_session(session, ts.id)
    _require_manager(actor, ts)
    _require_enrollable(ts)
    result = InviteResult()
    for person in people:
        if not person.active or person.id == ts.instructor_id:
            result.skipped.append(person)
            continue
        enrolment, changed = _place(session, ts, person, "invited", actor.id)
        if not changed:
            result.skipped.append(person)
            continue
        waiting = enrolment.status == "waitlisted"
        (result.waitlisted if waiting else result.enrolled).append(person)
        _notify(session, person, ts, "invitation", waitlisted=waiting)
    return result


def next_open_session(session, program_id: int, person: User) -> TrainingSession | None:
    """The earliest upcoming scheduled session of the program the person could join: held for
    everyone or for a department that contains theirs."""
    from lms.accounts.services import subtree_ids

    candidates = session.execute(
        sa.select(TrainingSession)
        .where(
            TrainingSession.program_id == program_id,
            TrainingSession.status == "scheduled",
            TrainingSession.starts_at > utcnow(),
        )
        .order_by(TrainingSession.starts_at)
        .limit(20)
    ).scalars()
    for ts in candidates:
        if ts.department_id is None or (
            person.department_id is not None
            and person.department_id in subtree_ids(session, ts.department_id)
        ):
            return ts
    return None


def nominate(session, ts: TrainingSession, person: User, manager: User) -> Enrolment:
    """A manager puts one of their own department's people into a session (one click from the
    compliance pages). Admins may nominate anyone."""
    from lms.accounts.services import subtree_ids

    if not manager.has_role("admin"):
        own = subtree_ids(session, manager.department_id) if manager.department_id else []
        if person.department_id not in own:
            raise NotAllowed(_("You can invite only the people of your own department."))
    if not person.active:
        raise DomainError(_("%(name)s is deactivated.", name=person.name))
    ts = lock_session(session, ts.id)
    _require_enrollable(ts)
    if person.id == ts.instructor_id:
        raise DomainError(_("The instructor cannot be enrolled in their own session."))
    enrolment, changed = _place(session, ts, person, "invited", manager.id)
    if not changed:
        raise Conflict(_("%(name)s is already in this session.", name=person.name))
    _notify(session, person, ts, "invitation", waitlisted=enrolment.status == "waitlisted")
    audit.record(session, manager.id, "nominate", "session", ts.id, person.name)
    return enrolment


def invite_person(session, ts: TrainingSession, user_id: int, actor: User) -> InviteResult:
    person = session.get(User, user_id) if user_id else None
    if person is None:
        raise DomainError(_("Choose a person."), field="user_id")
    if not person.active:
        raise DomainError(_("%(name)s is deactivated.", name=person.name), field="user_id")
    if person.id == ts.instructor_id:
        raise DomainError(
            _("The instructor cannot be enrolled in their own session."), field="user_id"
        )
    result = invite(session, ts, [person], actor)
    if result.skipped:
        raise Conflict(_("%(name)s is already in this session.", name=person.name))
    return result


def invite_department(
    session, ts: TrainingSession, department_id: int, actor: User, include_sub: bool = True
) -> InviteResult:
    if not department_id or session.get(Department, department_id) is None:
        raise DomainError(_("Choose a department."), field="department_id")
    ids = subtree_ids(session, department_id) if include_sub else [department_id]
    people = list(
        session.execute(
            sa.select(User)
            .where(User.department_id.in_(ids), User.active.is_(True))
            .order_by(User.name)
        ).scalars()
    )
    if not people:
        raise DomainError(_("Nobody works in this department."), field="department_id")
    return invite(session, ts, people, actor)


def due_people(session, program: Program, today: date) -> list[User]:
    """Everyone due for this program: in the current version's audience (department codes with
    their sub-departments, job titles; empty means everyone), active, and without a valid
    completion or with one that expires within 30 days."""
    stmt = queries.due_stmt(session, program, today)
    return [] if stmt is None else list(session.execute(stmt).scalars())


def invite_due(session, ts: TrainingSession, actor: User) -> InviteResult:
    people = due_people(session, ts.program, local_today())
    if not people:
        raise DomainError(_("Nobody is due for this program."))
    return invite(session, ts, people, actor)


def _fill_from_waitlist(session, ts: TrainingSession, actor: User | None) -> list[Enrolment]:
    """Move people from the waitlist into free places, first come first served."""
    free = ts.capacity - queries.counts(session, ts.id)["enrolled"]
    if free <= 0:
        return []
    waiting = list(
        session.execute(
            sa.select(Enrolment)
            .where(Enrolment.session_id == ts.id, Enrolment.status == "waitlisted")
            .order_by(Enrolment.requested_at, Enrolment.id)
            .limit(free)
        ).scalars()
    )
    for enrolment in waiting:
        enrolment.status = "enrolled"
        session.flush()
        audit.record(
            session,
            actor.id if actor else None,
            "promote",
            "session_enrolment",
            enrolment.id,
            enrolment.user.name,
            session_id=ts.id,
        )
        _notify(session, enrolment.user, ts, "promoted")
    return waiting


def cancel_enrolment(session, enrolment: Enrolment, actor: User) -> list[Enrolment]:
    """Take a person out of a session (they or a session manager); the first on the waitlist
    moves up. Returns the people promoted."""
    ts = lock_session(session, enrolment.session_id)
    session.refresh(enrolment)
    if enrolment.user_id != actor.id:
        _require_manager(actor, ts)
    if enrolment.status == "cancelled":
        raise Conflict(_("This enrolment is already cancelled."))
    if ts.status != "scheduled" or ts.starts_at <= utcnow():
        raise DomainError(
            _("The session has started, taken place or been cancelled: the enrolment stays.")
        )
    was = enrolment.status
    enrolment.status = "cancelled"
    enrolment.cancelled_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor.id,
        "cancel",
        "session_enrolment",
        enrolment.id,
        enrolment.user.name,
        session_id=ts.id,
        was=was,
    )
    return _fill_from_waitlist(session, ts, actor) if was == "enrolled" else []


# ----- attendance -----------------------------------------------------------------------------


def _require_attendance_open(ts: TrainingSession) -> None:
    if ts.status == "cancelled":
        raise DomainError(_("This session was cancelled."))
    if local_date(ts.starts_at) > local_today():
        raise DomainError(_("Attendance can be taken from the day of the session."))


# The fields each hash covers, in order. The object-based hashes below read these fields and
# call the row-based ones that verification uses, so the two can never drift apart.
MARK_FIELDS = (
    "id",
    "session_id",
    "enrolment_id",
    "user_id",
    "status",
    "recorded_by_id",
    "recorded_at",
    "supersedes_id",
    "note",
)
ACK_FIELDS = (
    "id",
    "session_id",
    "enrolment_id",
    "user_id",
    "method",
    "meaning",
    "printed_name",
    "job_title",
    "acknowledged_at",
    "witness_id",
    "content_hash",
    "supersedes_id",
)
SIGNATURE_FIELDS = (
    "id",
    "session_id",
    "signer_id",
    "printed_name",
    "meaning",
    "method",
    "signed_at",
    "content_hash",
    "covers",
    "supersedes_id",
)


def mark_row_hash(row: tuple) -> str:
    """The attendance-mark hash from a tuple of MARK_FIELDS."""
    mark_id, session_id, enrolment, user, status, by, at, supersedes, note = row
    return ledger.sha256(
        {
            "mark": mark_id,
            "session": session_id,
            "enrolment": enrolment,
            "user": user,
            "status": status,
            "by": by,
            "at": at.isoformat(),
            "supersedes": supersedes,
            "note": note,
        }
    )


def mark_hash(m: AttendanceMark) -> str:
    return mark_row_hash(ledger.values(m, MARK_FIELDS))


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
            f"{enrolment.user.name}: {status}",
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
        note=_("Walk-in") if queries.latest_signature(session, ts.id) else "",
    )
    return enrolment


# ----- acknowledgments ------------------------------------------------------------------------


def ack_content_hash(ts: TrainingSession, user_id: int) -> str:
    """What an attendee acknowledges: this session of this exact program version."""
    return ledger.sha256(
        {
            "session": ts.id,
            "program": ts.program.code,
            "version": ts.version.number,
            "version_hash": ts.version.content_hash,
            "starts_at": ts.starts_at.isoformat(),
            "user": user_id,
            "meaning": "received",
        }
    )


def ack_row_hash(row: tuple) -> str:
    """The acknowledgment hash from a tuple of ACK_FIELDS."""
    (
        ack_id,
        session_id,
        enrolment,
        user,
        method,
        meaning,
        printed_name,
        job_title,
        at,
        witness,
        content_hash,
        supersedes,
    ) = row
    return ledger.sha256(
        {
            "ack": ack_id,
            "session": session_id,
            "enrolment": enrolment,
            "user": user,
            "method": method,
            "meaning": meaning,
            "printed_name": printed_name,
            "job_title": job_title,
            "at": at.isoformat(),
            "witness": witness,
            "content_hash": content_hash,
            "supersedes": supersedes,
        }
    )


def ack_hash(a: Acknowledgment) -> str:
    return ack_row_hash(ledger.values(a, ACK_FIELDS))


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
            audit.record(
                session,
                actor.id,
                "acknowledge_failed",
                "session_enrolment",
                enrolment.id,
                f"wrong {method}",
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


# ----- the conduct signature ------------------------------------------------------------------


def attendance_content(
    ts: TrainingSession, marks: list[AttendanceMark], acks: list[Acknowledgment]
) -> dict[str, Any]:
    """Everything the instructor's signature vouches for, in a stable shape."""
    return attendance_content_rows(
        (
            ts.id,
            ts.program.code,
            ts.version.number,
            ts.version.content_hash,
            ts.instructor_id,
            ts.starts_at,
            ts.ends_at,
            ts.place,
        ),
        [ledger.values(m, MARK_FIELDS) for m in marks],
        [ledger.values(a, ACK_FIELDS) for a in acks],
    )


def attendance_content_rows(ts_row: tuple, marks: list[tuple], acks: list[tuple]) -> dict:
    """attendance_content from tuples: the session as (id, program code, version number,
    version hash, instructor id, starts_at, ends_at, place), marks as MARK_FIELDS tuples and
    acknowledgments as ACK_FIELDS tuples."""
    session_id, code, number, version_hash, instructor, starts_at, ends_at, place = ts_row
    return {
        "session": session_id,
        "program": code,
        "version": number,
        "version_hash": version_hash,
        "instructor": instructor,
        "starts_at": starts_at.isoformat(),
        "ends_at": ends_at.isoformat(),
        "place": place,
        "attendance": [
            {"mark": m[0], "user": m[3], "status": m[4], "by": m[5], "at": m[6].isoformat()}
            for m in sorted(marks, key=lambda m: (m[3], m[0]))
        ],
        "acknowledgments": [
            {
                "ack": a[0],
                "user": a[3],
                "method": a[4],
                "at": a[8].isoformat(),
                "content_hash": a[10],
            }
            for a in sorted(acks, key=lambda a: (a[3], a[0]))
        ],
    }


def signature_row_hash(row: tuple, content_hash_now: str) -> str:
    """The conduct-signature hash from a tuple of SIGNATURE_FIELDS."""
    sig_id, session_id, signer, printed_name, meaning, method, signed_at, chash, covers, sup = row
    return ledger.sha256(
        {
            "signature": sig_id,
            "session": session_id,
            "signer": signer,
            "printed_name": printed_name,
            "meaning": meaning,
            "method": method,
            "signed_at": signed_at.isoformat(),
            "content_hash": chash,
            "covers": covers,
            "supersedes": sup,
            "content_hash_now": content_hash_now,
        }
    )


def signature_hash(sig: SessionSignature, content_hash_now: str) -> str:
    return signature_row_hash(ledger.values(sig, SIGNATURE_FIELDS), content_hash_now)


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
        audit.record(session, signer.id, "sign_failed", "training_session", ts.id, "wrong password")
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
    if not any(r.attended for r in roster.enrolled):
        raise DomainError(_("Nobody was present. Cancel the session instead of signing it."))
    marks = [r.mark for r in roster.enrolled]
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
        f"{ts.program.code} v{ts.version.number}",
        meaning="conducted",
        content_hash=content_hash,
        supersedes=previous.id if previous else None,
    )
    _grant_completions(session, ts, sig)
    return sig


def _passed_attempt(session, user_id: int, program_id: int) -> int | None:
    """The person's passed quiz attempt for the program (owned by the learning domain)."""
    try:
        from lms.learning.services import passed_attempt_id
    except ImportError:  # the learning domain is not installed: no quiz can have been passed
        return None
    return passed_attempt_id(session, user_id, program_id)


def _grant_completions(session, ts: TrainingSession, sig: SessionSignature) -> list[Completion]:
    """Completions for everyone the signature shows present or late who acknowledged.

    When the version has quiz questions, a passed quiz is needed too (the learning domain
    records the completion later through held_attendance() otherwise). Never twice for one
    session and person; a person whose attendance was corrected away loses the completion.
    """
    version = ts.version
    covered = set((sig.covers or {}).get("marks", []))
    roster = queries.roster(session, ts)
    existing: dict[int, Completion] = {}
    for c in session.execute(
        sa.select(Completion).where(Completion.session_id == ts.id).order_by(Completion.id)
    ).scalars():
        existing[c.user_id] = c  # the newest per person
    completed_on = local_date(ts.starts_at)
    lineage = _cascade_lineage(session, ts, completed_on)
    granted = []
    for row in roster.enrolled:
        qualifies = (
            row.mark is not None
            and row.mark.id in covered
            and row.mark.status in ATTENDED
            and row.ack is not None
        )
        held = existing.get(row.user.id)
        if held is not None and held.revocation is None:
            if row.mark is not None and row.mark.id in covered and not row.attended:
                completions.revoke(
                    session,
                    held,
                    _("Attendance corrected after the session was signed."),
                    sig.signer_id,
                )
            continue
        if not qualifies:
            continue
        attempt_id = None
        if version.questions:
            attempt_id = _passed_attempt(session, row.user.id, ts.program_id)
            if attempt_id is None:
                continue
        granted.append(
            completions.record_completion(
                session,
                user_id=row.user.id,
                version=version,
                completed_on=completed_on,
                earned_by="session",
                actor_id=sig.signer_id,
                session_id=ts.id,
                attempt_id=attempt_id,
                trainer_id=ts.instructor_id,
                supersedes=held,
                **lineage,
            )
        )
    return granted


def _cascade_lineage(session, ts: TrainingSession, on: date) -> dict:
    """For a cascade program: the level taught and the trainer's own completion (lineage)."""
    if ts.version.delivery_mode != "cascade":
        return {}
    from lms.cascade.services import teaching_right

    right = teaching_right(session, ts.instructor, ts.program, ts.department_id, on)
    own = right.own_completion if right.allowed and right.level >= 1 else None
    return {
        "cascade_level": right.level if right.allowed else None,
        "trainer_completion_id": own.id if own is not None else None,
    }


def held_attendance(session, user_id: int, program_id: int) -> tuple[int, int] | None:
    """(session id, instructor id) of the newest session of the program that was signed as
    conducted where the person was present or late and acknowledged, or None.

    The learning domain calls this when a quiz is passed, to record the session completion.
    """
    mk, ak = queries.current_mark_ids(), queries.current_ack_ids()
    row = session.execute(
        sa.select(TrainingSession.id, TrainingSession.instructor_id)
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
    ).first()
    return (row[0], row[1]) if row else None


def next_enrolment(session, user_id: int, program_id: int) -> TrainingSession | None:
    """The person's next session of the program that they are enrolled in (not waitlisted)."""
    return next_enrolments(session, user_id, [program_id]).get(program_id)


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


# ----- ledger resolvers -----------------------------------------------------------------------


def _resolve_marks(session, ids: list[str]) -> dict[str, str]:
    cols = ledger.values(AttendanceMark, MARK_FIELDS)
    return {str(row[0]): mark_row_hash(row) for row in ledger.rows_by_id(session, cols, ids)}


def _resolve_acks(session, ids: list[str]) -> dict[str, str]:
    cols = ledger.values(Acknowledgment, ACK_FIELDS)
    return {str(row[0]): ack_row_hash(row) for row in ledger.rows_by_id(session, cols, ids)}


def _resolve_signatures(session, ids: list[str]) -> dict[str, str]:
    """Recompute each signature's hash, with the attendance it covers read afresh."""
    sig_cols = ledger.values(SessionSignature, SIGNATURE_FIELDS)
    sigs = list(ledger.rows_by_id(session, sig_cols, ids))
    covers = [s[8] or {} for s in sigs]
    mark_ids = {i for c in covers for i in c.get("marks", [])}
    ack_ids = {i for c in covers for i in c.get("acks", [])}
    mark_cols = ledger.values(AttendanceMark, MARK_FIELDS)
    ack_cols = ledger.values(Acknowledgment, ACK_FIELDS)
    marks = {row[0]: row for row in ledger.rows_by_id(session, mark_cols, mark_ids)}
    acks = {row[0]: row for row in ledger.rows_by_id(session, ack_cols, ack_ids)}
    ts_cols = (
        TrainingSession.id,
        Program.code,
        ProgramVersion.number,
        ProgramVersion.content_hash,
        TrainingSession.instructor_id,
        TrainingSession.starts_at,
        TrainingSession.ends_at,
        TrainingSession.place,
    )
    sessions = {
        row[0]: row
        for row in session.execute(
            sa.select(*ts_cols)
            .join(Program, Program.id == TrainingSession.program_id)
            .join(ProgramVersion, ProgramVersion.id == TrainingSession.version_id)
            .where(TrainingSession.id.in_({s[1] for s in sigs} or {0}))
        )
    }
    out = {}
    for s, c in zip(sigs, covers, strict=True):
        content = attendance_content_rows(
            sessions[s[1]],
            [marks[i] for i in c.get("marks", []) if i in marks],
            [acks[i] for i in c.get("acks", []) if i in acks],
        )
        out[str(s[0])] = signature_row_hash(s, ledger.sha256(content))
    return out


ledger.register_kind(ATTENDANCE_KIND, _resolve_marks, every=sa.select(AttendanceMark.id))
ledger.register_kind(ACK_KIND, _resolve_acks, every=sa.select(Acknowledgment.id))
ledger.register_kind(SIGNATURE_KIND, _resolve_signatures, every=sa.select(SessionSignature.id))
