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


@dataclass
class Counts:
    departments: int = 0
    people: int = 0
    programs: int = 0
    sessions: int = 0
    enrolments: int = 0
    attendance: int = 0
    acknowledgments: int = 0
    attempts: int = 0
    attempt_questions: int = 0
    completions: int = 0
    certificates: int = 0
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
        progress: Callable[[str, int], None] | None = None,
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
        self.last_hash = (
            session.execute(
                sa.select(LedgerEntry.entry_hash).order_by(LedgerEntry.id.desc()).limit(1)
            ).scalar()
            or ledger.GENESIS
        )

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
        self.progress("people", len(users))

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
                audience_departments=[],
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
            # requirements: everyone, or a few divisions (and sometimes a job title)
            if i % 3 == 0:
                compliance.add_requirement(
                    self.s,
                    program_id=program.id,
                    department_id=None,
                    job_title=None,
                    interval_months=None,
                    actor_id=None,
                )
            else:
                for d in self.rng.sample(self.divisions, k=min(len(self.divisions), 2)):
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
        self.progress("programs", len(self.program_rows))

    def required(self, program_index: int, dept: int) -> bool:
        if program_index % 3 == 0:
            return True
        division = self.parent.get(dept) or dept
        reqs = self._req_divisions.setdefault(
            program_index,
            {
                r.department_id
                for r in self.s.execute(
                    sa.select(compliance.Requirement).where(
                        compliance.Requirement.program_id == self.program_rows[program_index].id
                    )
                ).scalars()
            },
        )
        return division in reqs

    # ----- history --------------------------------------------------------------------------

    def history(self) -> None:
        from lms.learning.models import Attempt, AttemptQuestion
        from lms.sessions import services as sessions
        from lms.sessions.models import (
            Acknowledgment,
            AttendanceMark,
            Enrolment,
            SessionSignature,
            TrainingSession,
        )

        self._req_divisions: dict[int, set] = {}
        self.last_hash = (
            self.s.execute(
                sa.select(LedgerEntry.entry_hash).order_by(LedgerEntry.id.desc()).limit(1)
            ).scalar()
            or ledger.GENESIS
        )
        tables = {
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
        buf: dict[str, list] = {k: [] for k in tables}
        org = self.s.get(User, self.admin_id)
        base_url = "http://127.0.0.1:5000"
        from flask import current_app

        org_name = current_app.config["LMS_CONFIG"].organisation_name
        base_url = current_app.config["LMS_CONFIG"].base_url
        questions = {p.id: [q.id for q in p.current_version.questions] for p in self.program_rows}
        open_sessions: dict[tuple, dict] = {}
        manager_completion: dict[tuple[int, int], list[tuple[date, int]]] = {}
        dept_names = dict(self.s.execute(sa.select(Department.id, Department.name)).all())
        del org

        def at(day: date, hour: int = 9) -> datetime:
            return datetime.combine(day, time(hour, 0), UTC)

        def session_for(p, day: date, instructor: int, dept: int | None) -> dict:
            week = day - timedelta(days=day.weekday())
            key = (p.id, week, instructor)
            ts = open_sessions.get(key)
            if ts is None or ts["_n"] >= 25:
                sid = self.new_id(tables["ts"])
                v = p.current_version
                ts = {
                    "id": sid,
                    "program_id": p.id,
                    "version_id": v.id,
                    "instructor_id": instructor,
                    "department_id": dept,
                    "starts_at": at(week + timedelta(days=1)),
                    "ends_at": at(week + timedelta(days=1), 11),
                    "place": "Training room",
                    "capacity": 30,
                    "notes": "",
                    "status": "held",
                    "open_signup": True,
                    "series_id": None,
                    "sequence": 0,
                    "updated_at": at(week),
                    "created_by_id": instructor,
                    "cancelled_at": None,
                    "cancelled_by_id": None,
                    "cancel_reason": "",
                    "created_at": at(week),
                    "_n": 0,
                    "_marks": [],
                    "_acks": [],
                    "_ns": NS(
                        id=sid,
                        program=NS(code=p.code),
                        version=NS(number=v.number, content_hash=v.content_hash),
                        instructor_id=instructor,
                        starts_at=at(week + timedelta(days=1)),
                        ends_at=at(week + timedelta(days=1), 11),
                        place="Training room",
                    ),
                }
                open_sessions[key] = ts
                buf["ts"].append(ts)
            ts["_n"] += 1
            return ts

        def close_session(ts: dict) -> None:
            sig_id = self.new_id(tables["sig"])
            signed_at = ts["ends_at"]
            content = sessions.attendance_content(ts["_ns"], ts["_marks"], ts["_acks"])
            chash = ledger.sha256(content)
            sig = NS(
                id=sig_id,
                session_id=ts["id"],
                signer_id=ts["instructor_id"],
                printed_name="Instructor",
                meaning="conducted",
                method="password",
                signed_at=signed_at,
                content_hash=chash,
                covers={"marks": [m.id for m in ts["_marks"]], "acks": [a.id for a in ts["_acks"]]},
                supersedes_id=None,
            )
            buf["sig"].append(dict(sig.__dict__))
            self.chain(
                sessions.SIGNATURE_KIND,
                sig_id,
                sessions.signature_hash(sig, chash),
                ts["instructor_id"],
                signed_at,
            )

        people = self.people
        for idx, person in enumerate(people):
            for pi, p in enumerate(self.program_rows):
                if not self.required(pi, person["department_id"]):
                    continue
                if self.rng.random() < 0.04:
                    continue  # never trained
                v = p.current_version
                months = v.refresher_months
                first = max(self.start, person["start_date"]) + timedelta(
                    days=self.rng.randint(0, 40)
                )
                day = first
                while day <= self.today:
                    self._one(
                        p,
                        v,
                        person,
                        day,
                        questions,
                        buf,
                        tables,
                        session_for,
                        manager_completion,
                        at,
                        sessions,
                        org_name,
                        base_url,
                        dept_names,
                    )
                    if months is None:
                        break
                    day = (
                        day + relativedelta(months=months) - timedelta(days=self.rng.randint(0, 45))
                    )
                    if self.rng.random() < 0.06:
                        day = day + timedelta(days=self.rng.randint(30, 120))  # late, overdue now
            if idx % 250 == 0:
                self.progress("history", idx)
        for ts in open_sessions.values():
            close_session(ts)
        for ts in buf["ts"]:
            for k in [k for k in ts if k.startswith("_")]:
                del ts[k]
        order = ["ts", "en", "mk", "ack", "sig", "att", "aq", "c", "cert", "rev"]
        for key in order:
            self.insert(tables[key], buf[key])
        self.flush_ledger()
        self.counts.sessions = len(buf["ts"])
        self.counts.enrolments = len(buf["en"])
        self.counts.attendance = len(buf["mk"])
        self.counts.acknowledgments = len(buf["ack"])
        self.counts.attempts = len(buf["att"])
        self.counts.attempt_questions = len(buf["aq"])
        self.counts.completions = len(buf["c"])
        self.counts.certificates = len(buf["cert"])

    def _one(
        self,
        p,
        v,
        person,
        day,
        questions,
        buf,
        tables,
        session_for,
        manager_completion,
        at,
        sessions,
        org_name,
        base_url,
        dept_names,
    ) -> None:
        uid = person["id"]
        dept = person["department_id"]
        completed = day
        trainer = None
        trainer_completion = None
        level = None
        session_id = attempt_id = None
        earned = "quiz"
        if v.delivery_mode == "self_paced":
            attempt_id = self.new_id(tables["att"])
            started = at(day, 10)
            number = self.attempt_numbers.get((uid, p.id), 0) + 1
            self.attempt_numbers[(uid, p.id)] = number
            buf["att"].append(
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
                    "correct_count": 4,
                    "score_percent": 80,
                    "pass_mark": 70,
                    "passed": True,
                }
            )
            for pos, qid in enumerate(self.rng.sample(questions[p.id], 5), start=1):
                ok = pos != 3
                buf["aq"].append(
                    {
                        "id": self.new_id(tables["aq"]),
                        "attempt_id": attempt_id,
                        "position": pos,
                        "question_id": qid,
                        "answer_order": ["a1", "a2", "a3"],
                        "chosen": ["a1"] if ok else ["a2"],
                        "correct": ok,
                    }
                )
        else:
            earned = "session"
            is_manager = self.managers.get(dept) == uid
            if v.delivery_mode == "cascade" and not is_manager and self.managers.get(dept):
                mgr = self.managers[dept]
                held = [c for c in manager_completion.get((mgr, p.id), []) if c[0] <= day]
                if held:
                    trainer, trainer_completion, level = mgr, held[-1][1], 1
            if trainer is None:
                trainer = self.rng.choice(self.instructors)
                level = 0 if v.delivery_mode == "cascade" else None
            ts = session_for(p, day, trainer, dept if level == 1 else None)
            session_id = ts["id"]
            completed = ts["starts_at"].date()
            en_id = self.new_id(tables["en"])
            buf["en"].append(
                {
                    "id": en_id,
                    "session_id": ts["id"],
                    "user_id": uid,
                    "status": "enrolled",
                    "source": "invited",
                    "requested_at": ts["created_at"],
                    "invited_by_id": trainer,
                    "cancelled_at": None,
                    "created_at": ts["created_at"],
                }
            )
            mark = NS(
                id=self.new_id(tables["mk"]),
                session_id=ts["id"],
                enrolment_id=en_id,
                user_id=uid,
                status="present",
                recorded_by_id=trainer,
                recorded_at=ts["ends_at"],
                supersedes_id=None,
                note="",
            )
            buf["mk"].append(dict(mark.__dict__))
            self.chain(
                sessions.ATTENDANCE_KIND,
                mark.id,
                sessions.mark_hash(mark),
                trainer,
                mark.recorded_at,
            )
            ack = NS(
                id=self.new_id(tables["ack"]),
                session_id=ts["id"],
                enrolment_id=en_id,
                user_id=uid,
                method="pin",
                meaning="received",
                printed_name=person["name"],
                job_title=person["job_title"],
                acknowledged_at=ts["ends_at"],
                witness_id=trainer,
                content_hash=sessions.ack_content_hash(ts["_ns"], uid),
                supersedes_id=None,
            )
            buf["ack"].append(dict(ack.__dict__))
            self.chain(sessions.ACK_KIND, ack.id, sessions.ack_hash(ack), uid, ack.acknowledged_at)
            ts["_marks"].append(mark)
            ts["_acks"].append(ack)
        cid = self.new_id(tables["c"])
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
        row = dict(c.__dict__)
        row["created_at"] = at(completed, 12)
        buf["c"].append(row)
        self.chain(
            completion_services.LEDGER_KIND,
            cid,
            completion_services.completion_hash(c),
            trainer,
            at(completed, 12),
        )
        if v.delivery_mode == "cascade" and level == 0:
            manager_completion.setdefault((uid, p.id), []).append((completed, cid))
        cert_id = self.new_id(tables["cert"])
        code = secrets.token_urlsafe(15)
        number = f"BRG-{completed.year}-{cid:07d}"
        cert = NS(
            id=cert_id,
            completion_id=cid,
            number=number,
            code=code,
            issued_at=at(completed, 12),
            language="lv",
            template="classic",
            fields={
                "organisation": org_name,
                "person_name": person["name"],
                "job_title": person["job_title"],
                "department": dept_names.get(person["department_id"], ""),
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
                "verify_url": f"{base_url}/verify/{code}",
            },
            pdf_sha256=None,
        )
        buf["cert"].append(dict(cert.__dict__))
        self.chain(
            completion_services.CERTIFICATE_KIND,
            cert_id,
            completion_services.certificate_content_hash(cert),
            trainer,
            cert.issued_at,
        )
        if self.rng.random() < 0.002:
            rev = NS(
                id=self.new_id(tables["rev"]),
                completion_id=cid,
                reason="Generated revocation",
                revoked_by_id=self.admin_id,
                revoked_at=at(completed, 15),
                caused_by_id=None,
            )
            buf["rev"].append(dict(rev.__dict__))
            self.chain(
                completion_services.REVOCATION_KIND,
                rev.id,
                completion_services.revocation_hash(rev),
                self.admin_id,
                rev.revoked_at,
            )

    def run(self) -> Counts:
        self.organisation()
        self.programs()
        self.history()
        self.fix_sequences()
        return self.counts
