#!/usr/bin/env python3
"""Brigade benchmark: `make bench` (SQLite), `make bench DB=postgresql SIZE=50000`.

On organisations built by `flask lms generate` (500 employees and ``--size``, 5,000 by default)
it measures, in one run:

* latency of every page a manager, admin or auditor opens at scale under gunicorn (2 workers)
  with a bounded load generator on 127.0.0.1, beside two floors served by the same server:
  /healthz (no database work) and /account (the cheapest signed-in page); ratios of medians;
  page sizes; peak memory (VmHWM) of a web worker; the load of the machine around every batch
  of requests (figures taken while other programs were busy are marked);
* SQL statements per page at both sizes (in-process, Flask test client, an event listener);
* `flask lms rebuild-status` over everyone;
* bulk certificate export rate beside one plain WeasyPrint document of as many pages;
* `flask lms verify` over the whole ledger (rows per second);
* a concurrent run: 50 signed-in employees at concurrency 20 on "my training" and on the
  quiz (attempts started and submitted through the real forms);

and writes the tables into bench/RESULTS.md (its own section per database and size; the rest
of the file is kept). Generated SQLite databases are kept under bench/data/ and reused while their
marker matches (``--fresh`` rebuilds them); PostgreSQL runs on a throwaway server each time.

``python bench/run.py worker ...`` runs one in-process measurement and prints JSON; the main
command starts those as subprocesses so that each gets a clean interpreter.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.measure import (  # noqa: E402
    LoadSampler,
    StatementCounter,
    Window,
    children,
    parse_size,
    peak_rss_kb,
    small_size,
)

BENCH = ROOT / "bench"
DATA = BENCH / "data"
RESULTS = BENCH / "RESULTS.md"
BIN = Path(sys.executable).parent
SECRET = "bench-secret-key-not-for-production"
PASSWORD = "bench-password"  # what `flask lms generate` gives everyone
DEFAULT_SIZE = 5000
PROGRAMS, YEARS, SEED = 30, 3, 7

# targets from the issue
LATENCY_RATIO = 3.0  # page median <= 3x the signed-in floor's median (/account)
PAGE_BYTES = 300_000  # no page over 300 KB
WORKER_RSS_MB = 300  # peak memory of a web worker while serving
REBUILD_S = 60  # `flask lms rebuild-status` of 50,000 people
WORKERS = 2  # gunicorn sync workers serving the pages
HTTP_TIMEOUT = 300  # seconds a request may take (gunicorn's --timeout too)
STORED_PER_S = 500  # bulk export of stored certificates (a ZIP of stored bytes)
FIRST_RATIO = 1.0  # first rendering per core >= the certificate-page floor (one doc, one core)
VERIFY_ROWS_PER_S = 50_000  # verify with anchors and completeness

PAGES = [  # (key, label, persona)
    ("matrix", "Compliance matrix", "admin"),
    ("dashboard", "Compliance dashboard", "admin"),
    ("drilldown", "Department drill-down", "manager"),
    ("company", "Whole-company drill-down", "admin"),
    ("my_training", "My training", "employee"),
    ("session", "Session page", "instructor"),
    ("auditor", "Auditor search", "auditor"),
]
# the two floors, served by the same server in the same run
FLOORS = [  # (key, label, persona or None)
    ("healthz", "hello world (plain floor)", None),
    ("account", "account page (signed-in floor)", "employee"),
]
OWN_ROOTS: list[int] = [os.getpid()]  # the benchmark's processes (+ its PostgreSQL server)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ----- databases -----------------------------------------------------------------------------


def env_for(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        LMS_DATABASE_URL=url,
        LMS_SECRET_KEY=SECRET,
        LMS_ENV="development",
        FLASK_APP="lms",
        LMS_LOGIN_LIMIT="1000 per minute",
        LMS_CHECKPOINT_DIR=str(DATA / "checkpoints"),
    )
    # PDFs sealed as in production, with a demo seal made for the benchmark
    seal_file = DATA / "bench-seal.p12"
    if not seal_file.exists():
        sys.path.insert(0, str(ROOT))
        from lms.core.seal import make_demo_seal

        DATA.mkdir(parents=True, exist_ok=True)
        make_demo_seal(seal_file, "bench-seal", "Brigade Bench Ltd")
    env.update(LMS_SEAL_FILE=str(seal_file), LMS_SEAL_PASSPHRASE="bench-seal")
    return env


def flask(url: str, *args: str) -> str:
    """`flask lms ...` against one database; its output (shown, with the error, on failure)."""
    proc = subprocess.run(
        [str(BIN / "flask"), "lms", *args],
        cwd=ROOT,
        env=env_for(url),
        text=True,
        capture_output=True,
    )
    if proc.returncode:
        raise SystemExit(f"flask lms {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def generator_fingerprint() -> str:
    """Changes whenever the generator changes: then the data is rebuilt."""
    h = hashlib.sha256()
    for path in sorted((ROOT / "bench" / "generate").glob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def migrations_fingerprint() -> str:
    """Changes with the migrations: kept data is then upgraded (`flask lms init`, as in
    production) and its stored status rebuilt, rather than generated again."""
    h = hashlib.sha256()
    for path in sorted((ROOT / "migrations").rglob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def generate(url: str, employees: int) -> dict:
    log(f"generating {employees:,} employees into {url.split('@')[-1]}")
    flask(url, "init")
    started = time.perf_counter()
    out = flask(
        url,
        "generate",
        "--employees",
        str(employees),
        "--programs",
        str(PROGRAMS),
        "--years",
        str(YEARS),
        "--seed",
        str(SEED),
    )
    took = time.perf_counter() - started
    counts = {
        m.group(1): int(m.group(2).replace(",", ""))
        for m in re.finditer(r"^\s+(\w+)\s+([\d,]+)", out, re.M)
    }
    return {"employees": employees, "seconds": round(took, 1), "counts": counts}


def kept_database(
    kind: str, employees: int, url: str, fresh: bool, exists: bool, wipe
) -> tuple[str, dict]:
    """Generated data kept between runs (a marker file beside it says what it holds): reused
    while the generator, sizes and seed match, upgraded when only the migrations changed,
    else rebuilt (``wipe()`` removes the old data first)."""
    DATA.mkdir(parents=True, exist_ok=True)
    marker = DATA / f"{kind}-{employees}.json"
    want = {
        "employees": employees,
        "programs": PROGRAMS,
        "years": YEARS,
        "seed": SEED,
        "fingerprint": generator_fingerprint(),
    }
    if not fresh and exists and marker.exists():
        saved = json.loads(marker.read_text())
        if saved.get("want") == want:
            log(f"reusing {kind} data of {employees:,} employees (generated {saved['at']}; "
                "--fresh rebuilds)")  # fmt: skip
            flask(url, "init")
            if saved.get("migrations") != migrations_fingerprint():
                log("migrations changed: upgraded; rebuilding the stored status")
                flask(url, "rebuild-status")
                saved["migrations"] = migrations_fingerprint()
                marker.write_text(json.dumps(saved))
            return url, {**saved["info"], "reused": True}
    marker.unlink(missing_ok=True)
    wipe()
    info = generate(url, employees)
    marker.write_text(
        json.dumps(
            {
                "want": want,
                "migrations": migrations_fingerprint(),
                "info": info,
                "at": datetime.now(UTC).isoformat()[:19],
            }
        )
    )
    return url, {**info, "reused": False}


def sqlite_database(employees: int, fresh: bool) -> tuple[str, dict]:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"sqlite-{employees}.db"

    def wipe() -> None:
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            stale.unlink(missing_ok=True)

    return kept_database("sqlite", employees, f"sqlite:///{path}", fresh, path.exists(), wipe)


def kept_postgres():
    """A PostgreSQL cluster kept under bench/data/postgresql between runs (``--keep``), like
    the SQLite files: started on a free port of 127.0.0.1 for the run, stopped after it."""
    from tests.pgserver import PostgresServer

    class KeptPostgres(PostgresServer):
        def __init__(self) -> None:
            super().__init__()
            os.rmdir(self.dir)  # the temporary directory of the throwaway server
            self.dir = str(DATA / "postgresql")
            self.data = os.path.join(self.dir, "data")

        def start(self) -> str:
            if not Path(self.data, "PG_VERSION").exists():
                Path(self.dir).mkdir(parents=True, exist_ok=True)
                return super().start()
            opts = (
                f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            log_file = os.path.join(self.dir, "log")
            self._run(f"{self.bindir}/pg_ctl", "-D", self.data, "-o", opts, "-w", "-l",
                      log_file, "start")  # fmt: skip
            return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/brigade_test"

        def stop(self) -> None:  # a clean stop: the data stays for the next run
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run(f"{self.bindir}/pg_ctl", "-D", self.data, "-m", "fast", "stop")

    return KeptPostgres()


@contextlib.contextmanager
def databases(kind: str, fresh: bool, sizes: tuple[int, ...], keep: bool = False):
    """{employees: (url, generation info)} for every size, on the chosen database."""
    if kind == "sqlite":
        yield {n: sqlite_database(n, fresh) for n in sizes}
        return
    import sqlalchemy as sa

    from tests.pgserver import PostgresServer

    server = kept_postgres() if keep else PostgresServer()
    log(f"starting a {'kept' if keep else 'throwaway'} PostgreSQL server")
    base = server.start()
    with contextlib.suppress(OSError, ValueError):
        OWN_ROOTS.append(int(Path(server.data, "postmaster.pid").read_text().split()[0]))
    try:
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        out = {}
        for n in sizes:
            name = f"brigade_bench_{n}"
            url = base.rsplit("/", 1)[0] + "/" + name
            with admin.connect() as conn:
                exists = bool(
                    conn.execute(
                        sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
                    ).scalar()
                )

            def wipe(name: str = name) -> None:
                with admin.connect() as conn:
                    conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
                    conn.execute(sa.text(f"CREATE DATABASE {name}"))

            if keep:
                out[n] = kept_database("postgresql", n, url, fresh, exists, wipe)
            else:
                wipe()
                out[n] = (url, {**generate(url, n), "reused": False})
        admin.dispose()
        yield out
    finally:
        log("stopping PostgreSQL")
        server.stop()


def worker(url: str, *args: str) -> dict:
    """Run `run.py worker ...` in a fresh interpreter against one database; its JSON result."""
    proc = subprocess.run(
        [sys.executable, str(Path(__file__)), "worker", *args, "--url", url],
        cwd=ROOT,
        env=env_for(url),
        check=True,
        text=True,
        stdout=subprocess.PIPE,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----- in-process measurements (worker) ------------------------------------------------------


def _app(url: str):
    sys.path.insert(0, str(ROOT))
    from lms import create_app
    from lms.config import Config

    return create_app(Config.from_env(env_for(url)))


def pick_targets(session) -> dict:
    """The people and objects the pages are measured with (deterministic for given data)."""
    import sqlalchemy as sa

    from lms.accounts.models import Department, User, UserRole
    from lms.completions.models import Completion
    from lms.programs.models import Program, ProgramVersion
    from lms.sessions.models import Enrolment, TrainingSession

    def first_with(role: str, *where):
        return session.execute(
            sa.select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == role, User.active.is_(True), *where)
            .order_by(User.id)
            .limit(1)
        ).scalar_one()

    admin = session.execute(
        sa.select(User).where(User.email == "admin@bench.brigade.test")
    ).scalar_one()
    auditor = first_with("auditor")
    # the head of the first division, drilling down into it
    division = session.execute(
        sa.select(Department)
        .where(Department.parent_id.is_(None), Department.manager_id.is_not(None))
        .order_by(Department.id)
        .limit(1)
    ).scalar_one()
    manager = session.get(User, division.manager_id)
    # an employee with the typical number of programs
    per_person = session.execute(
        sa.select(Completion.user_id, sa.func.count(sa.distinct(Completion.program_id)))
        .join(UserRole, UserRole.user_id == Completion.user_id)
        .where(UserRole.role == "employee")
        .group_by(Completion.user_id)
        .order_by(Completion.user_id)
    ).all()
    typical = statistics.median_low([n for _uid, n in per_person])
    employee = session.get(User, next(uid for uid, n in per_person if n == typical))
    # a held session with about twenty people, run by an instructor, of a program for a
    # division (the same kind of session at every size, so that query counts compare)
    led = [
        v.program_id
        for v in session.execute(
            sa.select(ProgramVersion)
            .join(Program, Program.current_version_id == ProgramVersion.id)
            .where(ProgramVersion.delivery_mode == "instructor_led")
        ).scalars()
        if v.audience_departments
    ]
    size = (
        sa.select(sa.func.count())
        .where(Enrolment.session_id == TrainingSession.id)
        .scalar_subquery()
    )
    held = sa.select(TrainingSession).where(
        TrainingSession.status == "held",
        TrainingSession.department_id.is_(None),
        TrainingSession.program_id.in_(led),
    )
    ts = (
        session.execute(
            held.where(size.between(18, 25))
            .order_by(TrainingSession.starts_at.desc(), TrainingSession.id)
            .limit(1)
        ).scalar()
        or session.execute(  # a tiny organisation: its biggest session
            held.order_by(size.desc(), TrainingSession.id).limit(1)
        ).scalar_one()
    )
    instructor = session.get(User, ts.instructor_id)
    surname = employee.name.split()[-1]
    return {
        "personas": {
            "admin": admin.email,
            "manager": manager.email,
            "employee": employee.email,
            "instructor": instructor.email,
            "auditor": auditor.email,
        },
        "paths": {
            "healthz": "/healthz",
            "account": "/account",
            "matrix": "/compliance/",
            "dashboard": "/compliance/dashboard",
            "drilldown": f"/compliance/people?department={division.id}",
            "company": "/compliance/people",
            "my_training": "/learning/",
            "session": f"/sessions/{ts.id}",
            "auditor": "/auditor/?q=" + urllib.parse.quote(surname),
        },
        "notes": {
            "employee_programs": typical,
            "session_people": session.execute(
                sa.select(sa.func.count()).where(Enrolment.session_id == ts.id)
            ).scalar_one(),
            "division_departments": session.execute(
                sa.select(sa.func.count()).where(
                    sa.or_(Department.id == division.id, Department.parent_id == division.id)
                )
            ).scalar_one(),
        },
    }


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _test_login(client, email: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    resp = client.post("/login", data={"csrf_token": token, "email": email, "password": PASSWORD})
    if resp.status_code != 302:
        raise SystemExit(f"log-in as {email} failed: HTTP {resp.status_code}")


def worker_queries(url: str) -> dict:
    """SQL statements per request and bytes for every page and floor (one request after a
    warm-up request), and the time of one request in-process."""
    from lms.extensions import db

    app = _app(url)
    with app.app_context():
        targets = pick_targets(db.session)
        db.session.remove()
        engine = db.engine
    out = {}
    with StatementCounter(engine) as counter:
        for key, _label, persona in FLOORS + PAGES:
            client = app.test_client()
            if persona:
                _test_login(client, targets["personas"][persona])
            path = targets["paths"][key]
            first = client.get(path)
            counter.reset()
            started = time.perf_counter()
            resp = client.get(path)
            took = time.perf_counter() - started
            if first.status_code != 200 or resp.status_code != 200:
                raise SystemExit(f"{path} as {persona}: HTTP {resp.status_code}")
            out[key] = {
                "queries": counter.count,
                "bytes": len(resp.get_data()),
                "in_process_ms": round(took * 1000, 1),
            }
    return {"targets": targets, "pages": out}


def _floor_html(total: int) -> str:
    """The plain-text floor: one WeasyPrint document of ``total`` plain pages, same fonts."""
    pages = "".join(
        f'<div class="page"><h1>Page {i + 1}</h1><p>Plain text in the same fonts, '
        f"<b>bold</b> and regular, on an A4 landscape page.</p></div>"
        for i in range(total)
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><style>"
        '@font-face { font-family: "Brigade Sans"; src: url("brigade-static:fonts/DejaVuSans.ttf"); }'
        '@font-face { font-family: "Brigade Sans"; font-weight: bold; '
        'src: url("brigade-static:fonts/DejaVuSans-Bold.ttf"); }'
        "@page { size: A4 landscape; margin: 12mm; }"
        'html { font-family: "Brigade Sans"; font-size: 11pt; }'
        ".page { page-break-after: always; } .page:last-child { page-break-after: auto; }"
        f"</style></head><body>{pages}</body></html>"
    )


def worker_certs(url: str, count: int) -> dict:
    """About ``count`` certificates never rendered before: the export job renders, seals and
    stores them (first rendering, on every core), then exports them again from storage (a ZIP
    of stored bytes). Floors in the same run: as many certificate pages (same layout, QR and
    fonts) laid out in one WeasyPrint document on one core, and the plain-text document.
    Afterwards the stored PDFs and their ledger entries are removed again, so the next run
    finds the same data."""
    import resource

    import sqlalchemy as sa

    from lms.accounts.models import User, UserRole
    from lms.completions import certificates, exports
    from lms.completions.models import Certificate, CertificatePdf, Completion
    from lms.core import ledger, pdf, seal
    from lms.extensions import db

    app = _app(url)
    out_dir = DATA / "exports"
    out_dir.mkdir(parents=True, exist_ok=True)
    exports.export_path = lambda job_id: out_dir / f"certificates-{job_id}.zip"
    with app.app_context():
        s = db.session
        sealed = seal.current() is not None
        auditor = s.execute(
            sa.select(User.id)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == "auditor")
            .order_by(User.id)
            .limit(1)
        ).scalar_one()
        # one program, its first departments until about `count` certificates
        program = s.execute(
            sa.select(Completion.program_id)
            .group_by(Completion.program_id)
            .having(sa.func.count() >= count)
            .order_by(Completion.program_id)
            .limit(1)
        ).scalar_one()
        per_dept = s.execute(
            sa.select(User.department_id, sa.func.count())
            .select_from(Certificate)
            .join(Completion, Completion.id == Certificate.completion_id)
            .join(User, User.id == Completion.user_id)
            .where(Completion.program_id == program)
            .group_by(User.department_id)
            .order_by(User.department_id)
        ).all()
        depts, n = [], 0
        for dept, k in per_dept:
            if n >= count:
                break
            depts.append(dept)
            n += k
        filters = {"program_id": program, "department_ids": depts}
        stmt = exports.certificate_query(program_id=program, department_ids=depts)
        ids = list(s.execute(stmt.with_only_columns(Certificate.id)).scalars())
        if s.scalar(
            sa.select(sa.func.count())
            .select_from(CertificatePdf)
            .where(CertificatePdf.certificate_id.in_(ids))
        ):
            raise SystemExit("some of these certificates are stored already: use --fresh")
        head_before = ledger.head(s)[0]

        def cpu() -> float:
            """CPU seconds of this process and of its finished children (the export's
            worker processes are joined, so counted, when the export returns)."""
            own = resource.getrusage(resource.RUSAGE_SELF)
            kids = resource.getrusage(resource.RUSAGE_CHILDREN)
            return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

        def export() -> tuple[float, int]:
            job = exports.start_export(s, auditor, filters, stmt)
            s.commit()
            started = time.perf_counter()
            exports.run_export(job.id)
            took = time.perf_counter() - started
            s.refresh(job)
            if job.status != "done":
                raise SystemExit(f"export failed: {job.error}")
            size = Path(job.path).stat().st_size
            Path(job.path).unlink(missing_ok=True)
            return took, size

        try:
            cpu_before = cpu()
            first_s, _size = export()  # renders, seals and stores every certificate
            first_cpu = cpu() - cpu_before
            workers = min(os.cpu_count() or 1, -(-len(ids) // exports.BATCH))
            stored_s, zip_bytes = export()  # the same certificates, from storage
            total = len(ids)

            # floor: the same certificates' pages in one WeasyPrint document, on one core
            certs = list(
                s.execute(
                    sa.select(Certificate).where(Certificate.id.in_(ids)).order_by(Certificate.id)
                ).scalars()
            )
            started, cpu_before = time.perf_counter(), cpu()
            html = certificates.wrap([certificates.certificate_html(c) for c in certs])
            cert_floor = pdf.document(html).write_pdf()
            cert_floor_s = time.perf_counter() - started
            cert_floor_cpu = cpu() - cpu_before
            # the same floor with the collector setting the first rendering uses
            # (pdf.few_collections): how much of the ratio that setting alone gives
            started, cpu_before = time.perf_counter(), cpu()
            with pdf.few_collections():
                html = certificates.wrap([certificates.certificate_html(c) for c in certs])
                pdf.document(html).write_pdf()
            gc_floor_s = time.perf_counter() - started
            gc_floor_cpu = cpu() - cpu_before
            started = time.perf_counter()
            plain = pdf.render(_floor_html(total))
            plain_floor_s = time.perf_counter() - started
        finally:
            # leave the data as it was: no stored PDFs, no entries after the head before
            s.rollback()
            s.execute(sa.delete(CertificatePdf).where(CertificatePdf.certificate_id.in_(ids)))
            s.execute(sa.update(Certificate).where(Certificate.id.in_(ids)).values(pdf_sha256=None))
            s.execute(sa.delete(ledger.LedgerEntry).where(ledger.LedgerEntry.seq > head_before))
            s.commit()
    first_per_core = total / first_s / workers
    cert_floor_per_s = total / cert_floor_s
    return {
        "certificates": total,
        "sealed": sealed,
        "workers": workers,
        "first_s": round(first_s, 3),
        "first_per_s": round(total / first_s, 1),
        "first_per_core": round(first_per_core, 1),
        "cert_floor_s": round(cert_floor_s, 3),
        "cert_floor_per_s": round(cert_floor_per_s, 1),
        "cert_floor_bytes": len(cert_floor),
        "first_ratio": round(first_per_core / cert_floor_per_s, 2),
        # per CPU second: what a core does when it is busy with this work alone
        "first_cpu_s": round(first_cpu, 3),
        "first_per_cpu_s": round(total / first_cpu, 1),
        "cert_floor_cpu_s": round(cert_floor_cpu, 3),
        "cert_floor_per_cpu_s": round(total / cert_floor_cpu, 1),
        "first_cpu_ratio": round(cert_floor_cpu / first_cpu, 2),
        # the floor laid out with the first rendering's collector setting (see above)
        "gc_floor_s": round(gc_floor_s, 3),
        "gc_floor_per_s": round(total / gc_floor_s, 1),
        "gc_floor_cpu_s": round(gc_floor_cpu, 3),
        "first_gc_ratio": round(first_per_core / (total / gc_floor_s), 2),
        "first_gc_cpu_ratio": round(gc_floor_cpu / first_cpu, 2),
        "plain_floor_s": round(plain_floor_s, 3),
        "plain_floor_per_s": round(total / plain_floor_s, 1),
        "plain_floor_bytes": len(plain),
        "stored_s": round(stored_s, 3),
        "stored_per_s": round(total / stored_s, 1),
        "zip_bytes": zip_bytes,
    }


def worker_profile(url: str, page: str, persona: str | None, path: str | None) -> dict:
    """Profile one page through the test client with pyinstrument (prints the tree)."""
    from pyinstrument import Profiler

    from lms.extensions import db

    app = _app(url)
    with app.app_context():
        targets = pick_targets(db.session)
        db.session.remove()
    persona = persona or dict((k, p) for k, _label, p in PAGES)[page]
    path = path or targets["paths"][page]
    client = app.test_client()
    _test_login(client, targets["personas"][persona])
    client.get(path)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    started = time.perf_counter()
    for _ in range(5):
        client.get(path)
    took = (time.perf_counter() - started) / 5
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False), file=sys.stderr)
    return {"path": path, "ms_per_request": round(took * 1000, 1)}


# ----- latency under gunicorn ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Http:
    """http.client against the local server, one connection per request (gunicorn's sync
    workers close the connection after each response)."""

    def __init__(self, port: int):
        self.port = port

    def request(self, method: str, path: str, cookie: str = "", body: str | None = None):
        """(status, body, [cookie=value set by the response], Location header)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
        headers = {"Accept-Language": "en"}
        if cookie:
            headers["Cookie"] = cookie
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            cookies = [
                v.split(";", 1)[0] for k, v in resp.getheaders() if k.lower() == "set-cookie"
            ]
            return resp.status, data, cookies, resp.getheader("Location") or ""
        finally:
            conn.close()

    def login(self, email: str) -> str:
        status, page, cookies, _loc = self.request("GET", "/login")
        token = CSRF_RE.search(page.decode()).group(1)
        form = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": PASSWORD})
        status, _data, new, _loc = self.request("POST", "/login", "; ".join(cookies), form)
        if status != 302 or not new:
            raise SystemExit(f"log-in as {email} failed over HTTP: {status}")
        return "; ".join(new)


@contextlib.contextmanager
def gunicorn(url: str, workers: int = WORKERS):
    """gunicorn serving ``wsgi:app`` on a free port: (Http, the master's pid)."""
    port = free_port()
    proc = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            str(HTTP_TIMEOUT),
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env_for(url),
    )
    try:
        http_ = Http(port)
        deadline = time.time() + 120
        while True:
            try:
                if http_.request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                raise SystemExit("gunicorn did not start")
            time.sleep(0.2)
        yield http_, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def load(http_: Http, path: str, cookie: str, requests: int, concurrency: int) -> list[float]:
    """`requests` GETs at `concurrency` threads; each request's latency in seconds."""
    times: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    per_thread = [
        requests // concurrency + (i < requests % concurrency) for i in range(concurrency)
    ]

    def run(n: int) -> None:
        for _ in range(n):
            started = time.perf_counter()
            status = http_.request("GET", path, cookie)[0]
            took = time.perf_counter() - started
            with lock:
                (times if status == 200 else errors).append(took if status == 200 else status)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(run, per_thread))
    if errors:
        raise SystemExit(f"{path}: {len(errors)} failed requests (HTTP {sorted(set(errors))})")
    return times


def requests_for(warm_s: float, requests: int, floor: int, budget_s: float) -> int:
    """Requests for a page: ``requests``, fewer when they would take longer than ``budget_s``
    at the rate the workers serve it (a warm-up request took ``warm_s``); at least ``floor``."""
    if warm_s <= 0:
        return requests
    return max(floor, min(requests, int(budget_s * WORKERS / warm_s)))


def percentile(sorted_times: list[float], q: float) -> float:
    return sorted_times[max(0, min(len(sorted_times) - 1, round(len(sorted_times) * q) - 1))]


def measure_latency(
    url: str,
    targets: dict,
    requests: int,
    concurrency: int,
    rounds: int,
    budget_s: float,
    sampler: LoadSampler,
) -> dict:
    """Medians and p95 per page, the pages and both floors interleaved in rounds so that a
    change in the machine's load during the run touches them alike; the machine's load around
    every batch; the peak memory of the workers."""
    log(f"latency: gunicorn -w {WORKERS}, up to {requests} requests per page at concurrency "
        f"{concurrency}, about {budget_s:g} s per page at most")  # fmt: skip
    with gunicorn(url) as (http_, master):
        cookies = {p: http_.login(email) for p, email in targets["personas"].items()}
        plan = [
            (key, targets["paths"][key], cookies[persona] if persona else "")
            for key, _l, persona in FLOORS + PAGES
        ]
        counts = {}
        failed: dict[str, str] = {}  # pages that did not answer within HTTP_TIMEOUT
        for key, path, cookie in plan:  # warm both workers; how long does one request take?
            try:
                warm = load(http_, path, cookie, 2 * WORKERS, WORKERS)
            except OSError as err:  # a time-out, or the worker killed by gunicorn
                failed[key] = f"no answer within {HTTP_TIMEOUT} s ({type(err).__name__})"
                log(f"{path}: {failed[key]}; left out")
                continue
            counts[key] = requests_for(
                statistics.median(warm), requests, rounds * concurrency, budget_s
            )
        samples: dict[str, list[float]] = {key: [] for key, _p, _c in plan}
        windows: dict[str, Window] = {key: Window() for key, _p, _c in plan}
        for r in range(rounds):
            for key, path, cookie in plan:
                if key in failed:
                    continue
                n = counts[key] // rounds + (r < counts[key] % rounds)
                before = sampler.snapshot()
                try:
                    samples[key] += load(http_, path, cookie, n, concurrency)
                except OSError as err:
                    failed[key] = f"no answer within {HTTP_TIMEOUT} s ({type(err).__name__})"
                windows[key].add(before, sampler.snapshot())
        rss = peak_rss_kb(children(master))
    out: dict = {key: {"failed": why} for key, why in failed.items()}
    for key, times in samples.items():
        if key in failed or not times:
            continue
        times.sort()
        out[key] = {
            "n": len(times),
            "median_ms": round(statistics.median(times) * 1000, 2),
            "p95_ms": round(percentile(times, 0.95) * 1000, 2),
            "load": windows[key].as_dict(),
        }
    plain, signed = out["healthz"]["median_ms"], out["account"]["median_ms"]
    for row in out.values():
        if "failed" in row:
            continue
        row["ratio"] = round(row["median_ms"] / plain, 1)
        row["ratio_signed"] = round(row["median_ms"] / signed, 1)
    return {"pages": out, "worker_peak_rss_kb": rss}


# ----- concurrent employees ------------------------------------------------------------------


def pick_quiz_people(session, count: int) -> list[dict]:
    """Employees who may start a quiz now (self-paced programs assigned to them, no valid
    completion, attempts left, no wait), one program each, deterministically."""
    import sqlalchemy as sa

    from lms.accounts.models import User, UserRole
    from lms.compliance.models import PersonStatus
    from lms.core.model import utcnow
    from lms.learning import services
    from lms.programs.models import Program, ProgramVersion

    now = utcnow()
    rows = session.execute(
        sa.select(PersonStatus.user_id, PersonStatus.program_id)
        .join(UserRole, UserRole.user_id == PersonStatus.user_id)
        .join(User, User.id == PersonStatus.user_id)
        .join(Program, Program.id == PersonStatus.program_id)
        .join(ProgramVersion, ProgramVersion.id == Program.current_version_id)
        .where(
            UserRole.role == "employee",
            User.active.is_(True),
            ProgramVersion.delivery_mode == "self_paced",
            PersonStatus.basis != "valid",
        )
        .order_by(PersonStatus.user_id, PersonStatus.program_id)
    ).all()
    out: list[dict] = []
    seen: set[int] = set()
    for uid, pid in rows:
        if uid in seen:
            continue
        user, program = session.get(User, uid), session.get(Program, pid)
        try:
            services.require_assigned(session, user, program)
            state = services.quiz_state(session, user, program, now)
        except Exception:  # noqa: BLE001 - not this one: the next candidate
            continue
        if state.blocked is None and state.open_attempt is None:
            out.append({"email": user.email, "program_id": pid})
            seen.add(uid)
            if len(out) == count:
                break
    if len(out) < count:
        raise SystemExit(f"only {len(out)} employees may take a quiz now; {count} wanted")
    return out


class Browser:
    """One signed-in person over HTTP: keeps the cookies the server sets."""

    def __init__(self, http_: Http, cookie: str):
        self.http = http_
        self.jar = dict(c.split("=", 1) for c in cookie.split("; ") if "=" in c)

    def request(self, method: str, path: str, form: dict | list | None = None):
        body = urllib.parse.urlencode(form, doseq=True) if form is not None else None
        cookie = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        status, data, cookies, location = self.http.request(method, path, cookie, body)
        for c in cookies:
            k, _eq, v = c.partition("=")
            self.jar[k] = v
        return status, data.decode("utf-8", "replace"), urllib.parse.urlsplit(location).path


ANSWER_RE = re.compile(r'name="(q-\d+)" value="(\d+)"')


def quiz_attempt(b: Browser, program_id: int, record) -> bool:
    """Open the course, start an attempt, answer every question (the first answer each),
    submit and read the result, as a person does; ``record(step, seconds, ok)`` each request."""

    def step(name: str, method: str, path: str, want: int, form=None):
        started = time.perf_counter()
        try:
            status, page, location = b.request(method, path, form)
        except OSError:
            status, page, location = 0, "", ""
        record(name, time.perf_counter() - started, status == want)
        return (page, location) if status == want else None

    got = step("course", "GET", f"/learning/programs/{program_id}", 200)
    if not got or not (m := CSRF_RE.search(got[0])):
        return False
    token = m.group(1)
    got = step("start", "POST", f"/learning/programs/{program_id}/attempts", 302,
               {"csrf_token": token})  # fmt: skip
    if not got:
        return False
    attempt = got[1]
    got = step("questions", "GET", attempt, 200)
    if not got:
        return False
    answers: dict[str, str] = {}
    for name, value in ANSWER_RE.findall(got[0]):
        answers.setdefault(name, value)
    got = step("submit", "POST", attempt, 302, {"csrf_token": token, **answers})
    if not got:
        return False
    return step("result", "GET", got[1] or attempt, 200) is not None


def measure_concurrent(
    url: str, people: list[dict], concurrency: int, reads: int, sampler: LoadSampler
) -> dict:
    """``len(people)`` signed-in employees at ``concurrency``: each opens "my training"
    ``reads`` times, then takes a quiz (five requests, two of them writes)."""
    log(f"concurrent: {len(people)} employees at concurrency {concurrency}")
    out: dict = {}
    with gunicorn(url) as (http_, master):
        browsers = [(Browser(http_, http_.login(p["email"])), p) for p in people]
        lock = threading.Lock()

        def timed(name: str, fn, items: list) -> None:
            times: list[float] = []
            errors = {"n": 0}
            steps: dict[str, list[float]] = {}

            def record(step: str, took: float, ok: bool) -> None:
                with lock:
                    if ok:
                        times.append(took)
                        steps.setdefault(step, []).append(took)
                    else:
                        errors["n"] += 1

            before = sampler.snapshot()
            started = time.perf_counter()
            with ThreadPoolExecutor(concurrency) as pool:
                done = list(pool.map(lambda item: fn(item, record), items))
            wall = time.perf_counter() - started
            window = Window()
            window.add(before, sampler.snapshot())
            times.sort()
            out[name] = {
                "tasks": len(items),
                "tasks_done": sum(1 for d in done if d),
                "requests": len(times) + errors["n"],
                "errors": errors["n"],
                "seconds": round(wall, 2),
                "requests_per_s": round((len(times) + errors["n"]) / wall, 1),
                "tasks_per_s": round(sum(1 for d in done if d) / wall, 2),
                "p50_ms": round(percentile(times, 0.5) * 1000, 1) if times else None,
                "p95_ms": round(percentile(times, 0.95) * 1000, 1) if times else None,
                "steps_p50_ms": {
                    k: round(statistics.median(v) * 1000, 1) for k, v in steps.items()
                },
                "load": window.as_dict(),
            }

        def read(item, record) -> bool:
            b, _p = item
            started = time.perf_counter()
            try:
                status = b.request("GET", "/learning/")[0]
            except OSError:
                status = 0
            record("my_training", time.perf_counter() - started, status == 200)
            return status == 200

        timed("my_training", read, [bp for _ in range(reads) for bp in browsers])
        timed("quiz", lambda item, record: quiz_attempt(item[0], item[1]["program_id"], record),
              browsers)  # fmt: skip
        out["worker_peak_rss_kb"] = peak_rss_kb(children(master))
    return out


def measure_rebuild(url: str) -> dict:
    """`flask lms rebuild-status` as a whole (start-up included), and the rebuild alone
    in-process (``status.rebuild`` and its commit)."""
    started = time.perf_counter()
    text = flask(url, "rebuild-status")
    took = time.perf_counter() - started
    m = re.search(r"Rebuilt (\d+)", text)
    alone = worker(url, "rebuild")
    return {
        "seconds": round(took, 1),
        "rows": int(m.group(1)) if m else None,
        "rebuild_s": alone["seconds"],
    }


def worker_rebuild(url: str) -> dict:
    from lms.compliance import status
    from lms.extensions import db

    with _app(url).app_context():
        started = time.perf_counter()
        rows = status.rebuild(db.session)
        db.session.commit()
        return {"rows": rows, "seconds": round(time.perf_counter() - started, 1)}


def measure_verify(url: str) -> dict:
    out = {}
    anchor = DATA / "verify-anchor.json"
    DATA.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    from lms.extensions import db

    with _app(url).app_context():
        from lms.core import ledger

        seq, digest = ledger.head(db.session)
        anchor.write_text(json.dumps({"seq": seq, "entry_hash": digest}))
    import resource

    def cpu() -> float:  # finished children: the flask command and its worker processes
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return kids.ru_utime + kids.ru_stime

    for label, args in (("parallel", []), ("one_process", ["--processes", "1"])):
        before = cpu()
        text = flask(url, "verify", "--anchor", str(anchor), *args)
        used = cpu() - before  # the whole command: start-up and status check included
        m = re.search(r"OK: (\d+) ledger entries verified in ([\d.]+) s.*?\d+ anchor", text)
        if not m:
            raise SystemExit(f"flask lms verify did not pass:\n{text}")
        rows, secs = int(m.group(1)), float(m.group(2))
        out[label] = {
            "rows": rows,
            "seconds": secs,
            "rows_per_s": round(rows / secs),
            "command_cpu_s": round(used, 2),
        }
    return out


# ----- results -------------------------------------------------------------------------------


def yes(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _load_note(load: dict | None) -> str:
    """How busy the rest of the machine was while a figure was taken."""
    if not load:
        return ""
    text = f"{load['others_cores']:.1f} / {load['load1_max']:.1f}"
    return f"**under load** ({text})" if load["under_load"] else f"quiet ({text})"


def section_key(kind: str, size: int, tag: str = "") -> str:
    """The RESULTS.md section of a run: one per database and size (and tag, if given)."""
    key = kind if size == DEFAULT_SIZE else f"{kind}-{size}"
    return f"{key}-{tag}" if tag else key


def render(kind: str, r: dict) -> str:
    small, big = (str(n) for n in r["sizes"])
    title = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[kind]
    run_load = r.get("load", {})
    lines = [
        f"## {title}, {int(big):,} employees" + (f" ({r['tag']})" if r.get("tag") else ""),
        "",
        f"Run {r['when']} on {r['cores']} cores ({r['cpu']}), Python {r['python']}, "
        f"`make bench DB={kind} SIZE={big}`; whole run {r['total_s']:.0f} s. Measured on a "
        "shared machine: other sessions ran their tests on the same two cores at the same "
        "time. Load average (1 min) at start "
        f"{r['load_start']}, at end {r['load_end']}; sampled {run_load.get('samples', 0)} "
        f"times during the run: min {run_load.get('load1_min')}, median "
        f"{run_load.get('load1_median')}, max {run_load.get('load1_max')}; other programs "
        f"used {run_load.get('others_cores')} cores on average.",
        "",
        "Data (`flask lms generate --programs 30 --years 3`):",
        "",
        "| employees | people | sessions | enrolments | completions | certificates | ledger "
        "| statuses | all records | generated in |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in (small, big):
        g = r["data"][n]
        c = g["counts"]
        took = f"{g['seconds']} s" + (" (reused)" if g.get("reused") else "")
        lines.append(
            f"| {int(n):,} | {c.get('people', 0):,} | {c.get('sessions', 0):,} "
            f"| {c.get('enrolments', 0):,} | {c.get('completions', 0):,} "
            f"| {c.get('certificates', 0):,} | {c.get('ledger', 0):,} "
            f"| {c.get('statuses', 0):,} | {c.get('records', 0):,} | {took} |"
        )
    if "queries" in r:
        lat = (r.get("latency") or {}).get("pages", {})
        q = r["queries"]
        lines += [
            "",
            f"Pages at {int(big):,} employees under gunicorn ({WORKERS} sync workers), "
            f"at concurrency {r['concurrency']} from 127.0.0.1, the pages and the floors "
            "interleaved in rounds. Target: median within "
            f"{LATENCY_RATIO:g}x of the signed-in floor (`/account`); no page over "
            f"{PAGE_BYTES // 1000} KB; SQL statements per request the same at "
            f"{int(small):,} and {int(big):,} employees (counted in-process). "
            "Machine: CPU cores used by other programs on average while the page was "
            "measured / highest 1-minute load average; **under load** when others used more "
            "than half a core.",
            "",
            "| page | path | requests | median ms | p95 ms | x healthz | x account "
            f"| within {LATENCY_RATIO:g}x | KB | statements @{int(small):,} "
            f"| @{int(big):,} | same | machine |",
            "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---|",
        ]
        paths = r["targets"]["paths"]
        for key, label, persona in FLOORS + PAGES:
            row = lat.get(key, {})
            qs = q.get(small, {}).get(key, {}).get("queries")
            qb = q.get(big, {}).get(key, {}).get("queries")
            size = q.get(big, {}).get(key, {}).get("bytes", 0)
            is_floor = key in ("healthz", "account")
            kb = (
                f"{size / 1000:,.0f}"
                if is_floor or size <= PAGE_BYTES
                else (f"**{size / 1000:,.0f}**")
            )
            who = f" ({persona})" if persona else ""
            if "failed" in row:
                lines.append(
                    f"| {label}{who} | `{paths[key]}` | | **{row['failed']}** | | | | **missed** "
                    f"| {kb} | {qs} | {qb} | {yes(qs == qb)} | |"
                )
                continue
            within = "" if is_floor or not row else yes(row["ratio_signed"] <= LATENCY_RATIO)
            lines.append(
                f"| {label}{who} | `{paths[key]}` | {row.get('n', '')} "
                f"| {row.get('median_ms', '')} | {row.get('p95_ms', '')} "
                f"| {row.get('ratio', '')} | {row.get('ratio_signed', '')} | {within} "
                f"| {kb} | {qs} | {qb} | {'' if is_floor else yes(qs == qb)} "
                f"| {_load_note(row.get('load'))} |"
            )
        rss = (r.get("latency") or {}).get("worker_peak_rss_kb") or {}
        if rss:
            peak = max(rss.values()) / 1024
            lines += [
                "",
                f"Peak memory of a web worker (VmHWM) after serving all of these: "
                f"{', '.join(f'{v / 1024:.0f} MB' for v in rss.values())}; target: under "
                f"{WORKER_RSS_MB} MB: {yes(peak < WORKER_RSS_MB)}.",
            ]
    if "rebuild" in r:
        x = r["rebuild"]
        lines += [
            "",
            f"`flask lms rebuild-status` at {int(big):,} employees: {x['rows']:,} stored "
            f"statuses in {x['seconds']} s (the command's whole run, start-up included)"
            + (f", the rebuild alone {x['rebuild_s']} s" if "rebuild_s" in x else "")
            + f"; target: under {REBUILD_S} s: "
            f"{yes(x.get('rebuild_s', x['seconds']) < REBUILD_S)}.",
        ]
    if "certs" in r:
        c = r["certs"]
        seal_note = "sealed with the organisation seal" if c["sealed"] else "unsealed (no seal)"
        lines += [
            "",
            f"Certificates at {int(big):,} employees, {c['certificates']} never rendered before. "
            f"First rendering: the export job lays them out in batches on {c['workers']} "
            f"core(s), {seal_note}, and stores each PDF; per core beside the floor of as many "
            "certificate pages (same layout, QR and fonts) in one WeasyPrint document on one "
            f"core, measured in the same run; target: at least {FIRST_RATIO:g}x. Stored export: "
            f"the same certificates again, a ZIP of stored bytes; target: at least "
            f"{STORED_PER_S} certificates/s.",
            "",
            "| measure | seconds | per second | floor / target | ratio | target |",
            "|---|---:|---:|---:|---:|---|",
            f"| first rendering, all cores | {c['first_s']} | {c['first_per_s']} | | | |",
            f"| first rendering, per core | | {c['first_per_core']} "
            f"| {c['cert_floor_per_s']} (certificate pages, one document, one core: "
            f"{c['cert_floor_s']} s) | {c['first_ratio']} | {yes(c['first_ratio'] >= FIRST_RATIO)} |",
        ]
        if "first_cpu_ratio" in c:
            lines.append(
                f"| first rendering, per CPU second (the job's processes) | {c['first_cpu_s']} "
                f"| {c['first_per_cpu_s']} | {c['cert_floor_per_cpu_s']} (floor per CPU second: "
                f"{c['cert_floor_cpu_s']} s) | {c['first_cpu_ratio']} "
                f"| {yes(c['first_cpu_ratio'] >= FIRST_RATIO)} |"
            )
        if "first_gc_ratio" in c:  # for reading the ratio, not a target
            lines.append(
                f"| first rendering, per core, against the floor with the same collector "
                f"setting | | {c['first_per_core']} | {c['gc_floor_per_s']} ({c['gc_floor_s']} s; "
                f"per CPU second: {c['first_gc_cpu_ratio']}) | {c['first_gc_ratio']} | |"
            )
        lines += [
            f"| plain-text floor (one document, one core) | {c['plain_floor_s']} "
            f"| {c['plain_floor_per_s']} | | | |",
            f"| export of stored certificates | {c['stored_s']} | {c['stored_per_s']} "
            f"| {STORED_PER_S} | | {yes(c['stored_per_s'] >= STORED_PER_S)} |",
        ]
    if "verify" in r:
        v = r["verify"]
        lines += [
            "",
            f"`flask lms verify` over the whole ledger at {int(big):,} employees, with the "
            "completeness scan and a checkpoint anchor; target: "
            f"at least {VERIFY_ROWS_PER_S:,} rows/s.",
            "",
            "| run | ledger rows | seconds | rows/s | target | CPU s of the whole command |",
            "|---|---:|---:|---:|---|---:|",
        ]
        for label, name in (("parallel", "default (one process per core)"),
                            ("one_process", "`--processes 1`")):  # fmt: skip
            x = v[label]
            lines.append(
                f"| {name} | {x['rows']:,} | {x['seconds']} | {x['rows_per_s']:,} "
                f"| {yes(x['rows_per_s'] >= VERIFY_ROWS_PER_S)} | {x.get('command_cpu_s', '')} |"
            )
    if "concurrent" in r:
        c = r["concurrent"]
        lines += [
            "",
            f"Concurrent employees at {int(big):,}: {c['people']} signed-in employees at "
            f"concurrency {c['concurrency']} against the same gunicorn ({WORKERS} workers). "
            f'"My training": each opens it {c["reads"]} times. Quiz: each opens the course, '
            "starts an attempt (POST with CSRF), reads the questions, submits an answer to "
            "every one (POST with CSRF) and reads the result: five requests, two of them "
            "writes. Errors: requests not answered as a person's browser expects.",
            "",
            "| run | people | done | requests | errors | seconds | requests/s | per s "
            "| p50 ms | p95 ms | median ms per step | machine |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
        ]
        for key, label, unit in (("my_training", "my training", "pages"),
                                 ("quiz", "quiz attempts", "attempts")):  # fmt: skip
            x = c[key]
            steps = ", ".join(f"{k} {v}" for k, v in x["steps_p50_ms"].items())
            lines.append(
                f"| {label} | {c['people']} | {x['tasks_done']} of {x['tasks']} "
                f"| {x['requests']} | {x['errors']} | {x['seconds']} | {x['requests_per_s']} "
                f"| {x['tasks_per_s']} {unit} | {x['p50_ms']} | {x['p95_ms']} | {steps} "
                f"| {_load_note(x['load'])} |"
            )
        rss = c.get("worker_peak_rss_kb") or {}
        if rss:
            lines += [
                "",
                "Peak memory of a web worker after the concurrent run: "
                f"{', '.join(f'{v / 1024:.0f} MB' for v in rss.values())}.",
            ]
    return "\n".join(lines) + "\n"


def write_results(kind: str, section: str) -> None:
    start, end = f"<!-- bench:{kind} -->", f"<!-- /bench:{kind} -->"
    block = f"{start}\n{section}{end}"
    if RESULTS.exists():
        text = RESULTS.read_text()
    else:
        text = (
            "# Benchmark results\n\nWritten by `make bench` (SQLite) and "
            "`make bench DB=postgresql`; see bench/README.md for what is measured. Each run "
            "replaces its own section and keeps the rest of this file.\n\n"
        )
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        marker = "<!-- bench:notes -->"
        if marker in text:
            text = text.replace(marker, block + "\n\n" + marker)
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(text)


def load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


STAGES = ("queries", "latency", "rebuild", "certs", "verify", "concurrent")


def own_roots() -> list[int]:
    return list(OWN_ROOTS)


def concurrent_copy(kind: str, url: str) -> contextlib.AbstractContextManager[str]:
    """The database the concurrent run writes into: on SQLite a copy (the generated file is
    reused by the next run), on PostgreSQL the throwaway database itself (measured last)."""

    @contextlib.contextmanager
    def copy():
        if kind != "sqlite":
            yield url
            return
        import shutil

        src = Path(url.removeprefix("sqlite:///"))
        dst = src.with_name(src.stem + "-concurrent.db")
        shutil.copyfile(src, dst)
        try:
            yield f"sqlite:///{dst}"
        finally:
            for p in (dst, Path(f"{dst}-wal"), Path(f"{dst}-shm")):
                p.unlink(missing_ok=True)

    return copy()


def bench(args) -> None:
    started = time.perf_counter()
    sizes = (small_size(args.size), args.size)
    r: dict = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "load_start": load_average(),
        "concurrency": args.concurrency,
        "sizes": sizes,
        "tag": args.tag,
        "data": {},
    }
    stages = set(args.only.split(",")) if args.only else set(STAGES)
    unknown = stages - set(STAGES)
    if unknown:
        raise SystemExit(f"--only: unknown part {', '.join(sorted(unknown))}")
    sampler = LoadSampler(own_roots, interval=2.0)
    with sampler, databases(args.db, args.fresh, sizes, args.keep) as dbs:
        for n, (_url, info) in dbs.items():
            r["data"][str(n)] = info
        big_url = dbs[sizes[-1]][0]
        if stages & {"queries", "latency"}:
            r["queries"] = {}
            for n, (url, _info) in dbs.items():
                log(f"statements per page at {n:,} employees")
                res = worker(url, "queries")
                r["queries"][str(n)] = res["pages"]
                r["targets"] = res["targets"]  # the last (largest) size's
        if "latency" in stages:
            r["latency"] = measure_latency(
                big_url,
                r["targets"],
                args.requests,
                args.concurrency,
                args.rounds,
                args.budget,
                sampler,
            )
        if "rebuild" in stages:
            log("flask lms rebuild-status")
            r["rebuild"] = measure_rebuild(big_url)
        if "certs" in stages:
            log(f"bulk export of about {args.certificates} certificates")
            r["certs"] = worker(big_url, "certs", "--count", str(args.certificates))
        if "verify" in stages:
            log("flask lms verify")
            r["verify"] = measure_verify(big_url)
        if "concurrent" in stages:
            with concurrent_copy(args.db, big_url) as url:
                people = worker(url, "quiz_people", "--count", str(args.people))
                r["concurrent"] = {
                    "people": args.people,
                    "concurrency": args.people_concurrency,
                    "reads": args.reads,
                    **measure_concurrent(url, people, args.people_concurrency, args.reads, sampler),
                }
    r["load_end"] = load_average()
    r["load"] = sampler.summary()
    r["total_s"] = time.perf_counter() - started
    DATA.mkdir(parents=True, exist_ok=True)
    key = section_key(args.db, args.size, args.tag)
    (DATA / f"last-{key}.json").write_text(json.dumps(r, indent=2, default=str))
    section = render(args.db, r)
    print("\n" + section)
    if args.write:
        write_results(key, section)
        log(f"wrote {RESULTS.relative_to(ROOT)}")
    log(f"done in {r['total_s']:.0f} s")


def size_arg(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--fresh", action="store_true", help="regenerate the kept data")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="PostgreSQL: keep the cluster and its data under bench/data/postgresql and reuse "
        "them in the next run (default: a throwaway server, data generated each run)",
    )
    parser.add_argument("--requests", type=int, default=200, help="per page (default 200)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds per page")
    parser.add_argument(
        "--size",
        type=size_arg,
        default=DEFAULT_SIZE,
        help=f"employees of the measured organisation (default {DEFAULT_SIZE}; also 50k)",
    )
    parser.add_argument(
        "--budget", type=float, default=60.0, help="seconds per page at most (default 60)"
    )
    parser.add_argument("--certificates", type=int, default=1000)
    parser.add_argument("--people", type=int, default=50, help="concurrent run: employees")
    parser.add_argument(
        "--people-concurrency", type=int, default=20, help="concurrent run: concurrency"
    )
    parser.add_argument("--reads", type=int, default=4, help="my training per employee")
    parser.add_argument("--only", help="comma list of " + ",".join(STAGES))
    parser.add_argument(
        "--tag", default="", help="a label for the run: its own section of RESULTS.md"
    )
    parser.add_argument(
        "--no-write", dest="write", action="store_false", help="print, do not touch RESULTS.md"
    )
    w = sub.add_parser("worker", help="one in-process measurement, JSON on stdout")
    w.add_argument(
        "task", choices=("queries", "certs", "profile", "targets", "quiz_people", "rebuild")
    )
    w.add_argument("--url", required=True)
    w.add_argument("--count", type=int, default=200)
    w.add_argument("--page", default="matrix")
    w.add_argument("--persona")
    w.add_argument("--path")
    args = parser.parse_args()
    if args.command != "worker":
        bench(args)
        return
    if args.task == "queries":
        result = worker_queries(args.url)
    elif args.task == "certs":
        result = worker_certs(args.url, args.count)
    elif args.task == "profile":
        result = worker_profile(args.url, args.page, args.persona, args.path)
    elif args.task == "rebuild":
        result = worker_rebuild(args.url)
    elif args.task == "quiz_people":
        from lms.extensions import db

        with _app(args.url).app_context():
            result = pick_quiz_people(db.session, args.count)
    else:
        from lms.extensions import db

        with _app(args.url).app_context():
            result = pick_targets(db.session)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
