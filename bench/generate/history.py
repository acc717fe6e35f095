"""History: years of trainings, planned person by person, then written in date order."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from flask import current_app

from bench.generate.base import FLUSH_ROWS, Counts
from bench.generate.sessions import Sessions
from lms.accounts.models import Department
from lms.completions.models import Certificate, Completion, Revocation
from lms.core import ledger
from lms.core.ledger import LedgerEntry
from lms.learning.models import Attempt, AttemptQuestion
from lms.sessions.models import (
    Acknowledgment,
    AttendanceMark,
    Enrolment,
    SessionSignature,
    TrainingSession,
)

# the order of the bulk INSERTs (foreign keys), and the count each table reports
WRITE_ORDER: list[tuple[Any, str]] = [
    (TrainingSession, "sessions"),
    (Enrolment, "enrolments"),
    (AttendanceMark, "attendance"),
    (Acknowledgment, "acknowledgments"),
    (SessionSignature, "signatures"),
    (Attempt, "attempts"),
    (AttemptQuestion, "attempt_questions"),
    (Completion, "completions"),
    (Certificate, "certificates"),
    (Revocation, "revocations"),
]


class Generator(Sessions):
    """A realistic organisation at scale: ``Generator(session, employees=...).run()``."""

    # ----- history --------------------------------------------------------------------------
    #
    # Two passes. ``plan`` decides, person by person, when each required program was taken
    # (on time, early, or late) and groups instructor-led trainings into buckets of a few
    # weeks per program (per department for cascade briefings), sized so that a session holds
    # about 15-25 people. ``build`` then walks the sessions and self-paced attempts in date
    # order and writes rows; the ledger is chained at the end in time order.

    def history(self) -> None:
        cfg = current_app.config["LMS_CONFIG"]
        self._req_divisions = {}
        self.pools = {}
        self.org_name, self.base_url = cfg.organisation_name, cfg.base_url
        self.dept_names = dict(self.s.execute(sa.select(Department.id, Department.name)).all())
        self.questions = {
            p.id: [q.id for q in self.current(p).questions] for p in self.program_rows
        }
        self.week0 = self.start - timedelta(days=self.start.weekday())
        buckets, self_paced = self.plan()
        self.build(buckets, self_paced)

    def _weeks_per_session(self, audience: int, months: int | None) -> int:
        """Weeks of trainings one session gathers so that it holds about 20 people."""
        interval_weeks = (months or 12 * self.years) * 52 / 12
        per_week = max(audience, 1) / interval_weeks
        return max(1, min(13, round(20 / per_week)))

    def _session_day(self, day: date, weeks: int) -> date:
        """The Friday closing the bucket of ``weeks`` weeks that holds ``day`` (not after today)."""
        span = 7 * weeks
        bucket = (day - self.week0).days // span
        return min(self.week0 + timedelta(days=bucket * span + span - 3), self.today)

    def plan(self) -> tuple[dict[tuple, list[dict]], list[dict]]:
        rng, progs = self.rng, self.program_rows
        required_by_dept = {
            d: [pi for pi in range(len(progs)) if self.required(pi, d)]
            for d in self.units + self.divisions
        }
        audience = [0] * len(progs)
        dept_size: dict[int, int] = {}
        for person in self.people:
            dept_size[person["department_id"]] = dept_size.get(person["department_id"], 0) + 1
            for pi in required_by_dept[person["department_id"]]:
                audience[pi] += 1
        weeks = [
            self._weeks_per_session(audience[pi], self.current(p).refresher_months)
            for pi, p in enumerate(progs)
        ]
        window = (self.today - self.start).days
        buckets: dict[tuple, list[dict]] = {}
        self_paced: list[dict] = []
        manager_events: dict[tuple[int, int], list[dict]] = {}
        for idx, person in enumerate(self.people):
            dept = person["department_id"]
            manager = self.managers.get(dept)
            for pi in required_by_dept[dept]:
                if rng.random() < 0.04:
                    continue  # never trained
                p = progs[pi]
                v = self.current(p)
                months = v.refresher_months
                if person["start_date"] > self.start:
                    day = person["start_date"] + timedelta(days=rng.randint(0, 20))
                elif months:  # staff already there: their cycles are spread over the interval
                    day = self.start + timedelta(days=rng.randint(0, min(months * 30, window)))
                else:
                    day = self.start + timedelta(days=rng.randint(0, 40))
                while day <= self.today:
                    event: dict[str, Any] = {"person": person, "pi": pi, "absent": False}
                    if v.delivery_mode == "self_paced":
                        event["day"] = day
                        self_paced.append(event)
                    else:
                        event["absent"] = rng.random() < 0.03
                        cascade = v.delivery_mode == "cascade"
                        held = None
                        if cascade and manager and manager != person["id"]:
                            span = self._weeks_per_session(dept_size[dept], months)
                            session_day = self._session_day(day, span)
                            held = [
                                e
                                for e in manager_events.get((manager, p.id), [])
                                if e["day"] <= session_day
                            ]
                        if held:
                            event.update(level=1, trainer_event=held[-1], day=session_day)
                            key = (session_day, pi, dept)
                        else:
                            event["day"] = self._session_day(day, weeks[pi])
                            event["level"] = 0 if cascade else None
                            key = (event["day"], pi, None)
                            if cascade and not event["absent"]:
                                manager_events.setdefault((person["id"], p.id), []).append(event)
                        buckets.setdefault(key, []).append(event)
                    if months is None:
                        break
                    day = day + relativedelta(months=months) - timedelta(days=rng.randint(0, 45))
                    if rng.random() < 0.06:
                        day = day + timedelta(days=rng.randint(30, 120))  # late: overdue now
            if idx % 100 == 0:
                self.step("plan", 0.4 * idx / len(self.people))
        return buckets, self_paced

    def build(self, buckets: dict[tuple, list[dict]], self_paced: list[dict]) -> None:
        self.buf = {model: [] for model, _name in WRITE_ORDER}
        self.ledger_items = []
        # cascade sessions (level 1) after the instructors' sessions of the same day
        work: list[tuple[Any, ...]] = [(e["day"], 0, i, None, e) for i, e in enumerate(self_paced)]
        work += [
            (key[0], 0 if key[2] is None else 1, i, key, people)
            for i, (key, people) in enumerate(buckets.items())
        ]
        work.sort(key=lambda w: w[:3])
        self.written = {name: 0 for _model, name in WRITE_ORDER}
        for n, (_day, _order, _i, key, item) in enumerate(work):
            if key is None:
                self.self_paced(item)
            else:
                self.sessions_for(key, item)
            if n % 500 == 0:
                self.step("history", 0.4 + 0.5 * n / len(work))
            if n % 20 == 0 and sum(len(rows) for rows in self.buf.values()) >= FLUSH_ROWS:
                self.flush_history()
        self.flush_history()
        self.ledger_items.sort(key=lambda item: item[0])
        self.last_hash = (
            self.s.execute(
                sa.select(LedgerEntry.entry_hash).order_by(LedgerEntry.seq.desc()).limit(1)
            ).scalar()
            or ledger.GENESIS
        )
        total = len(self.ledger_items)
        for n, (at, kind, oid, chash, actor) in enumerate(self.ledger_items):
            self.chain(kind, oid, chash, actor, at)
            if n % 50_000 == 0:
                self.step("ledger", 0.9 + 0.1 * n / max(total, 1))
        self.flush_ledger()
        self.ledger_items = []
        self.step("ledger", 1.0)
        for _model, name in WRITE_ORDER:
            setattr(self.counts, name, self.written[name])

    def flush_history(self) -> None:
        """Write the rows built so far, table by table in foreign-key order (a row only ever
        refers to rows built before it, so each flush is complete), and free the memory."""
        for model, name in WRITE_ORDER:
            self.insert(model, self.buf[model])
            self.written[name] += len(self.buf[model])
            self.buf[model] = []

    def step(self, stage: str, fraction: float) -> None:
        self.progress(stage, 0.05 + 0.95 * fraction)

    def sessions_for(self, key: tuple, people: list[dict]) -> None:
        """Split one bucket into sessions of at most 25, held the same day."""
        day, pi, dept = key
        p = self.program_rows[pi]
        v = self.current(p)
        n = -(-len(people) // 25)
        size, extra = divmod(len(people), n)
        start = 0
        for j in range(n):
            group = people[start : start + size + (1 if j < extra else 0)]
            start += len(group)
            if dept is None:
                pool = self._pool(pi)
                trainer = pool[j % len(pool)]
            else:
                trainer = self.managers[dept]
            self.session(p, v, day, 9 + 2 * (j % 4), trainer, dept, group)

    def _pool(self, pi: int) -> list[int]:
        """The two or three instructors who run a program's sessions."""
        if pi not in self.pools:
            self.pools[pi] = self.rng.sample(self.instructors, min(3, len(self.instructors)))
        return self.pools[pi]

    def run(self) -> Counts:
        self.organisation()
        self.programs()
        self.history()
        self.fix_sequences()
        return self.counts
