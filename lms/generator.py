"""`flask lms generate`: a realistic organisation at scale, for benchmarks and load tests.

Departments in a tree, thousands of people in every role, programs with signed versions,
requirements, and years of history: sessions with enrolments, attendance, acknowledgments and
signatures; quiz attempts; completions with certificates; a few revocations; the ledger over
all of it, so `flask lms verify` passes. Rows go in with bulk INSERTs and explicit ids; every
hash is computed with the same functions the application uses.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace as NS

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta

from lms.accounts.models import Department, User, UserRole
from lms.accounts.services import hash_secret
from lms.completions import services as completion_services
from lms.completions.models import Certificate, Completion, Revocation
from lms.compliance import services as compliance
from lms.core import ledger
from lms.core.ledger import LedgerEntry
from lms.core.model import utcnow
from lms.programs import services as programs
from lms.programs.models import Question

JOB_TITLES = [
    "Welder",
    "Fitter",
    "Lathe operator",
    "Storekeeper",
    "Forklift driver",
    "Driver",
    "Dispatcher",
    "Accountant",
    "Sales representative",
    "Quality inspector",
    "Electrician",
    "Maintenance technician",
    "Production planner",
    "Cleaner",
    "Cook",
    "Security guard",
    "Engineer",
    "HR specialist",
    "Receptionist",
    "Picker",
]
FIRST = [
    "Jānis",
    "Anna",
    "Andris",
    "Līga",
    "Sergejs",
    "Olga",
    "Kārlis",
    "Ieva",
    "Dmitrijs",
    "Inese",
    "Toms",
    "Marina",
    "Edgars",
    "Zane",
    "Pāvels",
    "Ilze",
    "Rihards",
    "Natalja",
]
LAST = [
    "Bērziņš",
    "Kalniņa",
    "Ozols",
    "Liepiņa",
    "Ivanovs",
    "Petrova",
    "Krūmiņš",
    "Šulce",
    "Vanags",
    "Jansone",
    "Smirnovs",
    "Kuzņecova",
    "Eglītis",
    "Ābola",
    "Ņikitins",
    "Žagare",
]
PASSWORD = "bench-password"
BATCH = 5000
ORG_WIDE_EVERY = 6  # every sixth program is required of everyone, the others of a division or two


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


class Generator:
    def __init__(
        self,
        session,
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
        self.ledger_rows: list[dict] = []
        self.attempt_numbers: dict[tuple[int, int], int] = {}
        self.last_hash = ledger.GENESIS  # read afresh before the history is chained

    # ----- plumbing -------------------------------------------------------------------------

    def new_id(self, table) -> int:
        name = table.name
        if name not in self.next_id:
            self.next_id[name] = (
                self.s.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
            ) + 1
        value = self.next_id[name]
        self.next_id[name] += 1
        return value

    def insert(self, table, rows: list[dict]) -> None:
        for i in range(0, len(rows), BATCH):
            self.s.execute(table.insert(), rows[i : i + BATCH])

    def chain(
        self, kind: str, object_id: int, content_hash: str, actor_id: int | None, at: datetime
    ) -> None:
        at = at.replace(microsecond=0)
        entry_hash = ledger.entry_digest(
            self.last_hash, kind, str(object_id), content_hash, actor_id, at
        )
        self.ledger_rows.append(
            {
                "id": self.new_id(LedgerEntry.__table__),
                "kind": kind,
                "object_id": str(object_id),
                "content_hash": content_hash,
                "actor_id": actor_id,
                "at": at,
                "prev_hash": self.last_hash,
                "entry_hash": entry_hash,
            }
        )
        self.last_hash = entry_hash

    def flush_ledger(self) -> None:
        self.insert(LedgerEntry.__table__, self.ledger_rows)
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

    # ----- organisation ---------------------------------------------------------------------

    def organisation(self) -> None:
        dept_t, user_t, role_t = Department.__table__, User.__table__, UserRole.__table__
        n_units = max(6, self.n_employees // 40)
        divisions = max(3, n_units // 12)
        depts = []
        now = utcnow()
        for i in range(divisions):
            depts.append(
                {
                    "id": self.new_id(dept_t),
                    "name": f"Division {i + 1}",
                    "code": f"G-DIV{i + 1:03d}",
                    "parent_id": None,
                    "manager_id": None,
                    "created_at": now,
                }
            )
        for i in range(n_units):
            parent = depts[i % divisions]["id"]
            depts.append(
                {
                    "id": self.new_id(dept_t),
                    "name": f"Unit {i + 1}",
                    "code": f"G-U{i + 1:04d}",
                    "parent_id": parent,
                    "manager_id": None,
                    "created_at": now,
                }
            )
        self.insert(dept_t, depts)
        self.divisions = [d["id"] for d in depts[:divisions]]
        self.units = [d["id"] for d in depts[divisions:]]
        self.parent = {d["id"]: d["parent_id"] for d in depts}
        self.dept_codes = {d["id"]: d["code"] for d in depts}
        self.counts.departments = len(depts)

        pw = hash_secret(PASSWORD)
        users, roles = [], []
        self.people: list[dict] = []
        self.managers: dict[int, int] = {}
        self.instructors: list[int] = []

        def person(role: str, dept: int | None, title: str) -> dict:
            uid = self.new_id(user_t)
            start = self.start - timedelta(days=self.rng.randint(0, 1500))
            if self.rng.random() < 0.15:
                start = self.today - timedelta(days=self.rng.randint(0, 365 * self.years))
            row = {
                "id": uid,
                "email": f"{role}{uid}@bench.brigade.test",
                "name": f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}",
                "job_title": title,
                "department_id": dept,
                "active": True,
                "password_hash": pw,
                "pin_hash": None,
                "locale": self.rng.choice(["lv", "ru", "en"]),
                "start_date": start,
                "calendar_token": secrets.token_urlsafe(24),
                "session_version": 1,
                "last_login_at": None,
                "created_at": now,
            }
            users.append(row)
            roles.append({"user_id": uid, "role": role})
            return row

        admin = person("admin", self.divisions[0], "System administrator")
        admin["email"] = "admin@bench.brigade.test"
        for _ in range(3):
            person("auditor", self.divisions[0], "Auditor")
        for _ in range(max(3, self.n_employees // 250)):
            self.instructors.append(
                person("instructor", self.divisions[0], "Safety specialist")["id"]
            )
        for unit in self.units:
            m = person("manager", unit, "Unit manager")
            self.managers[unit] = m["id"]
            self.people.append(m)
        for d in self.divisions:
            self.managers[d] = person("manager", d, "Division head")["id"]
        while len(self.people) < self.n_employees:
            self.people.append(
                person("employee", self.rng.choice(self.units), self.rng.choice(JOB_TITLES))
            )
        self.insert(user_t, users)
        self.insert(role_t, roles)
        for dept_id, manager_id in self.managers.items():
            self.s.execute(
                sa.update(dept_t).where(dept_t.c.id == dept_id).values(manager_id=manager_id)
            )
        self.admin_id = admin["id"]
        self.counts.people = len(users)
        self.s.flush()
        self.progress("people", 0.02)

    # ----- programs and requirements --------------------------------------------------------

    def programs(self) -> None:
        head = self.s.get(User, self.managers[self.divisions[0]])
        kinds = [
            ("fire", "repeated", "self_paced", 12),
            ("fire", "targeted", "instructor_led", 12),
            ("workplace", "repeated", "instructor_led", 6),
            ("fire", "repeated", "cascade", 12),
            ("workplace", "introductory", "self_paced", None),
            ("technical", "targeted", "instructor_led", 24),
            ("fire", "fire_minimum", "instructor_led", 36),
        ]
        self.program_rows = []
        for i in range(self.n_programs):
            category, briefing, mode, months = kinds[i % len(kinds)]
            # required of everyone, or of a division or two (its audience says the same, so
            # that "My training" lists what the compliance matrix expects of the person)
            if i % ORG_WIDE_EVERY == 0:
                divisions = []
            else:
                k = min(len(self.divisions), 1 if self.rng.random() < 0.7 else 2)
                divisions = self.rng.sample(self.divisions, k=k)
            meta = programs.VersionMeta(
                title={
                    "en": f"Program {i + 1}",
                    "lv": f"Programma {i + 1}",
                    "ru": f"Программа {i + 1}",
                },
                description={"en": "Generated for benchmarks."},
                briefing_type=briefing,
                delivery_mode=mode,
                refresher_months=months,
                certificate_validity_months=months,
                audience_departments=[self.dept_codes[d] for d in divisions],
                audience_job_titles=[],
                languages=["en", "lv", "ru"],
            )
            program = programs.create_program(
                self.s,
                code=f"GEN-{i + 1:03d}",
                category=category,
                meta=meta,
                head_id=head.id,
                actor_id=self.admin_id,
            )
            version = program.versions[0]
            for t in range(self.rng.randint(3, 6)):
                programs.add_topic(
                    self.s,
                    version,
                    title={"en": f"Topic {t + 1}"},
                    body={"en": f"## Topic {t + 1}\n\nKeep exits clear."},
                    minutes=self.rng.choice([15, 20, 30, 45]),
                    kind="lesson",
                    actor_id=None,
                )
            version.quiz = {
                "pass_mark": 70,
                "questions_per_attempt": 5,
                "max_attempts": 3,
                "wait_minutes": 0,
                "time_limit_minutes": 20,
                "show_answers": True,
            }
            for q in range(10):
                version.questions.append(
                    Question(
                        key=f"q{q + 1}",
                        position=q + 1,
                        type="single",
                        text={"en": f"Question {q + 1}?"},
                        answers=[
                            {"id": f"a{j}", "text": {"en": f"Answer {j}"}, "correct": j == 1}
                            for j in range(1, 4)
                        ],
                    )
                )
            self.s.flush()
            programs.submit(self.s, version, self.admin_id)
            programs.sign(self.s, version, head, PASSWORD, "approved")
            self.program_rows.append(program)
            for d in divisions or [None]:
                compliance.add_requirement(
                    self.s,
                    program_id=program.id,
                    department_id=d,
                    job_title=None,
                    interval_months=None,
                    actor_id=None,
                )
        self.counts.programs = len(self.program_rows)
        self.s.flush()
        self.progress("programs", 0.05)

    def required(self, program_index: int, dept: int) -> bool:
        if program_index % ORG_WIDE_EVERY == 0:
            return True
        division = self.parent.get(dept) or dept
        reqs = self._req_divisions.get(program_index)
        if reqs is None:
            reqs = self._req_divisions[program_index] = {
                r.department_id
                for r in self.s.execute(
                    sa.select(compliance.Requirement).where(
                        compliance.Requirement.program_id == self.program_rows[program_index].id
                    )
                ).scalars()
            }
        return division in reqs

    # ----- history --------------------------------------------------------------------------
    #
    # Two passes. ``plan`` decides, person by person, when each required program was taken
    # (on time, early, or late) and groups instructor-led trainings into buckets of a few
    # weeks per program (per department for cascade briefings), sized so that a session holds
    # about 15-25 people. ``build`` then walks the sessions and self-paced attempts in date
    # order and writes rows; the ledger is chained at the end in time order.

    def history(self) -> None:
        from flask import current_app

        cfg = current_app.config["LMS_CONFIG"]
        self._req_divisions: dict[int, set] = {}
        self.pools: dict[int, list[int]] = {}
        self.org_name, self.base_url = cfg.organisation_name, cfg.base_url
        self.dept_names = dict(self.s.execute(sa.select(Department.id, Department.name)).all())
        self.questions = {
            p.id: [q.id for q in p.current_version.questions] for p in self.program_rows
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
            self._weeks_per_session(audience[pi], p.current_version.refresher_months)
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
                v = p.current_version
                months = v.refresher_months
                if person["start_date"] > self.start:
                    day = person["start_date"] + timedelta(days=rng.randint(0, 20))
                elif months:  # staff already there: their cycles are spread over the interval
                    day = self.start + timedelta(days=rng.randint(0, min(months * 30, window)))
                else:
                    day = self.start + timedelta(days=rng.randint(0, 40))
                while day <= self.today:
                    event = {"person": person, "pi": pi, "absent": False}
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
                self.step(0.4 * idx / len(self.people))
        return buckets, self_paced

    def build(self, buckets: dict[tuple, list[dict]], self_paced: list[dict]) -> None:
        from lms.learning.models import Attempt, AttemptQuestion
        from lms.sessions import services as sessions
        from lms.sessions.models import (
            Acknowledgment,
            AttendanceMark,
            Enrolment,
            SessionSignature,
            TrainingSession,
        )

        self.sessions = sessions
        self.tables = {
            k: v.__table__
            for k, v in dict(
                ts=TrainingSession,
                en=Enrolment,
                mk=AttendanceMark,
                ack=Acknowledgment,
                sig=SessionSignature,
                att=Attempt,
                aq=AttemptQuestion,
                c=Completion,
                cert=Certificate,
                rev=Revocation,
            ).items()
        }
        self.buf: dict[str, list] = {k: [] for k in self.tables}
        self.ledger_items: list[tuple] = []
        # cascade sessions (level 1) after the instructors' sessions of the same day
        work = [(e["day"], 0, i, None, e) for i, e in enumerate(self_paced)]
        work += [
            (key[0], 0 if key[2] is None else 1, i, key, people)
            for i, (key, people) in enumerate(buckets.items())
        ]
        work.sort(key=lambda w: w[:3])
        for n, (_day, _order, _i, key, item) in enumerate(work):
            if key is None:
                self.self_paced(item)
            else:
                self.sessions_for(key, item)
            if n % 500 == 0:
                self.step(0.4 + 0.4 * n / len(work))
        order = ["ts", "en", "mk", "ack", "sig", "att", "aq", "c", "cert", "rev"]
        for i, key in enumerate(order):
            self.insert(self.tables[key], self.buf[key])
            self.step(0.8 + 0.15 * (i + 1) / len(order))
        self.ledger_items.sort(key=lambda item: item[0])
        self.last_hash = (
            self.s.execute(
                sa.select(LedgerEntry.entry_hash).order_by(LedgerEntry.id.desc()).limit(1)
            ).scalar()
            or ledger.GENESIS
        )
        for at, kind, oid, chash, actor in self.ledger_items:
            self.chain(kind, oid, chash, actor, at)
        self.flush_ledger()
        self.step(1.0)
        for name, key in [
            ("sessions", "ts"),
            ("enrolments", "en"),
            ("attendance", "mk"),
            ("acknowledgments", "ack"),
            ("signatures", "sig"),
            ("attempts", "att"),
            ("attempt_questions", "aq"),
            ("completions", "c"),
            ("certificates", "cert"),
            ("revocations", "rev"),
        ]:
            setattr(self.counts, name, len(self.buf[key]))

    def step(self, fraction: float) -> None:
        self.progress("history", 0.05 + 0.95 * fraction)

    def log(self, at: datetime, kind: str, oid: int, chash: str, actor: int | None) -> None:
        self.ledger_items.append((at, kind, oid, chash, actor))

    def self_paced(self, event: dict) -> None:
        person, p = event["person"], self.program_rows[event["pi"]]
        v, uid, day = p.current_version, event["person"]["id"], event["day"]
        attempt_id = None
        tries = 2 if self.rng.random() < 0.12 else 1  # some fail once, then pass
        for t in range(tries):
            passed = t == tries - 1
            attempt_id = self.new_id(self.tables["att"])
            started = datetime.combine(day, time(10 + t, 0), UTC)
            number = self.attempt_numbers.get((uid, p.id), 0) + 1
            self.attempt_numbers[(uid, p.id)] = number
            correct = 4 if passed else 2
            self.buf["att"].append(
                {
                    "id": attempt_id,
                    "user_id": uid,
                    "program_id": p.id,
                    "version_id": v.id,
                    "number": number,
                    "state": "submitted",
                    "started_at": started,
                    "deadline_at": started + timedelta(minutes=20),
                    "finished_at": started + timedelta(minutes=12),
                    "question_count": 5,
                    "correct_count": correct,
                    "score_percent": correct * 20,
                    "pass_mark": 70,
                    "passed": passed,
                }
            )
            for pos, qid in enumerate(self.rng.sample(self.questions[p.id], 5), start=1):
                ok = pos <= correct
                self.buf["aq"].append(
                    {
                        "id": self.new_id(self.tables["aq"]),
                        "attempt_id": attempt_id,
                        "position": pos,
                        "question_id": qid,
                        "answer_order": ["a1", "a2", "a3"],
                        "chosen": ["a1"] if ok else ["a2"],
                        "correct": ok,
                    }
                )
        at = datetime.combine(day, time(10 + tries - 1, 12), UTC)
        self.complete(person, p, day, at, earned="quiz", attempt_id=attempt_id)

    def sessions_for(self, key: tuple, people: list[dict]) -> None:
        """Split one bucket into sessions of at most 25, held the same day."""
        day, pi, dept = key
        p = self.program_rows[pi]
        v = p.current_version
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

    def session(self, p, v, day: date, hour: int, trainer: int, dept, group: list[dict]) -> None:
        sessions, buf = self.sessions, self.buf
        sid = self.new_id(self.tables["ts"])
        starts = datetime.combine(day, time(hour, 0), UTC)
        ends = starts + timedelta(hours=2)
        created = starts - timedelta(days=14)
        buf["ts"].append(
            {
                "id": sid,
                "program_id": p.id,
                "version_id": v.id,
                "instructor_id": trainer,
                "department_id": dept,
                "starts_at": starts,
                "ends_at": ends,
                "place": "Training room",
                "capacity": 30,
                "notes": "",
                "status": "held",
                "open_signup": True,
                "series_id": None,
                "sequence": 0,
                "updated_at": ends,
                "created_by_id": trainer,
                "cancelled_at": None,
                "cancelled_by_id": None,
                "cancel_reason": "",
                "created_at": created,
            }
        )
        ts_ns = NS(
            id=sid,
            program=NS(code=p.code),
            version=NS(number=v.number, content_hash=v.content_hash),
            instructor_id=trainer,
            starts_at=starts,
            ends_at=ends,
            place="Training room",
        )
        marks, acks, attended = [], [], []
        for event in sorted(group, key=lambda e: e["person"]["id"]):
            person = event["person"]
            uid = person["id"]
            en_id = self.new_id(self.tables["en"])
            buf["en"].append(
                {
                    "id": en_id,
                    "session_id": sid,
                    "user_id": uid,
                    "status": "enrolled",
                    "source": "invited",
                    "requested_at": created,
                    "invited_by_id": trainer,
                    "cancelled_at": None,
                    "created_at": created,
                }
            )
            mark = NS(
                id=self.new_id(self.tables["mk"]),
                session_id=sid,
                enrolment_id=en_id,
                user_id=uid,
                status="absent" if event["absent"] else "present",
                recorded_by_id=trainer,
                recorded_at=ends,
                supersedes_id=None,
                note="",
            )
            buf["mk"].append(dict(mark.__dict__))
            self.log(ends, sessions.ATTENDANCE_KIND, mark.id, sessions.mark_hash(mark), trainer)
            marks.append(mark)
            if event["absent"]:
                continue
            ack = NS(
                id=self.new_id(self.tables["ack"]),
                session_id=sid,
                enrolment_id=en_id,
                user_id=uid,
                method="pin",
                meaning="received",
                printed_name=person["name"],
                job_title=person["job_title"],
                acknowledged_at=ends,
                witness_id=trainer,
                content_hash=sessions.ack_content_hash(ts_ns, uid),
                supersedes_id=None,
            )
            buf["ack"].append(dict(ack.__dict__))
            self.log(ends, sessions.ACK_KIND, ack.id, sessions.ack_hash(ack), uid)
            acks.append(ack)
            attended.append(event)
        sig_id = self.new_id(self.tables["sig"])
        chash = ledger.sha256(sessions.attendance_content(ts_ns, marks, acks))
        sig = NS(
            id=sig_id,
            session_id=sid,
            signer_id=trainer,
            printed_name="Instructor",
            meaning="conducted",
            method="password",
            signed_at=ends,
            content_hash=chash,
            covers={"marks": [m.id for m in marks], "acks": [a.id for a in acks]},
            supersedes_id=None,
        )
        buf["sig"].append(dict(sig.__dict__))
        self.log(
            ends, sessions.SIGNATURE_KIND, sig_id, sessions.signature_hash(sig, chash), trainer
        )
        for event in attended:
            trainer_event = event.get("trainer_event")
            event["cid"] = self.complete(
                event["person"],
                p,
                day,
                ends,
                earned="session",
                session_id=sid,
                trainer=trainer,
                trainer_completion=trainer_event["cid"] if trainer_event else None,
                level=event.get("level"),
            )

    def complete(
        self,
        person: dict,
        p,
        completed: date,
        at: datetime,
        *,
        earned: str,
        session_id: int | None = None,
        attempt_id: int | None = None,
        trainer: int | None = None,
        trainer_completion: int | None = None,
        level: int | None = None,
    ) -> int:
        v, uid = p.current_version, person["id"]
        cid = self.new_id(self.tables["c"])
        expires = completion_services.expiry_for(v, completed)
        c = NS(
            id=cid,
            user_id=uid,
            program_id=p.id,
            version_id=v.id,
            completed_on=completed,
            expires_on=expires,
            earned_by=earned,
            session_id=session_id,
            attempt_id=attempt_id,
            trainer_id=trainer,
            trainer_completion_id=trainer_completion,
            cascade_level=level,
            supersedes_id=None,
            recorded_by_id=trainer,
            note="",
        )
        self.buf["c"].append({**c.__dict__, "created_at": at})
        self.log(
            at,
            completion_services.LEDGER_KIND,
            cid,
            completion_services.completion_hash(c),
            trainer,
        )
        cert_id = self.new_id(self.tables["cert"])
        code = secrets.token_urlsafe(15)
        number = f"BRG-{completed.year}-{cid:07d}"
        cert = NS(
            id=cert_id,
            completion_id=cid,
            number=number,
            code=code,
            issued_at=at,
            language=person["locale"],
            template="classic",
            fields={
                "organisation": self.org_name,
                "person_name": person["name"],
                "job_title": person["job_title"],
                "department": self.dept_names.get(person["department_id"], ""),
                "program_code": p.code,
                "program_title": dict(v.title),
                "category": p.category,
                "version": v.number,
                "briefing_type": v.briefing_type,
                "hours": f"{v.total_minutes / 60:.1f}",
                "completed_on": completed.isoformat(),
                "expires_on": expires.isoformat() if expires else None,
                "instructor": "",
                "lineage": [],
                "number": number,
                "code": code,
                "verify_url": f"{self.base_url}/verify/{code}",
            },
            pdf_sha256=None,
        )
        self.buf["cert"].append(dict(cert.__dict__))
        self.log(
            at,
            completion_services.CERTIFICATE_KIND,
            cert_id,
            completion_services.certificate_content_hash(cert),
            trainer,
        )
        if self.rng.random() < 0.002:
            rev = NS(
                id=self.new_id(self.tables["rev"]),
                completion_id=cid,
                reason="Generated revocation",
                revoked_by_id=self.admin_id,
                revoked_at=at + timedelta(hours=3),
                caused_by_id=None,
                meaning=None,
                printed_name=None,
                method=None,
            )
            self.buf["rev"].append(dict(rev.__dict__))
            self.log(
                rev.revoked_at,
                completion_services.REVOCATION_KIND,
                rev.id,
                completion_services.revocation_hash(rev),
                self.admin_id,
            )
        return cid

    def run(self) -> Counts:
        self.organisation()
        self.programs()
        self.history()
        self.fix_sequences()
        return self.counts
