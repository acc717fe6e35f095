"""The plumbing every domain's part of the generator shares: ids, bulk inserts, the ledger."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta

from bench.generate.rows import row, table_of
from lms.core import ledger
from lms.core.ledger import LedgerEntry
from lms.core.model import DbSession, utcnow
from lms.programs.models import Program, ProgramVersion

PASSWORD = "bench-password"
BATCH = 5000  # rows per INSERT statement (one executemany)
FLUSH_ROWS = 100_000  # history rows held in memory before they are written out


@dataclass
class Counts:
    departments: int = 0
    people: int = 0
    programs: int = 0
    sessions: int = 0
    enrolments: int = 0
    attendance: int = 0
    acknowledgments: int = 0
    signatures: int = 0
    attempts: int = 0
    attempt_questions: int = 0
    completions: int = 0
    certificates: int = 0
    revocations: int = 0
    ledger: int = 0

    @property
    def total(self) -> int:
        return sum(self.__dict__.values())


class Plumbing:
    """Explicit ids, batched INSERTs and the ledger chain, for the domain parts below."""

    # what the parts share, set as the run goes: the organisation, the programs, the history
    admin_id: int
    divisions: list[int]
    units: list[int]
    parent: dict[int, int | None]
    dept_codes: dict[int, str]
    dept_names: dict[int, str]
    people: list[dict[str, Any]]
    managers: dict[int, int]
    instructors: list[int]
    program_rows: list[Program]
    questions: dict[int, list[int]]
    pools: dict[int, list[int]]
    org_name: str
    base_url: str
    buf: dict[Any, list[dict[str, Any]]]
    ledger_items: list[tuple[datetime, str, int, str, int | None]]
    written: dict[str, int]
    _req_divisions: dict[int, set[int | None]]

    def __init__(
        self,
        session: DbSession,
        *,
        employees: int,
        programs: int,
        years: int,
        seed: int = 7,
        progress: Callable[[str, float], None] | None = None,
    ):
        self.s = session
        self.n_employees = employees
        self.n_programs = programs
        self.years = years
        self.rng = random.Random(seed)
        self.today = utcnow().date()
        self.start = self.today - relativedelta(years=years)
        self.counts = Counts()
        self.progress = progress or (lambda _label, _n: None)
        self.next_id: dict[str, int] = {}
        self.ledger_rows: list[dict[str, Any]] = []
        self.attempt_numbers: dict[tuple[int, int], int] = {}
        self.last_hash = ledger.GENESIS  # read afresh before the history is chained
        self.last_seq: int | None = None  # contiguous ledger numbers, read once

    @staticmethod
    def current(program: Program) -> ProgramVersion:
        """The approved version a generated program is taught from."""
        version = program.current_version
        assert version is not None  # every generated program is signed
        return version

    def new_id(self, model: Any) -> int:
        table = table_of(model)
        name = table.name
        if name not in self.next_id:
            self.next_id[name] = (
                self.s.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
            ) + 1
        value = self.next_id[name]
        self.next_id[name] += 1
        return value

    def insert(self, model: Any, rows: list[dict[str, Any]]) -> None:
        table = table_of(model)
        for i in range(0, len(rows), BATCH):
            self.s.execute(table.insert(), rows[i : i + BATCH])

    def chain(
        self, kind: str, object_id: int, content_hash: str, actor_id: int | None, at: datetime
    ) -> None:
        at = at.replace(microsecond=0)
        entry_hash = ledger.entry_digest(
            self.last_hash, kind, str(object_id), content_hash, actor_id, at
        )
        if len(self.ledger_rows) >= FLUSH_ROWS:
            self.flush_ledger()
        self.ledger_rows.append(
            row(
                LedgerEntry,
                id=self.new_id(LedgerEntry),
                seq=self.new_seq(),
                kind=kind,
                object_id=str(object_id),
                content_hash=content_hash,
                actor_id=actor_id,
                at=at,
                prev_hash=self.last_hash,
                entry_hash=entry_hash,
            )
        )
        self.last_hash = entry_hash

    def new_seq(self) -> int:
        if self.last_seq is None:
            self.last_seq = self.s.execute(sa.select(sa.func.max(LedgerEntry.seq))).scalar() or 0
        self.last_seq += 1
        return self.last_seq

    def flush_ledger(self) -> None:
        self.insert(LedgerEntry, self.ledger_rows)
        self.counts.ledger += len(self.ledger_rows)
        self.ledger_rows = []

    def fix_sequences(self) -> None:
        if self.s.get_bind().dialect.name != "postgresql":
            return
        for name in self.next_id:
            self.s.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {name}))"
                )
            )
