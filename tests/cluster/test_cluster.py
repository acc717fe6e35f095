"""Several nodes for real: two gunicorn servers and two Huey workers on PostgreSQL + Redis.

A person signs in on one server and carries on on the other; people race for the last places
of a session through both servers; an auditor's bulk export is queued on one server, built by
a worker and downloaded from the other. Each gives what one node gives. A worker killed with
SIGKILL in the middle of an export leaves no half ZIP to anyone, and another worker finishes
the job. And the sign-in limit, measured with four gunicorn workers, allows exactly the
configured number of failures per account and per address.

Runs with ``LMS_TEST_DB=postgresql`` (part of ``make test``); ``make cluster-test`` runs it alone.
"""

from __future__ import annotations

import io
import os
import re
import threading
import time
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from lms.completions import services as completions
from lms.completions.models import Certificate, ExportJob
from lms.core import ledger
from lms.extensions import db
from lms.sessions import queries
from lms.sessions.models import Enrolment
from tests.cluster.cluster import Browser, Node, worker
from tests.conftest import DB_KIND, PASSWORD

pytestmark = [
    pytest.mark.postgresql_only,
    pytest.mark.skipif(DB_KIND != "postgresql", reason="the cluster runs on PostgreSQL"),
]

LEASE = 3  # seconds without a heartbeat before a running job is handed to another worker


@pytest.fixture(scope="module")
def cluster_env(database_url, redis_server, app, tmp_path_factory):
    base = tmp_path_factory.mktemp("cluster")
    (base / "exports").mkdir()
    env = {
        **os.environ,
        "LMS_DATABASE_URL": database_url,
        "LMS_REDIS_URL": redis_server.url.rsplit("/", 1)[0] + "/1",
        "LMS_SECRET_KEY": "cluster-test-secret",
        "LMS_TRUSTED_PROXIES": "1",
        "LMS_EXPORT_DIR": str(base / "exports"),
        "LMS_JOB_LEASE_SECONDS": str(LEASE),
        "LMS_JOBS_IMMEDIATE": "0",
        "LMS_LOGIN_LIMIT": "10 per minute",
    }
    return env, base


@pytest.fixture(scope="module")
def cluster(cluster_env):
    import redis

    env, base = cluster_env
    redis.Redis.from_url(env["LMS_REDIS_URL"]).flushdb()
    nodes = [Node("web-a", env, base), Node("web-b", env, base)]
    workers = {"w1": worker("w1", env, base), "w2": worker("w2", env, base)}
    try:
        for node in nodes:
            node.wait_ready()
        yield {"a": nodes[0], "b": nodes[1], "workers": workers, "env": env, "base": base}
    finally:
        for node in nodes:
            node.process.stop()
        for w in workers.values():
            w.stop()


@pytest.fixture(autouse=True)
def _fresh_exports(cluster_env):
    """Job ids start again at 1 after each test's wipe: start with an empty export folder."""
    for path in Path(cluster_env[0]["LMS_EXPORT_DIR"]).iterdir():
        path.unlink()


def issue_certificates(make_user, make_program, n: int):
    from lms.completions import services

    program = make_program(approved=True)
    for i in range(n):
        user = make_user(name=f"Darbinieks {i:03d}")
        services.record_completion(
            db.session,
            user_id=user.id,
            version=program.current_version,
            completed_on=date(2026, 3, 2),
            earned_by="record",
            actor_id=None,
        )
    db.session.commit()
    return program


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def job_row(job_id: int) -> ExportJob:
    db.session.expire_all()
    return db.session.get(ExportJob, job_id)


def check_zip(data: bytes, program) -> None:
    """The ZIP holds exactly the program's certificates, each the PDF on record; a few are
    compared byte for byte with the PDF stored as issued (what a single download serves)."""
    zf = zipfile.ZipFile(io.BytesIO(data))
    db.session.expire_all()
    expected = db.session.execute(
        sa.select(Certificate)
        .join(Certificate.completion)
        .where(sa.text("completions.program_id = :p").bindparams(p=program.id))
    ).scalars()
    expected = {c.number: c for c in expected}
    assert sorted(zf.namelist()) == sorted(f"{n}.pdf" for n in expected)
    for i, (number, cert) in enumerate(sorted(expected.items())):
        pdf = zf.read(f"{number}.pdf")
        assert ledger.sha256(pdf) == cert.pdf_sha256
        if i < 3:
            assert pdf == completions.certificate_pdf(db.session, cert)


def start_export(auditor: Browser, program) -> int:
    status, _page, headers = auditor.post(
        "/auditor/export", {"program": program.id}, token_from=f"/auditor/?program={program.id}"
    )
    assert status == 302, status
    return int(re.search(r"/auditor/exports/(\d+)", headers["Location"]).group(1))


# ----- sign-in, enrolment race, bulk export across nodes ---------------------------------------


def test_a_person_signs_in_on_one_server_and_carries_on_on_the_other(cluster, make_user):
    user = make_user(name="Anna Bērziņa", email="anna@example.test")
    on_a = Browser(cluster["a"], "192.0.2.10")
    assert on_a.login(user.email, PASSWORD)[0] == 302
    status_a, home_a, _ = on_a.get("/")
    status_b, home_b, _ = on_a.on(cluster["b"]).get("/")
    assert status_a == status_b == 200
    assert "Anna Bērziņa" in home_a and "Anna Bērziņa" in home_b
    # signing out on B signs out everywhere
    on_b = on_a.on(cluster["b"])
    assert on_b.post("/logout", token_from="/")[0] in (302, 303)
    assert on_a.get("/")[0] == 302


def race(make_user, make_program, nodes, capacity: int, people: int, tag: str) -> dict:
    """``people`` sign up at the same moment for ``capacity`` places, spread over ``nodes``."""
    from tests.sessions.conftest import approve_without_quiz, schedule_session

    instructor = make_user("instructor", name=f"Instructor {tag}")
    program = approve_without_quiz(
        make_program(approved=False, delivery_mode="instructor_led", code=f"RACE-{tag}")
    )
    start = (datetime.now() + timedelta(days=7)).replace(hour=10, minute=0, second=0, microsecond=0)
    ts = schedule_session(program=program, instructor=instructor, start=start, capacity=capacity)
    ready = []
    for i in range(people):
        person = make_user(name=f"Rush {tag} {i:02d}", email=f"rush-{tag}-{i}@example.test")
        b = Browser(nodes[i % len(nodes)], f"198.51.100.{i + 1}")
        assert b.login(person.email, PASSWORD)[0] == 302
        ready.append((b, b.token_of(f"/sessions/{ts.id}")))
    barrier = threading.Barrier(people)
    codes: list[int] = []

    def sign_up(b: Browser, token: str) -> None:
        barrier.wait(timeout=30)
        codes.append(b.request("POST", f"/sessions/{ts.id}/signup", {"csrf_token": token})[0])

    threads = [threading.Thread(target=sign_up, args=pair) for pair in ready]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert codes == [302] * people, codes
    db.session.expire_all()
    return queries.counts(db.session, ts.id)


def test_an_enrolment_race_through_both_servers_fills_as_on_one_node(
    cluster, make_user, make_program
):
    both = race(make_user, make_program, [cluster["a"], cluster["b"]], 3, 8, "two")
    one = race(make_user, make_program, [cluster["a"]], 3, 8, "one")
    assert both == one == {"enrolled": 3, "waitlisted": 5, "cancelled": 0}
    assert db.session.execute(sa.select(sa.func.count()).select_from(Enrolment)).scalar() == 16


def test_a_bulk_export_queued_on_one_server_is_built_by_a_worker_and_served_by_the_other(
    cluster, make_user, make_program
):
    program = issue_certificates(make_user, make_program, 6)
    auditor_user = make_user("auditor", email="auditor@example.test")
    auditor = Browser(cluster["a"], "192.0.2.20")
    assert auditor.login(auditor_user.email, PASSWORD)[0] == 302
    job_id = start_export(auditor, program)
    on_b = auditor.on(cluster["b"])

    def finished():
        status, page, _ = on_b.get(f"/auditor/exports/{job_id}")
        return "certificates are ready" in page

    wait_for(finished, 60, "the export")
    status, _text, _headers = on_b.get(f"/auditor/exports/{job_id}/download")
    assert status == 200
    check_zip(on_b.last_bytes, program)
    assert job_row(job_id).attempts == 1


# ----- a worker killed in the middle of an export ---------------------------------------------


def test_a_worker_killed_mid_export_leaves_no_half_zip_and_another_finishes(
    cluster, make_user, make_program
):
    workers = cluster["workers"]
    workers["w2"].stop()  # only w1 takes the job
    program = issue_certificates(make_user, make_program, 55)  # two batches: 50 + 5
    auditor_user = make_user("auditor", email="auditor2@example.test")
    auditor = Browser(cluster["a"], "192.0.2.30")
    assert auditor.login(auditor_user.email, PASSWORD)[0] == 302
    job_id = start_export(auditor, program)
    exports_dir = Path(cluster["env"]["LMS_EXPORT_DIR"])

    def half_written():
        job = job_row(job_id)
        assert job.status != "done", "the export finished before the worker could be killed"
        return job.status == "running" and list(exports_dir.glob(f"certificates-{job_id}.*.part"))

    wait_for(half_written, 60, "the export to start")
    workers["w1"].kill()  # SIGKILL, the worker and the PDF processes it forked
    workers["w1"].proc.wait(10)

    # nobody sees half a ZIP: no file under the final name, no download
    on_b = auditor.on(cluster["b"])
    assert not (exports_dir / f"certificates-{job_id}.zip").exists()
    assert on_b.get(f"/auditor/exports/{job_id}/download")[0] == 404
    assert "Preparing" in on_b.get(f"/auditor/exports/{job_id}")[1]

    workers["w2b"] = worker("w2b", cluster["env"], cluster["base"])  # another worker

    def finished():
        # the person waiting keeps the progress page open: it notices the lost worker
        return "certificates are ready" in on_b.get(f"/auditor/exports/{job_id}")[1]

    wait_for(finished, 90, "the retried export")
    job = job_row(job_id)
    assert job.status == "done" and job.attempts == 2 and job.done == job.total == 55
    assert sorted(p.name for p in exports_dir.glob(f"certificates-{job_id}*")) == [
        f"certificates-{job_id}.zip"
    ]
    check_zip((exports_dir / f"certificates-{job_id}.zip").read_bytes(), program)


# ----- the sign-in limit with four gunicorn workers ---------------------------------------------


def measure_login_limit(node: Node, make_user, tag: str) -> tuple[int, int]:
    """(failures let through for one account tried from 25 addresses, failures let through
    from one address trying 25 accounts): 25 wrong passwords each, 8 at a time."""
    from concurrent.futures import ThreadPoolExecutor

    target = make_user(email=f"target-{tag}@example.test").email
    many = [make_user(email=f"many-{tag}-{i}@example.test").email for i in range(25)]
    token_holder = Browser(node)
    token = token_holder.token_of("/login")

    def attempt(email: str, address: str) -> int:
        b = Browser(node, address)
        b.cookies = dict(token_holder.cookies)
        form = {"email": email, "password": "wrong-password-x", "csrf_token": token}
        return b.request("POST", "/login", form)[0]

    with ThreadPoolExecutor(8) as pool:
        per_account = list(pool.map(lambda i: attempt(target, f"203.0.113.{i + 1}"), range(25)))
        per_address = list(pool.map(lambda e: attempt(e, f"198.18.0.{len(tag)}"), many))
    assert set(per_account) <= {401, 429} and set(per_address) <= {401, 429}
    return per_account.count(401), per_address.count(401)


@pytest.mark.parametrize("store", ["redis", "file"])
def test_the_sign_in_limit_is_exact_with_four_workers(cluster_env, make_user, store, tmp_path):
    env, base = cluster_env
    env = dict(env)
    if store == "file":
        env.pop("LMS_REDIS_URL")
        env["LMS_RATELIMIT_STORAGE_URL"] = f"brigade-sqlite:///{tmp_path}/rl.db"
    node = Node(f"limit-{store}", env, base, workers=4)
    try:
        node.wait_ready()
        per_account, per_address = measure_login_limit(node, make_user, store)
    finally:
        node.process.stop()
    print(
        f"\nsign-in limit, 4 gunicorn workers, {store} store: {per_account} failures let "
        f"through per account, {per_address} per address (limit 10 per minute)"
    )
    assert (per_account, per_address) == (10, 10)
