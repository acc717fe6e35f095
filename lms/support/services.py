"""Help requests: the rules. Functions take the database session, flush, never commit.

A request starts at the first line. Support staff at the request's line (or above) answer,
change its category or priority, escalate it one line up with a reason (first line -> second
line -> administrators) or close it; the requester replies and closes. Every step is appended
to the request's history and queues a notice to the requester, in the requester's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.accounts.models import User, UserRole
from lms.core import audit, ledger, outbox
from lms.core.dates import fmt_datetime
from lms.core.errors import Conflict, DomainError, NotAllowed, NotFound
from lms.core.model import utcnow
from lms.learning.models import Attempt
from lms.programs.models import Program
from lms.sessions.models import TrainingSession
from lms.support.labels import ARRIVED, CATEGORY_LABELS, PASSED_TO, PRIORITY_LABELS, WITH_LINE
from lms.support.models import (
    CATEGORIES,
    DEFAULT_ANSWER_HOURS,
    MAX_ATTACHMENT,
    PRIORITIES,
    HelpRequest,
    HelpRequestAttachment,
    HelpRequestEvent,
    SupportAgent,
    SupportAnswerTime,
)

ADMIN_LINE = 3
ALLOWED_UPLOADS = {
    b"%PDF-": ("application/pdf", ".pdf"),
    b"\x89PNG\r\n\x1a\n": ("image/png", ".png"),
    b"\xff\xd8\xff": ("image/jpeg", ".jpg"),
}
NOTICE_KIND = "support_request"  # to the requester
QUEUE_KIND = "support_queue"  # to the staff of the line a request comes to


@dataclass(frozen=True)
class Context:
    """Where the person was when they asked for help (all optional)."""

    page: str = ""
    program_id: int | None = None
    session_id: int | None = None
    attempt_id: int | None = None
    language: str = ""
    browser: str = ""


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


# ----- who is support -------------------------------------------------------------------------


def staff_line(session, user: User) -> int | None:
    """3 for an administrator, 1 or 2 for an appointed support agent, None for anyone else."""
    if user.has_role("admin"):
        return ADMIN_LINE
    return session.execute(
        sa.select(SupportAgent.line).where(
            SupportAgent.user_id == user.id, SupportAgent.active.is_(True)
        )
    ).scalar()


def require_staff(session, user: User) -> int:
    line = staff_line(session, user)
    if line is None:
        raise NotAllowed(_("Only support staff can see this page."))
    return line


def appoint(session, *, user_id: int, line: int, actor_id: int | None) -> SupportAgent:
    """Appoint (or move) a person to first- or second-line support."""
    if line not in (1, 2):
        raise DomainError(_("Choose the first or the second line."), field="line")
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise DomainError(_("Choose an active person."), field="user_id")
    agent = session.execute(
        sa.select(SupportAgent).where(SupportAgent.user_id == user_id)
    ).scalar_one_or_none()
    if agent is None:
        agent = SupportAgent(user_id=user_id, line=line, appointed_by_id=actor_id)
        session.add(agent)
    else:
        agent.line = line
        agent.active = True
        agent.appointed_by_id = actor_id
    session.flush()
    audit.record(session, actor_id, "appoint", "support_agent", agent.id, user.name, line=line)
    return agent


def end_appointment(session, agent: SupportAgent, actor_id: int | None) -> None:
    agent.active = False
    session.flush()
    audit.record(session, actor_id, "end", "support_agent", agent.id, agent.user.name)


def agents(session) -> list[SupportAgent]:
    return list(
        session.execute(
            sa.select(SupportAgent)
            .join(User, User.id == SupportAgent.user_id)
            .where(SupportAgent.active.is_(True))
            .order_by(SupportAgent.line, User.name)
        ).scalars()
    )


# ----- time to first answer -------------------------------------------------------------------


def answer_hours(session) -> dict[str, int]:
    """Hours to the first answer per priority: the administrators' settings over the defaults."""
    hours = dict(DEFAULT_ANSWER_HOURS)
    for row in session.execute(sa.select(SupportAnswerTime)).scalars():
        hours[row.priority] = row.hours
    return hours


def set_answer_hours(session, values: dict[str, int], actor_id: int | None) -> None:
    for priority, hours in values.items():
        if priority not in PRIORITIES:
            raise DomainError(_("Unknown priority."))
        if not 1 <= hours <= 720:
            raise DomainError(_("Enter between 1 and 720 hours."), field=f"hours_{priority}")
        row = session.get(SupportAnswerTime, priority)
        if row is None:
            session.add(SupportAnswerTime(priority=priority, hours=hours, updated_by_id=actor_id))
        else:
            row.hours = hours
            row.updated_by_id = actor_id
            row.updated_at = utcnow()
    session.flush()
    audit.record(session, actor_id, "update", "support_answer_times", 0, "", **values)


# ----- attachments ----------------------------------------------------------------------------


def check_upload(upload: Upload) -> tuple[str, str]:
    """(safe file name, content type) of an acceptable file; refuses by content, not by name."""
    if len(upload.data) > MAX_ATTACHMENT:
        raise DomainError(
            _("The file is too large (at most 5 MB). Your text was kept: attach a smaller file."),
            field="attachment",
        )
    kind = next((v for magic, v in ALLOWED_UPLOADS.items() if upload.data.startswith(magic)), None)
    if kind is None:
        raise DomainError(
            _(
                "Only PDF, PNG and JPEG files can be attached (this file is none of them). "
                "Your text was kept."
            ),
            field="attachment",
        )
    safe = re.sub(r"[^\w.\- ]", "_", upload.filename or "file")[:200] or "file"
    return safe, kind[0]


def _attach(session, req: HelpRequest, event: HelpRequestEvent, upload: Upload) -> None:
    name, ctype = check_upload(upload)
    session.add(
        HelpRequestAttachment(
            request_id=req.id,
            event_id=event.id,
            filename=name,
            content_type=ctype,
            size=len(upload.data),
            sha256=ledger.sha256(upload.data),
            data=upload.data,
        )
    )


# ----- the request's life ---------------------------------------------------------------------


def _event(
    session, req: HelpRequest, kind: str, actor: User, body: str = "", **kw
) -> HelpRequestEvent:
    event = HelpRequestEvent(request_id=req.id, kind=kind, actor_id=actor.id, body=body, **kw)
    session.add(event)
    session.flush()
    return event


def _notify(session, req: HelpRequest, kind: str, actor: User, text: str = "") -> None:
    """A notice to the requester in their language (none for their own steps, but the first)."""
    requester = req.requester
    if actor.id == requester.id and kind != "raised":
        return

    def render() -> tuple[str, str]:
        ref = _("Help request #%(id)s: %(subject)s", id=req.id, subject=req.subject)
        if kind == "raised":
            body = _(
                "Your help request was registered with first-line support. "
                "You can expect a first answer within %(hours)s hours.",
                hours=_hours_for(session, req.priority),
            )
        elif kind == "reply":
            body = _("%(name)s answered your help request:", name=actor.name) + "\n\n" + text
        elif kind == "escalated":
            body = str(PASSED_TO[req.line]) + "\n" + _("Reason: %(reason)s", reason=text)
        elif kind == "triaged":
            body = _(
                "Your help request was filed anew. Category: %(category)s. Priority: %(priority)s.",
                category=str(CATEGORY_LABELS[req.category]),
                priority=str(PRIORITY_LABELS[req.priority]),
            )
        else:
            body = _("%(name)s closed your help request.", name=actor.name)
            if text:
                body += "\n\n" + text
        return ref, body

    subject, body = outbox.in_locale(requester, render)
    outbox.queue(
        session,
        user_id=requester.id,
        kind=NOTICE_KIND,
        subject=subject,
        body=body,
        link=f"/support/{req.id}",
    )


def staff_of_line(session, line: int) -> list[User]:
    """Who works the line: its appointed agents, or the administrators when there are none
    (and always for the third line)."""
    if line < ADMIN_LINE:
        people = list(
            session.execute(
                sa.select(User)
                .join(SupportAgent, SupportAgent.user_id == User.id)
                .where(SupportAgent.line == line, SupportAgent.active.is_(True), User.active)
                .order_by(User.id)
            ).scalars()
        )
        if people:
            return people
    return list(
        session.execute(
            sa.select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == "admin", User.active)
            .order_by(User.id)
        ).scalars()
    )


def _notify_line(session, req: HelpRequest, actor: User, reply_text: str | None = None) -> None:
    """Tell the staff of the line that a request has come to them (or that its requester
    replied), each in their own language."""
    for person in staff_of_line(session, req.line):
        if person.id == actor.id:
            continue

        def render() -> tuple[str, str]:
            subject = _("Help request #%(id)s: %(subject)s", id=req.id, subject=req.subject)
            if reply_text is not None:
                return subject, _("%(name)s replied:", name=actor.name) + "\n\n" + reply_text
            when = fmt_datetime(req.answer_due_at)
            body = _("From %(name)s. Answer by %(when)s.", name=req.requester.name, when=when)
            return subject, str(ARRIVED[req.line]) + "\n\n" + body

        subject, body = outbox.in_locale(person, render)
        outbox.queue(
            session,
            user_id=person.id,
            kind=QUEUE_KIND,
            subject=subject,
            body=body,
            link=f"/support/{req.id}",
        )


def _hours_for(session, priority: str) -> int:
    return answer_hours(session)[priority]


def _clean(text: str | None, field: str, most: int) -> str:
    text = (text or "").strip()
    if not text:
        raise DomainError(_("This field is required."), field=field)
    if len(text) > most:
        raise DomainError(_("Enter at most %(max)d characters.", max=most), field=field)
    return text


def context_objects(session, context: Context) -> dict:
    """The program and session a context names, to show the person what will be sent."""
    return {
        "program": session.get(Program, context.program_id) if context.program_id else None,
        "session": session.get(TrainingSession, context.session_id) if context.session_id else None,
    }


def raise_request(
    session,
    requester: User,
    *,
    subject: str,
    description: str,
    category: str,
    context: Context,
    upload: Upload | None = None,
) -> HelpRequest:
    """Register a help request at the first line, with the context where it was raised.

    Context that points at another person's quiz attempt is dropped: a request never carries
    someone else's data. Nothing is stored when the attachment is refused.
    """
    subject = _clean(subject, "subject", 200)
    description = _clean(description, "description", 10000)
    if category not in CATEGORIES:
        raise DomainError(_("Choose a category."), field="category")
    if upload is not None:
        check_upload(upload)
    program_id = context.program_id
    if program_id is not None and session.get(Program, program_id) is None:
        program_id = None
    session_id = context.session_id
    if session_id is not None:
        ts = session.get(TrainingSession, session_id)
        if ts is None:
            session_id = None
        elif program_id is None:
            program_id = ts.program_id
    attempt_id = context.attempt_id
    if attempt_id is not None:
        attempt = session.get(Attempt, attempt_id)
        if attempt is None or attempt.user_id != requester.id:
            attempt_id = None
        elif program_id is None:
            program_id = attempt.program_id
    now = utcnow()
    priority = "normal"
    req = HelpRequest(
        requester_id=requester.id,
        subject=subject,
        description=description,
        category=category,
        priority=priority,
        line=1,
        status="open",
        page=(context.page or "")[:500],
        program_id=program_id,
        session_id=session_id,
        attempt_id=attempt_id,
        language=(context.language or "")[:8],
        browser=(context.browser or "")[:300],
        created_at=now,
        answer_due_at=now + timedelta(hours=_hours_for(session, priority)),
    )
    session.add(req)
    session.flush()
    event = _event(session, req, "raised", requester, description, to_line=1)
    if upload is not None:
        _attach(session, req, event, upload)
    session.flush()
    session.refresh(req, ["requester"])
    _notify(session, req, "raised", requester)
    _notify_line(session, req, requester)
    return req


def can_act(session, user: User, req: HelpRequest) -> bool:
    """Support staff act on requests at their own line or below."""
    line = staff_line(session, user)
    return line is not None and line >= req.line


def _require_open(req: HelpRequest) -> None:
    if req.status == "closed":
        raise Conflict(_("This help request is closed. Raise a new one if you still need help."))


def _require_actor(session, user: User, req: HelpRequest) -> None:
    if not can_act(session, user, req):
        raise NotAllowed(str(WITH_LINE[req.line]))


def reply(
    session, req: HelpRequest, actor: User, body: str, upload: Upload | None = None
) -> HelpRequestEvent:
    """An answer from support (the first one stops the clock) or a reply from the requester."""
    _require_open(req)
    body = _clean(body, "body", 10000)
    is_requester = actor.id == req.requester_id
    if not is_requester:
        _require_actor(session, actor, req)
    if upload is not None:
        check_upload(upload)
    event = _event(session, req, "reply", actor, body, detail={"support": not is_requester})
    if upload is not None:
        _attach(session, req, event, upload)
    if is_requester:
        req.status = "open"
        session.flush()
        _notify_line(session, req, actor, reply_text=body)
    else:
        req.status = "answered"
        if req.first_answered_at is None:
            req.first_answered_at = event.created_at
    session.flush()
    _notify(session, req, "reply", actor, body)
    return event


def escalate(session, req: HelpRequest, actor: User, reason: str) -> HelpRequestEvent:
    """Pass the request one line up (first -> second -> administrators), with the reason."""
    _require_open(req)
    _require_actor(session, actor, req)
    reason = _clean(reason, "reason", 2000)
    if req.line >= ADMIN_LINE:
        raise Conflict(_("The administrators are the last line: answer or close the request."))
    before = req.line
    req.line = before + 1
    req.status = "open"
    event = _event(session, req, "escalated", actor, reason, from_line=before, to_line=req.line)
    session.flush()
    _notify(session, req, "escalated", actor, reason)
    _notify_line(session, req, actor)
    return event


def triage(
    session, req: HelpRequest, actor: User, *, category: str, priority: str
) -> HelpRequestEvent | None:
    """File the request under another category or priority; the time to first answer follows
    the priority (counted from when the request was raised)."""
    _require_open(req)
    _require_actor(session, actor, req)
    if category not in CATEGORIES:
        raise DomainError(_("Choose a category."), field="category")
    if priority not in PRIORITIES:
        raise DomainError(_("Choose a priority."), field="priority")
    if (category, priority) == (req.category, req.priority):
        return None
    detail = {"category": [req.category, category], "priority": [req.priority, priority]}
    req.category = category
    req.priority = priority
    req.answer_due_at = req.created_at + timedelta(hours=_hours_for(session, priority))
    event = _event(session, req, "triaged", actor, "", detail=detail)
    session.flush()
    _notify(session, req, "triaged", actor)
    return event


def close(session, req: HelpRequest, actor: User, note: str = "") -> HelpRequestEvent:
    """The requester closes their request, or support closes it with a note."""
    _require_open(req)
    if actor.id != req.requester_id:
        _require_actor(session, actor, req)
        note = _clean(note, "note", 2000)
    else:
        note = (note or "").strip()[:2000]
    req.status = "closed"
    req.closed_at = utcnow()
    event = _event(session, req, "closed", actor, note)
    session.flush()
    _notify(session, req, "closed", actor, note)
    return event


# ----- object loaders -------------------------------------------------------------------------


def load_request(session, request_id: int, user: User) -> tuple[HelpRequest, bool]:
    """The request and whether the user sees it as support staff.

    The requester sees their own request; support staff see every request; anyone else is
    told there is no such request (404, so that request numbers reveal nothing).
    """
    req = session.get(HelpRequest, request_id)
    if req is None:
        raise NotFound(_("There is no such help request."))
    if staff_line(session, user) is not None:
        return req, True
    if req.requester_id == user.id:
        return req, False
    raise NotFound(_("There is no such help request."))


def load_attachment(session, attachment_id: int, user: User) -> HelpRequestAttachment:
    att = session.get(HelpRequestAttachment, attachment_id)
    if att is None:
        raise NotFound(_("There is no such file."))
    load_request(session, att.request_id, user)
    return att
