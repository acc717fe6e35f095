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
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
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


def values(obj, names: tuple[str, ...]) -> tuple:
    """The attributes ``names`` of obj, in order: a record as the row-based hash helpers take
    it (from a model class: its columns, for the select that reads such rows)."""
    return tuple(getattr(obj, n) for n in names)


def rows_by_id(session, columns: tuple, ids: Iterable[Any], chunk: int = 5000) -> Iterator[tuple]:
    """Plain rows of ``columns`` (the first is the integer primary key) for these ids.

    Resolvers read tuples rather than ORM objects: verification touches every signed row.
    Ids come in sorted chunks; a dense chunk (the usual case: the ledger names nearly every
    row) is read as one id range, which both databases answer far faster than a long IN list.
    """
    wanted = sorted({int(i) for i in ids})
    conn = session.connection()  # Core rows: no ORM loading machinery per row
    key = columns[0]
    for i in range(0, len(wanted), chunk):
        part = wanted[i : i + chunk]
        if part[-1] - part[0] < 2 * len(part):
            keep = set(part)
            rows = conn.execute(sa.select(*columns).where(key.between(part[0], part[-1])))
            yield from (row for row in rows if row[0] in keep)
        else:
            yield from conn.execute(sa.select(*columns).where(key.in_(part)))


@dataclass
class _Part:
    """What one stretch of the ledger (ids in (lo, hi]) says about itself."""

    checked: int = 0
    first: tuple | None = None  # (id, kind, object id, prev_hash) of its first entry
    last_hash: str | None = None
    chain: list[Problem] = field(default_factory=list)
    content: dict[tuple[str, str], Problem] = field(default_factory=dict)
    seen: dict[str, set[str]] = field(default_factory=dict)  # kind -> object ids it holds
    unverifiable: dict[str, int] = field(default_factory=dict)  # kind -> first entry id


_ENTRY_COLUMNS = (
    LedgerEntry.id,
    LedgerEntry.kind,
    LedgerEntry.object_id,
    LedgerEntry.content_hash,
    LedgerEntry.actor_id,
    LedgerEntry.at,
    LedgerEntry.prev_hash,
    LedgerEntry.entry_hash,
)


def _verify_part(session, lo: int, hi: int, batch: int, joined: bool = False) -> _Part:
    """Check the entries with lo < id <= hi: their links to each other, their own hashes, and
    the content hash of each object against the newest entry for it in this stretch.
    ``joined``: other stretches follow, so say which objects this one holds (``seen``)."""
    part = _Part()
    # kind -> object id -> (entry id, content hash) of the newest entry
    latest: dict[str, dict[str, tuple[int, str]]] = {}
    digest = entry_digest
    conn = session.connection()  # Core rows: no ORM machinery per row
    prev = None
    last_id = lo
    while True:
        rows = conn.execute(
            sa.select(*_ENTRY_COLUMNS)
            .where(LedgerEntry.id > last_id, LedgerEntry.id <= hi)
            .order_by(LedgerEntry.id)
            .limit(batch)
        ).all()
        if not rows:
            break
        if prev is None:  # the link into this stretch is checked by the caller
            part.first = tuple(rows[0][:3]) + (rows[0][6],)
            prev = rows[0][6]
        for eid, kind, oid, chash, actor, at, prev_hash, ehash in rows:
            if prev_hash != prev:
                part.chain.append(Problem(eid, kind, oid, "previous-hash link is broken"))
            if digest(prev_hash, kind, oid, chash, actor, at) != ehash:
                part.chain.append(Problem(eid, kind, oid, "entry was altered (hash mismatch)"))
            prev = ehash
            objects = latest.get(kind)
            if objects is None:
                objects = latest[kind] = {}
                part.unverifiable[kind] = eid  # until a resolver is found below
            objects[oid] = (eid, chash)
        part.checked += len(rows)
        last_id = rows[-1][0]
    part.last_hash = prev

    for kind, objects in latest.items():
        if joined:
            part.seen[kind] = set(objects)
        resolver = _RESOLVERS.get(kind)
        if resolver is None:
            continue
        del part.unverifiable[kind]
        ids = list(objects)
        current: dict[str, str] = {}
        for i in range(0, len(ids), 5000):
            current.update(resolver(session, ids[i : i + 5000]))
        for oid, (eid, chash) in objects.items():
            now = current.get(oid)
            if now is None:
                part.content[(kind, oid)] = Problem(eid, kind, oid, "the signed record is missing")
            elif now != chash:
                part.content[(kind, oid)] = Problem(
                    eid, kind, oid, "the signed record was changed after signing"
                )
    return part


def _verify_part_apart(url, lo: int, hi: int, batch: int) -> _Part:
    """_verify_part in a worker process, on a connection of its own."""
    from sqlalchemy.orm import Session

    engine = sa.create_engine(url)
    try:
        with Session(engine) as session:
            return _verify_part(session, lo, hi, batch, joined=True)
    finally:
        engine.dispose()


ENTRIES_PER_PROCESS = 20_000  # below this many entries a worker process costs more than it saves


def verify(session, batch: int = 50_000, processes: int = 1) -> Report:
    """Recompute the chain and the content hash of every object the ledger points at.

    With ``processes`` > 1 a large ledger is cut into stretches checked by worker processes on
    connections of their own (so they see only committed rows: for the command line, not for
    a request or a test inside a transaction), then joined as if read in one pass.
    """
    low, high = session.execute(
        sa.select(sa.func.min(LedgerEntry.id), sa.func.max(LedgerEntry.id))
    ).one()
    if low is None:
        return Report(checked=0, problems=[])
    processes = min(processes, (high - low + 1) // ENTRIES_PER_PROCESS)
    if session.get_bind().url.database in (None, "", ":memory:"):
        processes = 1  # another process cannot open this database
    if processes <= 1:
        parts = [_verify_part(session, 0, high, batch)]
    else:
        pieces = processes * 2
        edges = [low - 1 + (high - low + 1) * k // pieces for k in range(pieces)] + [high]
        url = session.get_bind().url
        with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork")) as pool:
            parts = list(
                pool.map(
                    _verify_part_apart,
                    [url] * pieces,
                    edges[:-1],
                    edges[1:],
                    [batch] * pieces,
                )
            )
    problems: list[Problem] = []
    content: dict[tuple[str, str], Problem] = {}
    unverifiable: dict[str, int] = {}
    prev = GENESIS
    for part in parts:
        if part.first is None:
            continue
        eid, kind, oid, first_prev = part.first
        if first_prev != prev:
            problems.append(Problem(eid, kind, oid, "previous-hash link is broken"))
        prev = part.last_hash
        problems.extend(part.chain)
        # an object's newest entry is authoritative: a later stretch overrides earlier ones
        for key in [key for key in content if key[1] in part.seen.get(key[0], ())]:
            del content[key]
        content.update(part.content)
        for kind, eid in part.unverifiable.items():
            unverifiable.setdefault(kind, eid)
    problems.extend(content.values())
    problems.extend(
        Problem(eid, kind, "?", "no verifier registered for this kind")
        for kind, eid in unverifiable.items()
    )
    problems.sort(key=lambda p: p.entry_id)
    return Report(checked=sum(p.checked for p in parts), problems=problems)
