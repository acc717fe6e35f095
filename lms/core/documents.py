"""Issued documents other than certificates (register PDFs, evidence packs) kept as issued.

When Brigade issues a register PDF or an inspector's evidence pack, the exact bytes are stored
with their SHA-256 (``IssuedDocument``), the ledger records the hash and the audit log who
issued it. A copy downloaded later is these bytes, never a new rendering, so a new template,
new words or a new WeasyPrint never change a document already issued; issuing the same
register for the same period again is a new row. The public upload check finds a stored
document by its SHA-256. Rows are never updated.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from lms.core import audit, ledger
from lms.core.model import Base, DbSession, UTCDateTime, utcnow

LEDGER_KIND = "issued_document"

REGISTER = "register"
EVIDENCE_PACK = "evidence_pack"
KINDS = (REGISTER, EVIDENCE_PACK)


class IssuedDocument(Base):
    """One issued copy: what it is (``kind``, ``subject``: the register's code), for which
    filters (``params``: unit, person, period, type...), who issued it and when, and the bytes
    as issued with their SHA-256. Never updated."""

    __tablename__ = "issued_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    subject: Mapped[str] = mapped_column(sa.String(40))
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    filename: Mapped[str] = mapped_column(sa.String(200))
    mimetype: Mapped[str] = mapped_column(sa.String(100))
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    size: Mapped[int] = mapped_column()
    sealed: Mapped[bool] = mapped_column(default=False)
    # the ledger's chain head written in the PDF's metadata, when it carries one
    ledger_head: Mapped[str | None] = mapped_column(sa.String(120))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)

    __table_args__ = (
        sa.CheckConstraint(f"kind IN {KINDS!r}", name="kind_known"),
        sa.Index("ix_issued_documents_kind_subject", "kind", "subject", "issued_at"),
    )


def store(
    session: DbSession,
    *,
    kind: str,
    subject: str,
    params: dict[str, Any],
    filename: str,
    mimetype: str,
    data: bytes,
    actor_id: int | None,
    sealed: bool,
    ledger_head: str | None = None,
) -> IssuedDocument:
    """Keep ``data`` as issued: a new row (a new issue of the same register and period is a
    new row too), a ledger entry with its SHA-256 and an audit entry."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of issued document {kind!r}")
    sha = ledger.sha256(data)
    doc = IssuedDocument(
        kind=kind,
        subject=subject,
        params=params,
        filename=filename,
        mimetype=mimetype,
        issued_by_id=actor_id,
        issued_at=utcnow().replace(microsecond=0),
        sha256=sha,
        size=len(data),
        sealed=sealed,
        ledger_head=ledger_head,
        data=data,
    )
    session.add(doc)
    session.flush()
    ledger.append(session, LEDGER_KIND, doc.id, sha, actor_id)
    audit.record(
        session, actor_id, "issue", "issued_document", doc.id, subject, kind=kind, sha256=sha
    )
    return doc


def get(session: DbSession, doc_id: int) -> IssuedDocument | None:
    return session.get(IssuedDocument, doc_id)


def issued(
    session: DbSession, kind: str, subject: str | None = None, limit: int = 50
) -> list[IssuedDocument]:
    """The latest issued copies of a kind (and subject), newest first, without their bytes."""
    query = sa.select(IssuedDocument).where(IssuedDocument.kind == kind)
    if subject is not None:
        query = query.where(IssuedDocument.subject == subject)
    query = query.order_by(IssuedDocument.issued_at.desc(), IssuedDocument.id.desc()).limit(limit)
    return list(session.scalars(query))


def find_by_sha(session: DbSession, sha: str) -> IssuedDocument | None:
    """The issued document whose stored bytes have this SHA-256 (the first issued)."""
    return session.scalars(
        sa.select(IssuedDocument)
        .where(IssuedDocument.sha256 == sha)
        .order_by(IssuedDocument.id)
        .limit(1)
    ).first()


def _resolve(session: DbSession, ids: list[str]) -> dict[str, str]:
    """For verification: the SHA-256 of each stored document, recomputed from its bytes."""
    wanted = [int(i) for i in ids if i.isdigit()]
    out: dict[str, str] = {}
    conn = session.connection()
    for i in range(0, len(wanted), 200):
        for doc_id, data in conn.execute(
            sa.select(IssuedDocument.id, IssuedDocument.data).where(
                IssuedDocument.id.in_(wanted[i : i + 200])
            )
        ):
            out[str(doc_id)] = ledger.sha256(bytes(data))
    return out


ledger.register_kind(LEDGER_KIND, _resolve, every=sa.select(IssuedDocument.id))
