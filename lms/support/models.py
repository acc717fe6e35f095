"""Help requests, their append-only history, attachments, support staff and answer times.

The request row holds the current state (line, status, priority, first answer); every change
to it is also an event row, appended and never updated, so the history tells the whole story.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.model import Base, CreatedMixin, UTCDateTime, utcnow

CATEGORIES: tuple[str, ...] = (
    "access",
    "training",
    "quiz",
    "sessions",
    "certificates",
    "records",
    "other",
)
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
# Hours to the first answer, unless an administrator set them otherwise (SupportAnswerTime).
DEFAULT_ANSWER_HOURS: dict[str, int] = {"low": 72, "normal": 24, "high": 8, "urgent": 2}
STATUSES: tuple[str, ...] = ("open", "answered", "closed")
# 1 first-line support, 2 second line, 3 the system administrators.
LINES: tuple[int, ...] = (1, 2, 3)
# Attachments: PDF, PNG or JPEG (recognised by content) up to this size.
MAX_ATTACHMENT = 5 * 1024 * 1024
EVENT_KINDS: tuple[str, ...] = ("raised", "reply", "escalated", "triaged", "closed")


def _in(values: tuple) -> str:
    return ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in values)


class SupportAgent(CreatedMixin, Base):
    """A person appointed to first- or second-line support (administrators are the third)."""

    __tablename__ = "support_agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    line: Mapped[int] = mapped_column()
    active: Mapped[bool] = mapped_column(default=True)
    appointed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    user = relationship("User", foreign_keys=[user_id])

    __table_args__ = (sa.CheckConstraint("line IN (1, 2)", "agent_line"),)


class SupportAnswerTime(Base):
    """The time to first answer for one priority, in hours."""

    __tablename__ = "support_answer_times"

    priority: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    hours: Mapped[int] = mapped_column()
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        sa.CheckConstraint(f"priority IN ({_in(PRIORITIES)})", "known_priority"),
        sa.CheckConstraint("hours BETWEEN 1 AND 720", "hours_range"),
    )


class HelpRequest(CreatedMixin, Base):
    __tablename__ = "help_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    requester_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    subject: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    category: Mapped[str] = mapped_column(sa.String(20))
    priority: Mapped[str] = mapped_column(sa.String(20), default="normal")
    line: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(sa.String(20), default="open")
    # the context, captured when the request was raised
    page: Mapped[str] = mapped_column(sa.String(500), default="")
    program_id: Mapped[int | None] = mapped_column(sa.ForeignKey("programs.id"))
    session_id: Mapped[int | None] = mapped_column(sa.ForeignKey("training_sessions.id"))
    attempt_id: Mapped[int | None] = mapped_column(sa.ForeignKey("learning_attempts.id"))
    language: Mapped[str] = mapped_column(sa.String(8), default="")
    browser: Mapped[str] = mapped_column(sa.String(300), default="")
    # the clock
    answer_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    requester = relationship("User", foreign_keys=[requester_id])
    program = relationship("Program")
    training_session = relationship("TrainingSession")
    attempt = relationship("Attempt")
    events: Mapped[list[HelpRequestEvent]] = relationship(
        back_populates="request", order_by="HelpRequestEvent.id"
    )
    attachments: Mapped[list[HelpRequestAttachment]] = relationship(
        back_populates="request", order_by="HelpRequestAttachment.id"
    )

    __table_args__ = (
        sa.CheckConstraint(f"category IN ({_in(CATEGORIES)})", "known_category"),
        sa.CheckConstraint(f"priority IN ({_in(PRIORITIES)})", "known_priority"),
        sa.CheckConstraint(f"status IN ({_in(STATUSES)})", "known_status"),
        sa.CheckConstraint(f"line IN ({_in(LINES)})", "known_line"),
        sa.Index("ix_help_requests_status_line", "status", "line"),
    )

    def overdue(self, now: datetime) -> bool:
        """Past its time to first answer and still without one."""
        return (
            self.status != "closed" and self.first_answered_at is None and now > self.answer_due_at
        )


class HelpRequestEvent(Base):
    """One step in a request's history: appended, never changed."""

    __tablename__ = "help_request_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("help_requests.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    from_line: Mapped[int | None] = mapped_column()
    to_line: Mapped[int | None] = mapped_column()
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    request: Mapped[HelpRequest] = relationship(back_populates="events")
    actor = relationship("User")
    attachments: Mapped[list[HelpRequestAttachment]] = relationship(back_populates="event")

    __table_args__ = (sa.CheckConstraint(f"kind IN ({_in(EVENT_KINDS)})", "known_kind"),)


class HelpRequestAttachment(Base):
    """A file the requester or support added, checked by its content."""

    __tablename__ = "help_request_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("help_requests.id"), index=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("help_request_events.id"))
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)

    request: Mapped[HelpRequest] = relationship(back_populates="attachments")
    event: Mapped[HelpRequestEvent] = relationship(back_populates="attachments")


@sa.event.listens_for(HelpRequestEvent, "before_update")
@sa.event.listens_for(HelpRequestEvent, "before_delete")
@sa.event.listens_for(HelpRequestAttachment, "before_update")
@sa.event.listens_for(HelpRequestAttachment, "before_delete")
def _append_only(_mapper, _connection, target) -> None:
    """The history and its files are appended, never changed (the ORM refuses it)."""
    raise RuntimeError(f"{type(target).__name__} rows are append-only")
