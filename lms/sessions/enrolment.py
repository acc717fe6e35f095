"""Enrolment: sign-up, invitations, nominations, the waitlist and cancellations.

Enrolment counts and inserts run under a row lock on the session, so capacity holds when
many people sign up at the same moment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.accounts.models import Department, User
from lms.accounts.services import subtree_ids
from lms.core import audit
from lms.core.clock import local_today
from lms.core.errors import Conflict, DomainError, NotAllowed
from lms.core.model import utcnow
from lms.programs.models import Program
from lms.sessions import queries
from lms.sessions.access import (
    _notify,
    _require_manager,
    lock_session,
    outside_unit_reason,
    require_own_unit,
)
from lms.sessions.models import (
    Enrolment,
    TrainingSession,
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
    require_own_unit(session, ts, user)
    enrolment, changed = _place(session, ts, user, "self", user.id)
    if not changed:
        raise Conflict(_("You are already signed up for this session."))
    return enrolment


@dataclass
class InviteResult:
    enrolled: list[User] = field(default_factory=list)
    waitlisted: list[User] = field(default_factory=list)
    skipped: list[User] = field(default_factory=list)
    refused: list[tuple[User, str]] = field(default_factory=list)  # with the reason


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
        reason = outside_unit_reason(session, ts, person)
        if reason is not None:
            result.refused.append((person, reason))
            continue
        enrolment, changed = _place(session, ts, person, "invited", actor.id)
        if not changed:
            result.skipped.append(person)
            continue
        waiting = enrolment.status == "waitlisted"
        (result.waitlisted if waiting else result.enrolled).append(person)
        _notify(session, person, ts, "invitation", waitlisted=waiting)
    return result


def open_sessions_for(session, program_id: int, person: User) -> list[TrainingSession]:
    """Every upcoming scheduled session of the program the person could join, soonest first:
    held for everyone or for a department that contains theirs, a responsible person's only
    for their own unit, and not one the person is already enrolled or waitlisted in."""
    candidates = session.execute(
        sa.select(TrainingSession)
        .where(
            TrainingSession.program_id == program_id,
            TrainingSession.status == "scheduled",
            TrainingSession.starts_at > utcnow(),
        )
        .order_by(TrainingSession.starts_at, TrainingSession.id)
    ).scalars()
    taken = set(
        session.execute(
            sa.select(Enrolment.session_id).where(
                Enrolment.user_id == person.id, Enrolment.status.in_(("enrolled", "waitlisted"))
            )
        ).scalars()
    )
    out = []
    for ts in candidates:
        if ts.id in taken or ts.instructor_id == person.id:
            continue
        if ts.department_id is not None and (
            person.department_id is None
            or person.department_id not in subtree_ids(session, ts.department_id)
        ):
            continue
        if outside_unit_reason(session, ts, person) is not None:
            continue
        out.append(ts)
    return out


def next_open_session(session, program_id: int, person: User) -> TrainingSession | None:
    """The earliest of open_sessions_for(), or None."""
    found = open_sessions_for(session, program_id, person)
    return found[0] if found else None


def nominate(session, ts: TrainingSession, person: User, manager: User) -> Enrolment:
    """A manager puts one of their own department's people into a session (one click from the
    compliance pages). Admins may nominate anyone."""
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
    require_own_unit(session, ts, person)
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
