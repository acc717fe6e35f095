"""The tamper-evident ledger.

Every signed event (a program signature, an attendance mark, an acknowledgment, a completion,
a certificate) appends one entry. Each entry stores the SHA-256 of the signed content and the
hash of the entry before it, so changing any past row, or the content it points at, breaks the
chain in a way ``verify()`` reports with the row's id.

Domains register, per ledger ``kind``, a function that recomputes the content hash of their
objects from the rows as they are now, and the ids of every record that must have an entry
(``register_kind``). Verification needs no other code.

Nothing can go missing unnoticed:
- entries carry contiguous sequence numbers (1, 2, 3, ...), so a deleted entry is named by its
  number;
- a completeness scan finds signed records without an entry (and entries without a record);
- anchors (the chain head: sequence number and entry hash) are printed into every issued PDF
  and written to checkpoint files; ``verify`` checks that the ledger still holds every head it
  is shown, so removing the newest entries is detected too.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from lms.core.model import Base, DbSession, UTCDateTime, utcnow

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
    # 1, 2, 3, ... with no gap (ids may skip numbers after a rollback on PostgreSQL)
    seq: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
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
_EVERY: dict[str, Any] = {}


def register_kind(kind: str, resolver: ContentResolver, every: Any = None) -> None:
    """Declare how to recompute the content hash of objects of this kind.

    ``resolver(session, object_ids)`` returns {object_id: current content hash}; an id missing
    from the result means the object is gone, which verification reports. ``every``: a select
    of the ids of all records that must have an entry of this kind (the completeness scan).
    """
    if kind in _RESOLVERS and _RESOLVERS[kind] is not resolver:
        raise ValueError(f"ledger kind {kind!r} registered twice")
    _RESOLVERS[kind] = resolver
    if every is not None:
        _EVERY[kind] = every


def append(
    session: DbSession, kind: str, object_id: Any, content_hash: str, actor_id: int | None
) -> LedgerEntry:
    """Append an entry after the current last one (serialised on PostgreSQL)."""
    if kind not in _RESOLVERS:
        raise ValueError(f"ledger kind {kind!r} is not registered")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    last = session.execute(
        sa.select(LedgerEntry.seq, LedgerEntry.entry_hash).order_by(LedgerEntry.seq.desc()).limit(1)
    ).first()
    prev = last.entry_hash if last else GENESIS
    at = utcnow().replace(microsecond=0)
    entry = LedgerEntry(
        seq=(last.seq if last else 0) + 1,
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


def append_many(
    session: DbSession, kind: str, items: Sequence[tuple[Any, str, int | None]]
) -> list[tuple[int, str]]:
    """Append one entry per (object id, content hash, actor id), in order, as ``append`` would
    one by one: one lock, one read of the head, one multi-row insert. Returns the (sequence
    number, entry hash) of each new entry."""
    if kind not in _RESOLVERS:
        raise ValueError(f"ledger kind {kind!r} is not registered")
    if not items:
        return []
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    session.flush()  # entries appended through the ORM come first
    last = head(session)
    seq, prev = last if last else (0, GENESIS)
    at = utcnow().replace(microsecond=0)
    rows: list[dict[str, Any]] = []
    for object_id, content_hash, actor_id in items:
        seq += 1
        oid = str(object_id)
        digest = entry_digest(prev, kind, oid, content_hash, actor_id, at)
        rows.append(
            {
                "seq": seq,
                "kind": kind,
                "object_id": oid,
                "content_hash": content_hash,
                "actor_id": actor_id,
                "at": at,
                "prev_hash": prev,
                "entry_hash": digest,
            }
        )
        prev = digest
    session.execute(sa.insert(LedgerEntry), rows)
    return [(r["seq"], r["entry_hash"]) for r in rows]


@dataclass
class Problem:
    entry_id: int | None  # the row id of the entry concerned (None: no entry to point at)
    kind: str
    object_id: str
    reason: str
    seq: int | None = None  # its sequence number, as people read it

    def __str__(self) -> str:
        if self.seq is None and self.entry_id is None:
            return f"{self.kind} {self.object_id}: {self.reason}"
        where = self.seq if self.seq is not None else f"id {self.entry_id}"
        if self.kind == "?":  # an entry known only by its number
            return f"ledger entry {where} {self.reason}"
        return f"ledger entry {where} ({self.kind} {self.object_id}): {self.reason}"


@dataclass
class Report:
    checked: int
    problems: list[Problem]
    head: tuple[int, str] | None = None  # (sequence number, entry hash) of the newest entry
    anchors: int = 0  # anchors checked

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Anchor:
    """A chain head seen outside the database: (sequence number, entry hash) and where."""

    seq: int
    entry_hash: str
    source: str


def head(session: DbSession) -> tuple[int, str] | None:
    """(sequence number, entry hash) of the newest entry, None for an empty ledger."""
    row = session.execute(
        sa.select(LedgerEntry.seq, LedgerEntry.entry_hash).order_by(LedgerEntry.seq.desc()).limit(1)
    ).first()
    return (int(row[0]), row[1]) if row else None


def head_text(session: DbSession) -> str:
    """The chain head as printed in PDF metadata: "<seq>:<entry hash>" ("0:" + genesis)."""
    h = head(session)
    return f"{h[0]}:{h[1]}" if h else f"0:{GENESIS}"


def parse_head(text: str, source: str) -> Anchor:
    seq, _, digest = text.strip().partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise ValueError(f"{source}: not a ledger head ({text[:80]!r})")
    return Anchor(int(seq), digest.lower(), source)


def values(obj: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
    """The attributes ``names`` of obj, in order: a record as the row-based hash helpers take
    it (from a model class: its columns, for the select that reads such rows)."""
    return tuple(getattr(obj, n) for n in names)


def rows_by_id(
    session: DbSession, columns: tuple[Any, ...], ids: Iterable[Any], chunk: int = 5000
) -> Iterator[Any]:
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
            yield from [row for row in rows.all() if row[0] in keep]  # fetched at once
        else:
            yield from conn.execute(sa.select(*columns).where(key.in_(part))).all()


@dataclass
class _Part:
    """What one stretch of the ledger (ids in (lo, hi]) says about itself."""

    checked: int = 0
    first: tuple[int, int, str, str, str] | None = None  # (seq, id, kind, object id, prev_hash)
    last_seq: int | None = None
    last_hash: str | None = None
    chain: list[Problem] = field(default_factory=list)
    content: dict[tuple[str, str], Problem] = field(default_factory=dict)
    unverifiable: dict[str, int] = field(default_factory=dict)  # kind -> first entry id


# ``at`` is read as the database gives it (no per-row type conversion): see _iso_utc
_ENTRY_COLUMNS = (
    LedgerEntry.seq,
    LedgerEntry.id,
    LedgerEntry.kind,
    LedgerEntry.object_id,
    LedgerEntry.content_hash,
    LedgerEntry.actor_id,
    sa.type_coerce(LedgerEntry.at, sa.DateTime(timezone=True)),
    LedgerEntry.prev_hash,
    LedgerEntry.entry_hash,
)


def _iso_utc(at: datetime) -> str:
    """``at.isoformat()`` of the UTC time as ``UTCDateTime`` reads it back (SQLite keeps no
    zone: the value is UTC; PostgreSQL gives it in the connection's zone)."""
    if at.tzinfo is None:
        return at.isoformat() + "+00:00"
    if at.utcoffset() == _ZERO:
        return at.replace(tzinfo=UTC).isoformat()
    return at.astimezone(UTC).isoformat()


_ZERO = timedelta(0)


def _gap(after: int, upto: int) -> Problem:
    """Entries after+1 .. upto-1 are missing."""
    first, last = after + 1, upto - 1
    if first == last:
        return Problem(None, "?", "?", "is missing (deleted)", seq=first)
    return Problem(None, "?", "?", f"to {last} are missing (deleted)", seq=first)


def _verify_part(session: DbSession, lo: int, hi: int, batch: int) -> _Part:
    """Check the entries with lo < id <= hi: their numbering and links to each other, their own
    hashes, and the content hash of each object against the newest entry for it here.

    Entries are read in id order (a plain range scan on both databases); ids and sequence
    numbers grow together, so the sequence numbers must read 1, 2, 3, ... in that order."""
    part = _Part()
    # kind -> object id -> (entry id, seq, content hash) of the newest entry
    latest: dict[str, dict[str, tuple[int, int, str]]] = {}
    sha = hashlib.sha256
    iso = _iso_utc
    conn = session.connection()  # Core rows: no ORM machinery per row
    prev: str | None = None
    prev_seq = 0
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
        if prev is None:  # the link (and numbering) into this stretch is checked by the caller
            part.first = (rows[0][0], rows[0][1], rows[0][2], rows[0][3], rows[0][7])
            prev = rows[0][7]
            prev_seq = rows[0][0] - 1
        for seq, eid, kind, oid, chash, actor, at, prev_hash, ehash in rows:
            if seq > prev_seq + 1:
                part.chain.append(_gap(prev_seq, seq))
            elif seq != prev_seq + 1:
                part.chain.append(Problem(eid, kind, oid, "sequence number out of order", seq))
            elif prev_hash != prev:
                part.chain.append(Problem(eid, kind, oid, "previous-hash link is broken", seq))
            # entry_digest, inlined: it runs once per entry
            line = f"{prev_hash}|{kind}|{oid}|{chash}|{actor or ''}|{iso(at)}"
            if sha(line.encode()).hexdigest() != ehash:
                part.chain.append(Problem(eid, kind, oid, "entry was altered (hash mismatch)", seq))
            prev = ehash
            prev_seq = seq
            objects = latest.get(kind)
            if objects is None:
                objects = latest[kind] = {}
                part.unverifiable[kind] = eid  # until a resolver is found below
            objects[oid] = (eid, seq, chash)
        part.checked += len(rows)
        last_id = rows[-1][1]
    part.last_hash = prev
    part.last_seq = prev_seq if prev is not None else None

    for kind, objects in latest.items():
        resolver = _RESOLVERS.get(kind)
        if resolver is None:
            continue
        del part.unverifiable[kind]
        ids = list(objects)
        current: dict[str, str] = {}
        for i in range(0, len(ids), 5000):
            current.update(resolver(session, ids[i : i + 5000]))
        for oid, (eid, seq, chash) in objects.items():
            now = current.get(oid)
            if now is None:
                part.content[(kind, oid)] = Problem(
                    eid, kind, oid, "the signed record is missing", seq
                )
            elif now != chash:
                part.content[(kind, oid)] = Problem(
                    eid, kind, oid, "the signed record was changed after signing", seq
                )
    return part


def _verify_part_apart(url: sa.URL, lo: int, hi: int, batch: int) -> _Part:
    """_verify_part in a worker process, on a connection of its own."""
    engine = sa.create_engine(url)
    try:
        with Session(engine) as session:
            return _verify_part(session, lo, hi, batch)
    finally:
        engine.dispose()


ENTRIES_PER_PROCESS = 20_000  # below this many entries a worker process costs more than it saves


def _completeness(session: DbSession) -> list[Problem]:
    """Signed records of a registered kind that have no ledger entry: one anti-join per kind
    in the database (the ledger's (kind, object id) index answers each record), so no list of
    every object id travels to Python."""
    problems: list[Problem] = []
    conn = session.connection()
    for kind, every in _EVERY.items():
        ids = every.subquery()
        key = next(iter(ids.c))
        missing: Iterable[Any] = conn.execute(
            sa.select(key)
            .where(
                ~sa.exists().where(
                    LedgerEntry.kind == kind, LedgerEntry.object_id == sa.cast(key, sa.String)
                )
            )
            .order_by(key)
        ).scalars()
        problems.extend(
            Problem(None, kind, str(oid), "the signed record has no ledger entry")
            for oid in missing
        )
    return problems


def _superseded(
    session: DbSession, content: dict[tuple[str, str], Problem]
) -> set[tuple[str, str]]:
    """Of these content problems, those whose object has a newer entry than the one the
    problem names (found in a later stretch, which judged the object by that newest entry)."""
    out: set[tuple[str, str]] = set()
    by_kind: dict[str, list[str]] = {}
    for kind, oid in content:
        by_kind.setdefault(kind, []).append(oid)
    conn = session.connection()
    for kind, oids in by_kind.items():
        for i in range(0, len(oids), 500):
            chunk = oids[i : i + 500]
            for oid, newest in conn.execute(
                sa.select(LedgerEntry.object_id, sa.func.max(LedgerEntry.seq))
                .where(LedgerEntry.kind == kind, LedgerEntry.object_id.in_(chunk))
                .group_by(LedgerEntry.object_id)
            ):
                seq = content[(kind, oid)].seq
                if seq is not None and newest > seq:
                    out.add((kind, oid))
    return out


def _check_anchors(
    session: DbSession, anchors: Iterable[Anchor], last: int | None
) -> list[Problem]:
    problems: list[Problem] = []
    wanted = list(anchors)
    found = dict(
        session.execute(
            sa.select(LedgerEntry.seq, LedgerEntry.entry_hash).where(
                LedgerEntry.seq.in_({a.seq for a in wanted if a.seq > 0} or {0})
            )
        ).all()
    )
    for anchor in wanted:
        if anchor.seq == 0:
            continue
        have = found.get(anchor.seq)
        if have is None:
            if last is None or anchor.seq > last:
                reason = (
                    f"is missing: {anchor.source} recorded it as the chain head, but the ledger "
                    f"ends at entry {last or 0} (the newest entries were removed)"
                )
            else:
                reason = f"is missing, though {anchor.source} recorded it as the chain head"
            problems.append(Problem(None, "?", "?", reason, seq=anchor.seq))
        elif have != anchor.entry_hash:
            problems.append(
                Problem(
                    None,
                    "?",
                    "?",
                    f"differs from the chain head recorded in {anchor.source}",
                    seq=anchor.seq,
                )
            )
    return problems


def verify(
    session: DbSession, batch: int = 50_000, processes: int = 1, anchors: Iterable[Anchor] = ()
) -> Report:
    """Recompute the chain and the content hash of every object the ledger points at, check
    the numbering has no gap, that every signed record has an entry (completeness), and that
    the ledger still holds each chain head in ``anchors`` (truncation).

    With ``processes`` > 1 a large ledger is cut into stretches checked by worker processes on
    connections of their own (so they see only committed rows: for the command line, not for
    a request or a test inside a transaction), then joined as if read in one pass.
    """
    low, high, count = session.execute(
        sa.select(sa.func.min(LedgerEntry.id), sa.func.max(LedgerEntry.id), sa.func.count())
    ).one()
    wanted = list(anchors)
    if low is None:
        found = _completeness(session) + _check_anchors(session, wanted, None)
        return Report(checked=0, problems=found, anchors=len(wanted))
    processes = min(processes, count // ENTRIES_PER_PROCESS)
    url = session.get_bind().engine.url
    if url.database in (None, "", ":memory:"):
        processes = 1  # another process cannot open this database
    if processes <= 1:
        parts = [_verify_part(session, 0, high, batch)]
    else:
        pieces = processes * 2
        edges = [low - 1 + (high - low + 1) * k // pieces for k in range(pieces)] + [high]
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
    prev, prev_seq = GENESIS, 0
    for part in parts:
        if part.first is None or part.last_hash is None or part.last_seq is None:
            continue
        seq, eid, kind, oid, first_prev = part.first
        if seq > prev_seq + 1:
            problems.append(_gap(prev_seq, seq))
        elif seq != prev_seq + 1:
            problems.append(Problem(eid, kind, oid, "sequence number out of order", seq))
        elif first_prev != prev:
            problems.append(Problem(eid, kind, oid, "previous-hash link is broken", seq))
        prev, prev_seq = part.last_hash, part.last_seq
        problems.extend(part.chain)
        content.update(part.content)  # a later stretch holds the newer entry
        for kind, eid in part.unverifiable.items():
            unverifiable.setdefault(kind, eid)
    if len(parts) > 1 and content:
        # an object's newest entry is authoritative: a problem found at an older entry of an
        # object that a later stretch holds again was judged there
        for key in _superseded(session, content):
            del content[key]
    problems.extend(content.values())
    problems.extend(
        Problem(eid, kind, "?", "no verifier registered for this kind")
        for kind, eid in unverifiable.items()
    )
    problems.extend(_check_anchors(session, wanted, prev_seq))
    problems.sort(key=lambda p: (p.seq is None, p.seq or 0))
    problems.extend(_completeness(session))
    return Report(
        checked=sum(p.checked for p in parts),
        problems=problems,
        head=(prev_seq, prev),
        anchors=len(wanted),
    )
