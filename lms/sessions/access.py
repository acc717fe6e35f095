"""Who may run a session, the loaders that check it, and the messages sessions send."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import gettext as _

from lms.accounts.models import User
from lms.accounts.services import subtree_ids
from lms.cascade.services import teaching_right
from lms.core import outbox
from lms.core.clock import local_today
from lms.core.dates import fmt_datetime
from lms.core.errors import NotAllowed, NotFound
from lms.core.i18n import pick
from lms.core.model import utcnow
from lms.programs.models import Program
from lms.sessions import queries
from lms.sessions.models import (
    Enrolment,
    TrainingSession,
)

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
        right = teaching_right(
            sa.orm.object_session(program), user, program, department_id, local_today()
        )
        return right.allowed, right.reason
    return False, _("Only instructors and administrators can schedule and run sessions.")


def _require_manager(user, ts: TrainingSession) -> None:
    allowed, reason = can_manage_session(user, ts.program, ts.department_id)
    if not allowed:
        raise NotAllowed(reason)


def attendance_open(ts: TrainingSession) -> bool:
    """Attendance (walk-ins included) can be taken once the session has started, never for a
    cancelled one: marks made before the start would record a briefing that did not happen."""
    return ts.status != "cancelled" and ts.starts_at <= utcnow()


def briefs_own_unit_only(ts: TrainingSession) -> bool:
    """A session run by a designated responsible person (not an instructor or administrator)
    is for the people of the unit it was scheduled for, and nobody else."""
    instructor = ts.instructor
    return (
        ts.department_id is not None
        and not instructor.has_role("admin")
        and not instructor.has_role("instructor")
    )


def unit_ids(session, ts: TrainingSession) -> set[int] | None:
    """The departments whose people may attend the session, or None: anyone may."""
    if not briefs_own_unit_only(ts) or ts.department_id is None:
        return None
    return set(subtree_ids(session, ts.department_id))


def outside_unit_reason(session, ts: TrainingSession, person: User) -> str | None:
    """Why the person cannot be briefed in this session (another unit), or None."""
    allowed = unit_ids(session, ts)
    if allowed is None or person.department_id in allowed:
        return None
    return _(
        "%(name)s is not in %(unit)s: %(trainer)s is the responsible person for that unit and "
        "may brief only its people.",
        name=person.name,
        unit=ts.department.name if ts.department else "",
        trainer=ts.instructor.name,
    )


def require_own_unit(session, ts: TrainingSession, person: User, field: str | None = None) -> None:
    reason = outside_unit_reason(session, ts, person)
    if reason is not None:
        raise NotAllowed(reason, field=field)


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
        when = fmt_datetime(ts.starts_at)
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
        elif kind == "trainer_lost_right":
            subject = _(
                "Instructor no longer qualified: %(title)s, %(when)s", title=title, when=when
            )
            body = _(
                "%(instructor)s can no longer run this briefing: %(reason)s Choose another "
                "instructor or cancel the session: %(facts)s",
                instructor=ts.instructor.name,
                reason=extra.get("reason", ""),
                facts=facts,
            )
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
        dedupe_key=extra.get("dedupe_key"),
    )
