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
    """Append one audit entry in a transaction of its own, committed whatever the request does.

    For the attempts that fail and must still be kept (a wrong password at sign-in, when
    signing or acknowledging): the request answers 4xx and rolls its own transaction back,
    this entry stays, and no route commits mid-request to keep it. It goes through a
    connection of its own from the session's engine, so nothing else of the session is
    committed with it. SQLite lets one writer at a time: when the session already holds the
    database (a session row lock is a write there), the entry is written the moment the
    session's transaction ends, committed or rolled back.
    """
    values = {
        "at": utcnow(),
        "actor_id": actor_id,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "summary": summary[:500],
        "details": details,
    }
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, sa.Connection) else bind
    if engine.dialect.name == "sqlite" and not _write_if_free(engine, values):
        own = session() if isinstance(session, sa.orm.scoped_session) else session
        own.info.setdefault(_WAITING, []).append(values)
        return
    if engine.dialect.name != "sqlite":
        _write(engine, [values])


def _write_if_free(engine: sa.Engine, values: dict[str, Any]) -> bool:
    """Write at once unless SQLite is held (by this request's own lock): do not wait for it."""
    with engine.connect() as conn:
        waited = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
        conn.exec_driver_sql("PRAGMA busy_timeout = 0")
        try:
            conn.execute(sa.insert(AuditEntry), [values])
            conn.commit()
            return True
        except sa.exc.OperationalError:
            conn.rollback()
            return False
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(waited or 0)}")
            conn.commit()


_WAITING = "audit_apart_waiting"


def _write(engine: sa.Engine, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(AuditEntry), rows)


@sa.event.listens_for(sa.orm.Session, "after_transaction_end")
def _write_waiting(session: sa.orm.Session, transaction: sa.orm.SessionTransaction) -> None:
    """The entries `record_apart` kept while the session held SQLite, once it lets go."""
    if transaction.parent is not None or not session.info.get(_WAITING):
        return
    rows = session.info.pop(_WAITING)
    bind = session.get_bind()
    _write(bind.engine if isinstance(bind, sa.Connection) else bind, rows)
