#!/usr/bin/env python3
"""Brigade benchmark: `make bench` (SQLite) or `make bench DB=postgresql`.

On organisations built by `flask lms generate` (500 and 5,000 employees) it measures, in one run:

* latency of the main pages under gunicorn (2 workers) with a bounded load generator on
  127.0.0.1, beside /healthz (no database work) served by the same server: ratio of medians;
* SQL queries per page at both sizes (in-process, Flask test client, a cursor-execute counter);
* bulk certificate export rate beside one plain WeasyPrint document of as many pages;
* `flask lms verify` over the whole ledger (rows per second);

and writes the tables into bench/RESULTS.md (its own section per database; the rest of the
file is kept). Generated SQLite databases are kept under bench/data/ and reused while their
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
BENCH = ROOT / "bench"
DATA = BENCH / "data"
RESULTS = BENCH / "RESULTS.md"
BIN = Path(sys.executable).parent
SECRET = "bench-secret-key-not-for-production"
PASSWORD = "bench-password"  # what `flask lms generate` gives everyone
SIZES = (500, 5000)
PROGRAMS, YEARS, SEED = 30, 3, 7

# targets from the issue
LATENCY_RATIO = 3.0  # page median <= 3x the /healthz median
STORED_PER_S = 500  # bulk export of stored certificates (a ZIP of stored bytes)
FIRST_RATIO = 1.0  # first rendering per core >= the certificate-page floor (one doc, one core)
VERIFY_ROWS_PER_S = 50_000  # verify with anchors and completeness

PAGES = [  # (key, label, persona)
    ("matrix", "Compliance matrix", "admin"),
    ("drilldown", "Department drill-down", "manager"),
    ("my_training", "My training", "employee"),
    ("session", "Session page", "instructor"),
    ("auditor", "Auditor search", "auditor"),
]


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
    """Changes whenever the generator or a migration changes: then the data is rebuilt."""
    h = hashlib.sha256()
    generator = sorted((ROOT / "bench" / "generate").glob("*.py"))
    for path in [*generator, *sorted((ROOT / "migrations").rglob("*.py"))]:
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def generate(url: str, employees: int) -> dict:
    log(f"generating {employees} employees into {url.split('@')[-1]}")
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


def sqlite_database(employees: int, fresh: bool) -> tuple[str, dict]:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"sqlite-{employees}.db"
    marker = path.with_suffix(".json")
    url = f"sqlite:///{path}"
    want = {
        "employees": employees,
        "programs": PROGRAMS,
        "years": YEARS,
        "seed": SEED,
        "fingerprint": generator_fingerprint(),
    }
    if not fresh and path.exists() and marker.exists():
        saved = json.loads(marker.read_text())
        if saved.get("want") == want:
            log(f"reusing {path.relative_to(ROOT)} (generated {saved['at']}; --fresh rebuilds)")
            flask(url, "init")
            return url, {**saved["info"], "reused": True}
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), marker):
        stale.unlink(missing_ok=True)
    info = generate(url, employees)
    marker.write_text(
        json.dumps({"want": want, "info": info, "at": datetime.now(UTC).isoformat()[:19]})
    )
    return url, {**info, "reused": False}


@contextlib.contextmanager
def databases(kind: str, fresh: bool):
    """{employees: (url, generation info)} for every size, on the chosen database."""
    if kind == "sqlite":
        yield {n: sqlite_database(n, fresh) for n in SIZES}
        return
    sys.path.insert(0, str(ROOT))
    import sqlalchemy as sa

    from tests.pgserver import PostgresServer

    server = PostgresServer()
    log("starting a throwaway PostgreSQL server")
    base = server.start()
    try:
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        out = {}
        for n in SIZES:
            name = f"brigade_bench_{n}"
            with admin.connect() as conn:
                conn.execute(sa.text(f"CREATE DATABASE {name}"))
            url = base.rsplit("/", 1)[0] + "/" + name
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
    ts = session.execute(
        sa.select(TrainingSession)
        .where(
            TrainingSession.status == "held",
            TrainingSession.department_id.is_(None),
            TrainingSession.program_id.in_(led),
            size.between(18, 25),
        )
        .order_by(TrainingSession.starts_at.desc(), TrainingSession.id)
        .limit(1)
    ).scalar_one()
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
            "matrix": "/compliance/",
            "drilldown": f"/compliance/people?department={division.id}",
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
    """SQL statements per request for every page (after one warm-up request)."""
    import sqlalchemy as sa

    from lms.extensions import db

    app = _app(url)
    with app.app_context():
        targets = pick_targets(db.session)
        db.session.remove()
        counter = {"n": 0}

        def count(*_args, **_kw):
            counter["n"] += 1

        sa.event.listen(db.engine, "before_cursor_execute", count)
    out = {}
    for key, _label, persona in PAGES:
        client = app.test_client()
        _test_login(client, targets["personas"][persona])
        path = targets["paths"][key]
        first = client.get(path)
        counter["n"] = 0
        resp = client.get(path)
        if first.status_code != 200 or resp.status_code != 200:
            raise SystemExit(f"{path} as {persona}: HTTP {resp.status_code}")
        out[key] = {"queries": counter["n"], "bytes": len(resp.get_data())}
    counter["n"] = 0
    client.get("/healthz")
    out["healthz"] = {"queries": counter["n"]}
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
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
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
            return resp.status, data, cookies
        finally:
            conn.close()

    def login(self, email: str) -> str:
        status, page, cookies = self.request("GET", "/login")
        token = CSRF_RE.search(page.decode()).group(1)
        form = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": PASSWORD})
        status, _data, new = self.request("POST", "/login", "; ".join(cookies), form)
        if status != 302 or not new:
            raise SystemExit(f"log-in as {email} failed over HTTP: {status}")
        return "; ".join(new)


@contextlib.contextmanager
def gunicorn(url: str):
    port = free_port()
    proc = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env_for(url),
    )
    try:
        http_ = Http(port)
        deadline = time.time() + 60
        while True:
            try:
                if http_.request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                raise SystemExit("gunicorn did not start")
            time.sleep(0.2)
        yield http_
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
            status, _data, _c = http_.request("GET", path, cookie)
            took = time.perf_counter() - started
            with lock:
                (times if status == 200 else errors).append(took if status == 200 else status)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(run, per_thread))
    if errors:
        raise SystemExit(f"{path}: {len(errors)} failed requests (HTTP {sorted(set(errors))})")
    return times


def measure_latency(url: str, targets: dict, requests: int, concurrency: int, rounds: int) -> dict:
    """Medians and p95 per page, the pages and /healthz interleaved in rounds so that a change
    in the machine's load during the run touches them alike."""
    log(f"latency: gunicorn -w 2, {requests} requests per page at concurrency {concurrency}")
    with gunicorn(url) as http_:
        cookies = {p: http_.login(email) for p, email in targets["personas"].items()}
        plan = [("healthz", "/healthz", "")] + [
            (key, targets["paths"][key], cookies[persona]) for key, _l, persona in PAGES
        ]
        for _key, path, cookie in plan:  # warm both workers
            load(http_, path, cookie, 8, 2)
        samples: dict[str, list[float]] = {key: [] for key, _p, _c in plan}
        for r in range(rounds):
            n = requests // rounds + (r < requests % rounds)
            for key, path, cookie in plan:
                samples[key] += load(http_, path, cookie, n, concurrency)
    out = {}
    for key, times in samples.items():
        times.sort()
        out[key] = {
            "n": len(times),
            "median_ms": round(statistics.median(times) * 1000, 2),
            "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)] * 1000, 2),
        }
    floor = out["healthz"]["median_ms"]
    for row in out.values():
        row["ratio"] = round(row["median_ms"] / floor, 1)
    return out


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


def render(kind: str, r: dict) -> str:
    big, small = str(SIZES[-1]), str(SIZES[0])
    title = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[kind]
    lines = [
        f"## {title}",
        "",
        f"Run {r['when']} on {r['cores']} cores ({r['cpu']}), Python {r['python']}; "
        f"load average at start {r['load_start']}, at end {r['load_end']}; "
        f"whole run {r['total_s']:.0f} s.",
        "",
        "Data (`flask lms generate --programs 30 --years 3`):",
        "",
        "| employees | people | sessions | enrolments | completions | certificates | ledger "
        "| all records | generated in |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in (small, big):
        g = r["data"][n]
        c = g["counts"]
        took = f"{g['seconds']} s" + (" (reused)" if g.get("reused") else "")
        lines.append(
            f"| {int(n):,} | {c.get('people', 0):,} | {c.get('sessions', 0):,} "
            f"| {c.get('enrolments', 0):,} | {c.get('completions', 0):,} "
            f"| {c.get('certificates', 0):,} | {c.get('ledger', 0):,} "
            f"| {c.get('records', 0):,} | {took} |"
        )
    if "queries" in r:
        lat = r.get("latency") or {
            key: {"n": 0, "median_ms": "", "p95_ms": "", "ratio": float("nan")}
            for key in ["healthz"] + [k for k, _l, _p in PAGES]
        }
        q = r["queries"]
        lines += [
            "",
            f"Pages at {int(big):,} employees under gunicorn (2 sync workers), "
            f"{lat['healthz']['n']} requests per page at concurrency {r['concurrency']} "
            f"from 127.0.0.1; target: median within {LATENCY_RATIO:g}x of /healthz. "
            "SQL statements per request at both sizes; target: the same at both.",
            "",
            "| page | path | median ms | p95 ms | x healthz | latency target "
            f"| queries @{int(small):,} | queries @{int(big):,} | query target |",
            "|---|---|---:|---:|---:|---|---:|---:|---|",
        ]
        h = lat["healthz"]
        lines.append(
            f"| hello world (floor) | `/healthz` | {h['median_ms']} | {h['p95_ms']} | 1.0 | "
            f"| {q.get(small, {}).get('healthz', {}).get('queries', '')} "
            f"| {q.get(big, {}).get('healthz', {}).get('queries', '')} | |"
        )
        paths = r["targets"]["paths"]
        for key, label, persona in PAGES:
            row = lat[key]
            qs = q.get(small, {}).get(key, {}).get("queries")
            qb = q.get(big, {}).get(key, {}).get("queries")
            lines.append(
                f"| {label} ({persona}) | `{paths[key]}` | {row['median_ms']} | {row['p95_ms']} "
                f"| {row['ratio']} | {yes(row['ratio'] <= LATENCY_RATIO)} | {qs} | {qb} "
                f"| {yes(qs == qb)} |"
            )
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


def bench(args) -> None:
    started = time.perf_counter()
    r: dict = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "load_start": load_average(),
        "concurrency": args.concurrency,
        "data": {},
    }
    stages = set(args.only.split(",")) if args.only else {"queries", "latency", "certs", "verify"}
    with databases(args.db, args.fresh) as dbs:
        for n, (_url, info) in dbs.items():
            r["data"][str(n)] = info
        big_url = dbs[SIZES[-1]][0]
        if "queries" in stages or "latency" in stages:
            r["queries"] = {}
            for n, (url, _info) in dbs.items():
                log(f"queries per page at {n} employees")
                res = worker(url, "queries")
                r["queries"][str(n)] = res["pages"]
                r["targets"] = res["targets"]  # the last (largest) size's
        if "latency" in stages:
            r["latency"] = measure_latency(
                big_url, r["targets"], args.requests, args.concurrency, args.rounds
            )
        if "certs" in stages:
            log(f"bulk export of about {args.certificates} certificates")
            r["certs"] = worker(big_url, "certs", "--count", str(args.certificates))
        if "verify" in stages:
            log("flask lms verify")
            r["verify"] = measure_verify(big_url)
    r["load_end"] = load_average()
    r["total_s"] = time.perf_counter() - started
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / f"last-{args.db}.json").write_text(json.dumps(r, indent=2, default=str))
    section = render(args.db, r)
    print("\n" + section)
    if args.write:
        write_results(args.db, section)
        log(f"wrote {RESULTS.relative_to(ROOT)}")
    log(f"done in {r['total_s']:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--fresh", action="store_true", help="regenerate the SQLite data")
    parser.add_argument("--requests", type=int, default=200, help="per page (default 200)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds per page")
    parser.add_argument("--certificates", type=int, default=1000)
    parser.add_argument("--only", help="comma list of queries,latency,certs,verify")
    parser.add_argument(
        "--no-write", dest="write", action="store_false", help="print, do not touch RESULTS.md"
    )
    w = sub.add_parser("worker", help="one in-process measurement, JSON on stdout")
    w.add_argument("task", choices=("queries", "certs", "profile", "targets"))
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
    else:
        from lms.extensions import db

        with _app(args.url).app_context():
            result = pick_targets(db.session)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
