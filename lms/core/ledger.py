"""The tamper-evident ledger.

Every signed event (a program signature, an attendance mark, an acknowledgment, a completion,
a certificate) appends one entry. Each entry stores the SHA-256 of the signed content and the
hash of the entry before it, so changing any past row, or the content it points at, breaks the
chain in a way ``verify()`` reports with the row's id.

Domains register, per ledger ``kind``, a function that recomputes the content hash of their
objects from the rows as they are now (``register_kind``). Verification needs no other code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from lms.core.model import Base, UTCDateTime, utcnow

GENESIS = "0" * 64
_LOCK_KEY = 7_100_042  # PostgreSQL advisory lock id serialising appends


# built once: json.dumps with options would build an encoder on every call (verify hashes
# hundreds of thousands of records)
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(data: Any) -> bytes:
    """Stable bytes for hashing: sorted keys, no spaces, UTF-8."""
    return _CANONICAL.encode(data).encode()


def sha256(data: Any) -> str:
    if not isinstance(data, bytes | str):
        data = canonical_json(data)
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha256(data).hexdigest()


class LedgerEntry(Base):
    __tablename__ = "ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[str] = mapped_column(sa.String(64))
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    entry_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)

    __table_args__ = (sa.Index("ix_ledger_kind_object", "kind", "object_id"),)


def entry_digest(
    prev_hash: str,
    kind: str,
    object_id: str,
    content_hash: str,
    actor_id: int | None,
    at: datetime,
) -> str:
    line = "|".join([prev_hash, kind, object_id, content_hash, str(actor_id or ""), at.isoformat()])
    return hashlib.sha256(line.encode()).hexdigest()


ContentResolver = Callable[[Any, list[str]], dict[str, str]]
_RESOLVERS: dict[str, ContentResolver] = {}


def register_kind(kind: str, resolver: ContentResolver) -> None:
    """Declare how to recompute the content hash of objects of this kind.

    ``resolver(session, object_ids)`` returns {object_id: current content hash}; an id missing
    from the result means the object is gone, which verification reports.
    """
    if kind in _RESOLVERS and _RESOLVERS[kind] is not resolver:
        raise ValueError(f"ledger kind {kind!r} registered twice")
    _RESOLVERS[kind] = resolver


def registered_kinds() -> list[str]:
    return sorted(_RESOLVERS)


def append(
    session, kind: str, object_id: Any, content_hash: str, actor_id: int | None
) -> LedgerEntry:
    """Append an entry after the current last one (serialised on PostgreSQL)."""
    if kind not in _RESOLVERS:
        raise ValueError(f"ledger kind {kind!r} is not registered")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    last = session.execute(
        sa.select(LedgerEntry.entry_hash).order_by(LedgerEntry.id.desc()).limit(1)
    ).scalar()
    prev = last or GENESIS
    at = utcnow().replace(microsecond=0)
    entry = LedgerEntry(
        kind=kind,
        object_id=str(object_id),
        content_hash=content_hash,
        actor_id=actor_id,
        at=at,
        prev_hash=prev,
        entry_hash=entry_digest(prev, kind, str(object_id), content_hash, actor_id, at),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass
class Problem:
    entry_id: int
    kind: str
    object_id: str
    reason: str

    def __str__(self) -> str:
        return f"ledger entry {self.entry_id} ({self.kind} {self.object_id}): {self.reason}"


@dataclass
class Report:
    checked: int
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


def rows_by_id(session, columns: tuple, ids: Iterable[Any], chunk: int = 5000) -> Iterator[tuple]:
    """Plain rows of ``columns`` (the first is the integer primary key) for these ids.

    Resolvers read tuples rather than ORM objects: verification touches every signed row.
    """
    wanted = [int(i) for i in ids]
    conn = session.connection()  # Core rows: no ORM loading machinery per row
    for i in range(0, len(wanted), chunk):
        yield from conn.execute(sa.select(*columns).where(columns[0].in_(wanted[i : i + chunk])))


def verify(session, batch: int = 50_000) -> Report:
    """Recompute the chain and the content hash of every object the ledger points at."""
    problems: list[Problem] = []
    prev = GENESIS
    checked = 0
    # kind -> object id -> (entry id, content hash) of the newest entry, which is authoritative
    latest: dict[str, dict[str, tuple[int, str]]] = {}
    first_entry: dict[str, int] = {}
    last_id = 0
    cols = (
        LedgerEntry.id,
        LedgerEntry.kind,
        LedgerEntry.object_id,
        LedgerEntry.content_hash,
        LedgerEntry.actor_id,
        LedgerEntry.at,
        LedgerEntry.prev_hash,
        LedgerEntry.entry_hash,
    )
    digest = entry_digest
    conn = session.connection()
    while True:
        rows = conn.execute(
            sa.select(*cols).where(LedgerEntry.id > last_id).order_by(LedgerEntry.id).limit(batch)
        ).all()
        if not rows:
            break
        for eid, kind, oid, chash, actor, at, prev_hash, ehash in rows:
            if prev_hash != prev:
                problems.append(Problem(eid, kind, oid, "previous-hash link is broken"))
            if digest(prev_hash, kind, oid, chash, actor, at) != ehash:
                problems.append(Problem(eid, kind, oid, "entry was altered (hash mismatch)"))
            prev = ehash
            objects = latest.get(kind)
            if objects is None:
                objects = latest[kind] = {}
                first_entry[kind] = eid
            objects[oid] = (eid, chash)
        checked += len(rows)
        last_id = rows[-1][0]

    for kind, objects in latest.items():
        resolver = _RESOLVERS.get(kind)
        if resolver is None:
            problems.append(
                Problem(first_entry[kind], kind, "?", "no verifier registered for this kind")
            )
            continue
        ids = list(objects)
        current: dict[str, str] = {}
        for i in range(0, len(ids), 5000):
            current.update(resolver(session, ids[i : i + 5000]))
        for oid, (eid, chash) in objects.items():
            now = current.get(oid)
            if now is None:
                problems.append(Problem(eid, kind, oid, "the signed record is missing"))
            elif now != chash:
                problems.append(
                    Problem(eid, kind, oid, "the signed record was changed after signing")
                )
    problems.sort(key=lambda p: p.entry_id)
    return Report(checked=checked, problems=problems)
