"""The audit log: who did what, when, to which object. Append-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from lms.core.model import Base, DbSession, UTCDateTime, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(40))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[str] = mapped_column(sa.String(64))
    summary: Mapped[str] = mapped_column(sa.String(500), default="")
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    __table_args__ = (sa.Index("ix_audit_log_object", "object_type", "object_id"),)


def record(
    session: DbSession,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: Any,
    summary: str = "",
    **details: Any,
) -> AuditEntry:
    """Append one audit entry to the current transaction."""
    entry = AuditEntry(
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        summary=summary[:500],
        details=details,
    )
    session.add(entry)
    return entry


def query(
    *,
    actor_id: int | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> sa.Select[AuditEntry]:
    """A select of audit entries, newest first, filtered."""
    stmt = sa.select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == actor_id)
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEntry.object_id == str(object_id))
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEntry.at < until)
    return stmt


def record_apart(
    session: DbSession,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: Any,
    summary: str = "",
    **details: Any,
) -> None:
    """Append one audit entry in a transaction of its own, committed at once.

    For the attempts that fail and must still be kept (a wrong password at sign-in, when
    signing or acknowledging): the request answers 4xx and rolls its own transaction back,
    this entry stays. It goes through a connection of its own from the session's engine, so
    nothing else of the session is committed with it. Call it before the session writes
    anything (SQLite lets one writer at a time).
    """
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, sa.Connection) else bind
    with engine.begin() as conn:
        conn.execute(
            sa.insert(AuditEntry).values(
                at=utcnow(),
                actor_id=actor_id,
                action=action,
                object_type=object_type,
                object_id=str(object_id),
                summary=summary[:500],
                details=details,
            )
        )
