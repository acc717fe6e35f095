"""Reminders and in-app notifications: what is queued in the outbox, and who reads it.

``generate_reminders`` decides who needs a message today and queues it in the outbox
(``lms.core.outbox``); ``lms.compliance.mail.deliver_pending`` sends what is queued. Every
reminder has a deterministic ``dedupe_key``, so running the generator again the same day (or
the next day, for the same due date) queues nothing new:

- ``due:{user}:{program}:{due_on}``: a refresher is due soon (within the window);
- ``overdue:{user}:{program}:{due_on}``: it is overdue;
- ``overdue-manager:{manager}:{user}:{program}:{due_on}``: a copy to the person's manager once
  it has been overdue for more than ``manager_after_days``;
- ``flagged:{user}:{program}:{completed_on}``: the person's briefing was given by a trainer
  whose own right lapsed: to be briefed again;
- people never trained for a required program are reminded like any other due date (their
  start date), due soon or overdue;
- ``session-1d:{session}:{user}``: an enrolled person's session starts tomorrow (in the
  organisation's time zone).

Invitations are queued by the sessions domain when people are invited; delivery sends them too.
Services here flush, never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _

from lms.accounts.models import Department, User
from lms.compliance import engine
from lms.core import outbox
from lms.core.clock import day_bounds
from lms.core.dates import fmt_date, fmt_datetime
from lms.core.errors import NotFound
from lms.core.i18n import pick
from lms.core.model import utcnow
from lms.core.outbox import OutboxMessage
from lms.programs.models import Program, ProgramVersion
from lms.sessions import lapses
from lms.sessions.models import Enrolment, TrainingSession

DEFAULT_MANAGER_AFTER_DAYS = 14
_CHUNK = 500  # ids or keys per IN (...) list, well under every engine's limit

KIND_DUE = "reminder_due"
KIND_OVERDUE = "reminder_overdue"
KIND_OVERDUE_MANAGER = "reminder_overdue_manager"
KIND_SESSION = "reminder_session"
KIND_FLAGGED = "reminder_flagged"


@dataclass(frozen=True)
class _Draft:
    """A message to queue: rendered later in the recipient's language."""

    key: str
    user_id: int
    kind: str
    link: str
    facts: dict


def _chunks(items: list, size: int = _CHUNK) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _existing_keys(session, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for part in _chunks(keys):
        found.update(
            session.execute(
                sa.select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(part))
            ).scalars()
        )
    return found


def _users(session, ids: set[int]) -> dict[int, User]:
    out: dict[int, User] = {}
    for part in _chunks(sorted(ids)):
        for user in session.execute(sa.select(User).where(User.id.in_(part))).scalars():
            out[user.id] = user
    return out


def _manager_of(departments: dict[int, tuple[int | None, int | None]]):
    """A function: (department id, person id) -> the nearest manager up the tree who is not
    the person (a department without a manager hands the copy to the one above it)."""

    def find(dept_id: int | None, person_id: int) -> int | None:
        seen: set[int] = set()
        while dept_id is not None and dept_id not in seen:
            seen.add(dept_id)
            parent_id, manager_id = departments.get(dept_id, (None, None))
            if manager_id is not None and manager_id != person_id:
                return manager_id
            dept_id = parent_id
        return None

    return find


def _status_drafts(session, today: date, window_days: int, manager_after_days: int):
    """Drafts for due-soon and overdue pairs, from one set-based status query."""
    s = engine.status_select(session, today, window_days).subquery("s")
    rows = session.execute(
        sa.select(
            s.c.user_id,
            s.c.department_id,
            s.c.program_id,
            s.c.status,
            s.c.due_on,
            Program.code,
            ProgramVersion.title,
        )
        .join(Program, Program.id == s.c.program_id)
        .join(ProgramVersion, ProgramVersion.id == Program.current_version_id)
        .where(s.c.status.in_(("due_soon", "overdue", "never_trained", "flagged")))
        .order_by(s.c.due_on, s.c.user_id, s.c.program_id)
    ).all()
    if not rows:
        return []
    departments = {
        d_id: (parent_id, manager_id)
        for d_id, parent_id, manager_id in session.execute(
            sa.select(Department.id, Department.parent_id, Department.manager_id)
        )
    }
    manager_of = _manager_of(departments)
    drafts = []
    for r in rows:
        facts = {"code": r.code, "title": r.title, "due_on": r.due_on, "person_id": r.user_id}
        status = r.status
        if status == "flagged":  # their briefing no longer counts: to be briefed again
            drafts.append(
                _Draft(
                    f"flagged:{r.user_id}:{r.program_id}:{r.due_on}",
                    r.user_id,
                    KIND_FLAGGED,
                    "/learning/",
                    facts,
                )
            )
            continue
        if status == "never_trained":  # due from the start date, like any other due date
            if r.due_on > today + timedelta(days=window_days):
                continue
            status = "overdue" if r.due_on < today else "due_soon"
        if status == "due_soon":
            drafts.append(
                _Draft(
                    f"due:{r.user_id}:{r.program_id}:{r.due_on}",
                    r.user_id,
                    KIND_DUE,
                    "/learning/",
                    facts,
                )
            )
            continue
        drafts.append(
            _Draft(
                f"overdue:{r.user_id}:{r.program_id}:{r.due_on}",
                r.user_id,
                KIND_OVERDUE,
                "/learning/",
                facts,
            )
        )
        days = (today - r.due_on).days
        manager_id = manager_of(r.department_id, r.user_id)
        if days > manager_after_days and manager_id is not None:
            drafts.append(
                _Draft(
                    f"overdue-manager:{manager_id}:{r.user_id}:{r.program_id}:{r.due_on}",
                    manager_id,
                    KIND_OVERDUE_MANAGER,
                    f"/people/{r.user_id}/training",
                    {**facts, "days": days},
                )
            )
    return drafts


def _session_drafts(session, today: date):
    """Drafts for everyone enrolled (not waitlisted or cancelled) in a session tomorrow."""
    tomorrow = today + timedelta(days=1)
    start, end = day_bounds(tomorrow, tomorrow)
    instructor = sa.orm.aliased(User)
    person = sa.orm.aliased(User)
    rows = session.execute(
        sa.select(
            TrainingSession.id,
            TrainingSession.starts_at,
            TrainingSession.place,
            ProgramVersion.title,
            Program.code,
            instructor.name.label("instructor"),
            Enrolment.user_id,
        )
        .join(Enrolment, Enrolment.session_id == TrainingSession.id)
        .join(person, person.id == Enrolment.user_id)
        .join(ProgramVersion, ProgramVersion.id == TrainingSession.version_id)
        .join(Program, Program.id == TrainingSession.program_id)
        .join(instructor, instructor.id == TrainingSession.instructor_id)
        .where(
            TrainingSession.status == "scheduled",
            TrainingSession.starts_at >= start,
            TrainingSession.starts_at < end,
            Enrolment.status == "enrolled",
            person.active.is_(True),
        )
        .order_by(TrainingSession.starts_at, TrainingSession.id, Enrolment.user_id)
    ).all()
    return [
        _Draft(
            f"session-1d:{r.id}:{r.user_id}",
            r.user_id,
            KIND_SESSION,
            f"/sessions/{r.id}",
            {
                "code": r.code,
                "title": r.title,
                "starts_at": r.starts_at,
                "place": r.place,
                "instructor": r.instructor,
            },
        )
        for r in rows
    ]


def _render(draft: _Draft, recipient: User, people: dict[int, User]) -> tuple[str, str]:
    """Subject and body in the active language (called inside outbox.in_locale)."""
    f = draft.facts
    title = pick(f["title"], str(get_locale() or "en"))[0] or f["code"]
    greeting = _("Hello %(name)s,", name=recipient.name)
    if draft.kind == KIND_SESSION:
        when = fmt_datetime(f["starts_at"])
        place = f["place"] or _("place to be announced")
        subject = _("Tomorrow: %(title)s, %(when)s", title=title, when=when)
        text = _(
            "A reminder: you are enrolled in a briefing tomorrow: %(title)s, %(when)s, "
            "%(place)s. Instructor: %(instructor)s.",
            title=title,
            when=when,
            place=place,
            instructor=f["instructor"],
        )
        return subject, f"{greeting}\n\n{text}"
    due = fmt_date(f["due_on"])
    if draft.kind == KIND_DUE:
        subject = _("Training due soon: %(title)s, by %(date)s", title=title, date=due)
        text = _(
            "Your training %(title)s (%(code)s) is due by %(date)s. "
            "Please complete it before then.",
            title=title,
            code=f["code"],
            date=due,
        )
    elif draft.kind == KIND_FLAGGED:
        subject = _("Briefing to repeat: %(title)s", title=title)
        text = _(
            "Your training %(title)s (%(code)s) no longer counts because the person who "
            "briefed you lost the right to do so. Please take the briefing again.",
            title=title,
            code=f["code"],
        )
    elif draft.kind == KIND_OVERDUE:
        subject = _("Training overdue: %(title)s, due %(date)s", title=title, date=due)
        text = _(
            "Your training %(title)s (%(code)s) was due by %(date)s and is overdue. "
            "Please complete it as soon as possible.",
            title=title,
            code=f["code"],
            date=due,
        )
    else:
        name = people[f["person_id"]].name
        subject = _("Overdue in your department: %(person)s, %(title)s", person=name, title=title)
        text = ngettext(
            "%(person)s has not completed %(title)s (%(code)s), due by %(date)s: "
            "%(num)d day overdue.",
            "%(person)s has not completed %(title)s (%(code)s), due by %(date)s: "
            "%(num)d days overdue.",
            f["days"],
            person=name,
            title=title,
            code=f["code"],
            date=due,
        )
    return subject, f"{greeting}\n\n{text}"


def generate_reminders(
    session,
    today: date,
    *,
    window_days: int = engine.DEFAULT_WINDOW_DAYS,
    manager_after_days: int = DEFAULT_MANAGER_AFTER_DAYS,
) -> int:
    """Queue today's reminders in the outbox; returns how many new messages were queued.

    ``today`` is the organisation's local date. Statuses come from one set-based call to the
    status engine, the day's sessions from one query, the recipients from one more; a message
    whose dedupe key is already in the outbox is not queued again. Each message is written in
    its recipient's language.
    """
    lapses.flag_lapsed_trainers(session)  # its own messages, deduplicated the same way
    drafts = _status_drafts(session, today, window_days, manager_after_days)
    drafts += _session_drafts(session, today)
    if not drafts:
        return 0
    existing = _existing_keys(session, [d.key for d in drafts])
    drafts = [d for d in drafts if d.key not in existing]
    if not drafts:
        return 0
    people = _users(
        session,
        {d.user_id for d in drafts}
        | {d.facts["person_id"] for d in drafts if d.kind == KIND_OVERDUE_MANAGER},
    )
    queued = 0
    for draft in drafts:
        recipient = people.get(draft.user_id)
        if recipient is None or not recipient.active:
            continue

        def render(draft=draft, recipient=recipient):
            return _render(draft, recipient, people)

        subject, body = outbox.in_locale(recipient, render)
        if (
            outbox.queue(
                session,
                user_id=recipient.id,
                kind=draft.kind,
                subject=subject,
                body=body,
                link=draft.link,
                dedupe_key=draft.key,
            )
            is not None
        ):
            queued += 1
    return queued


# ----- the notifications page ------------------------------------------------------------------


def notifications_select(user_id: int):
    """A select of the person's own messages, newest first."""
    return (
        sa.select(OutboxMessage)
        .where(OutboxMessage.user_id == user_id)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    )


def unread_count(session, user_id: int) -> int:
    return session.execute(
        sa.select(sa.func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.user_id == user_id, OutboxMessage.read_at.is_(None))
    ).scalar_one()


def mark_read(
    session, user_id: int, message_id: int | None = None, now: datetime | None = None
) -> int:
    """Mark the person's unread messages as read (one of them when message_id is given);
    returns how many changed. Someone else's message, or none at all, is NotFound: only the
    person's own rows are ever touched."""
    stmt = sa.update(OutboxMessage).where(
        OutboxMessage.user_id == user_id, OutboxMessage.read_at.is_(None)
    )
    if message_id is not None:
        own = session.execute(
            sa.select(OutboxMessage.id).where(
                OutboxMessage.id == message_id, OutboxMessage.user_id == user_id
            )
        ).scalar()
        if own is None:
            raise NotFound(_("No such notification."))
        stmt = stmt.where(OutboxMessage.id == message_id)
    result = session.execute(
        stmt.values(read_at=now or utcnow()).execution_options(synchronize_session="fetch")
    )
    session.flush()
    return result.rowcount or 0
