"""The outbox: every message to a person is a row first, delivered after the commit.

Messages are written inside the request's transaction (so a rolled-back action sends nothing),
shown in the app as notifications, and delivered by e-mail by ``flask lms send-reminders``.
A ``dedupe_key`` makes queueing idempotent: the same key is queued once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from sqlalchemy.orm import Mapped, mapped_column

from lms.core.model import Base, DbSession, UTCDateTime, utcnow

T = TypeVar("T")


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    link: Mapped[str] = mapped_column(sa.String(300), default="")
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    # delivery retries (lms.compliance.mail): not before this time; set aside for good when set
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


def queue(
    session: DbSession,
    *,
    user_id: int,
    kind: str,
    subject: str,
    body: str,
    link: str = "",
    dedupe_key: str | None = None,
) -> OutboxMessage | None:
    """Queue a message; returns None when a message with the same dedupe key exists."""
    if dedupe_key is not None:
        exists = session.execute(
            sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
        ).scalar()
        if exists:
            return None
    msg = OutboxMessage(
        user_id=user_id,
        kind=kind,
        subject=subject[:300],
        body=body,
        link=link[:300],
        dedupe_key=dedupe_key,
    )
    session.add(msg)
    session.flush()
    return msg


def in_locale(user: Any, func: Callable[[], T]) -> T:
    """Run func() with the recipient's language active, for subjects and bodies."""
    locale = getattr(user, "locale", None) or current_app.config["LMS_CONFIG"].default_locale
    with force_locale(locale):
        return func()
