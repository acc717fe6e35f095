"""Test fixtures: the app once per session on SQLite or PostgreSQL (LMS_TEST_DB)."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

os.environ.setdefault("LMS_JOBS_IMMEDIATE", "1")
from flask.testing import FlaskClient

from lms import create_app
from lms.config import Config
from lms.extensions import db, limiter

DB_KIND = os.environ.get("LMS_TEST_DB", "sqlite")
PASSWORD = "correct-horse-battery"


def pytest_report_header(config):
    return f"brigade database: {DB_KIND}"


@pytest.fixture(scope="session")
def database_url():
    if DB_KIND == "postgresql":
        from tests.pgserver import PostgresServer

        server = PostgresServer()
        url = server.start()
        yield url
        server.stop()
    else:
        tmp = tempfile.mkdtemp(prefix="brigade-test-")
        yield f"sqlite:///{Path(tmp) / 'test.db'}"


@pytest.fixture(scope="session")
def redis_server():
    """A throwaway redis-server on a free loopback port (started on first use)."""
    from tests.redisserver import RedisServer

    server = RedisServer()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def redis_limiter(redis_server):
    """The rate limits of this test counted in the throwaway Redis, as with LMS_REDIS_URL."""
    from limits.storage import storage_from_string
    from limits.strategies import FixedWindowRateLimiter

    saved = (limiter._storage, limiter._limiter)
    storage = storage_from_string(redis_server.url)
    storage.reset()
    limiter._storage, limiter._limiter = storage, FixedWindowRateLimiter(storage)
    yield storage
    limiter._storage, limiter._limiter = saved


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context, as in production: its own g and db session,
    not the test's."""

    def open(self, *args, **kwargs):
        headers = kwargs.setdefault("headers", {})
        if isinstance(headers, dict):
            headers.setdefault("Accept-Language", "en")
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(database_url):
    config = Config(
        env="testing",
        secret_key="test-secret",
        database_url=database_url,
        testing=True,
        csrf_enabled=False,
        ratelimit_storage_url=f"brigade-sqlite:///{tempfile.mkdtemp(prefix='brigade-rl-')}/rl.db",
        export_dir=tempfile.mkdtemp(prefix="brigade-exports-"),
        extra={"LMS_PASSWORD_METHOD": "pbkdf2:sha256:1000"},
    )
    app = create_app(config)
    app.test_client_class = IsolatedClient
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _wipe() -> None:
    db.session.rollback()
    if db.engine.dialect.name == "postgresql":
        # DELETE with the foreign-key triggers off, then every sequence back to 1: five times
        # faster than TRUNCATE ... RESTART IDENTITY on a test's few rows (TRUNCATE replaces
        # the files of all 50 tables each time)
        with db.engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
            conn.execute(
                sa.text("SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'")
            )
        return
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA foreign_keys=OFF")
        for table in reversed(db.metadata.sorted_tables):
            cur.execute(f"DELETE FROM {table.name}")
        raw.commit()
        cur.execute("PRAGMA foreign_keys=ON")
    finally:
        raw.close()


@pytest.fixture(autouse=True)
def _clean_database(app):
    ctx = app.app_context()
    ctx.push()
    limiter.reset()
    yield
    db.session.remove()
    _wipe()
    ctx.pop()


@pytest.fixture
def csrf_on(app):
    """Turn CSRF protection on for one test."""
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_department():
    from lms.accounts import services

    counter = {"n": 0}

    def make(name: str | None = None, code: str | None = None, parent=None):
        counter["n"] += 1
        dept = services.create_department(
            db.session,
            name=name or f"Department {counter['n']}",
            code=code or f"D{counter['n']}",
            parent_id=parent.id if parent else None,
        )
        db.session.commit()
        return dept

    return make


@pytest.fixture
def make_user():
    from lms.accounts import services

    counter = {"n": 0}

    def make(
        *roles: str,
        name: str | None = None,
        email: str | None = None,
        department=None,
        job_title: str = "Worker",
        **kw,
    ):
        counter["n"] += 1
        n = counter["n"]
        user = services.create_user(
            db.session,
            email=email or f"user{n}@example.test",
            name=name or f"Person {n}",
            password=PASSWORD,
            roles=roles or ("employee",),
            department_id=department.id if department else None,
            job_title=job_title,
            **kw,
        )
        db.session.commit()
        return user

    return make


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, user_or_email, password: str = PASSWORD):
        email = getattr(user_or_email, "email", user_or_email)
        return self.client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def login_as(client, make_user):
    """Create a user with the roles, sign the test client in, return the user."""

    def do(*roles: str, **kw):
        user = make_user(*roles, **kw)
        resp = Auth(client).login(user)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return user

    return do


def text_of(resp) -> str:
    """The visible text of an HTML response, whitespace folded."""
    html = resp.get_data(as_text=True)
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


@pytest.fixture
def make_program(make_user):
    """A program with two topics and a small quiz; approved=True has the head sign it."""
    from lms.programs import services

    counter = {"n": 0}

    def make(
        *,
        approved: bool = True,
        head=None,
        code: str | None = None,
        refresher_months: int | None = 12,
        delivery_mode: str = "self_paced",
        briefing_type: str = "repeated",
        category: str = "fire",
        **meta_kw,
    ):
        counter["n"] += 1
        head = head or make_user("manager", name=f"Head {counter['n']}")
        meta = services.VersionMeta(
            title={"en": f"Program {counter['n']}", "lv": f"Programma {counter['n']}"},
            description={"en": "About fire."},
            briefing_type=briefing_type,
            delivery_mode=delivery_mode,
            refresher_months=refresher_months,
            certificate_validity_months=refresher_months,
            audience_departments=meta_kw.pop("audience_departments", []),
            audience_job_titles=meta_kw.pop("audience_job_titles", []),
            languages=["en", "lv"],
        )
        program = services.create_program(
            db.session,
            code=code or f"P-{counter['n']}",
            category=category,
            meta=meta,
            head_id=head.id,
            actor_id=None,
        )
        version = program.versions[0]
        services.add_topic(
            db.session,
            version,
            title={"en": "Fire triangle", "lv": "Uguns trīsstūris"},
            body={"en": "## Heat, fuel, oxygen\n\nRemove one.", "lv": "Siltums."},
            minutes=30,
            kind="lesson",
            actor_id=None,
        )
        services.add_topic(
            db.session,
            version,
            title={"en": "Extinguishers"},
            body={"en": "Pull, aim, squeeze, sweep."},
            minutes=45,
            kind="practice",
            actor_id=None,
        )
        from lms.programs.models import Question

        version.quiz = {
            "pass_mark": 50,
            "questions_per_attempt": 2,
            "max_attempts": 3,
            "wait_minutes": 0,
            "time_limit_minutes": None,
            "show_answers": True,
        }
        for i, (qtype, answers) in enumerate(
            [
                ("single", [("Water", False), ("CO2", True), ("Petrol", False)]),
                ("true_false", [("True", True), ("False", False)]),
                ("multiple", [("Heat", True), ("Fuel", True), ("Noise", False)]),
            ],
            start=1,
        ):
            version.questions.append(
                Question(
                    key=f"q{i}",
                    position=i,
                    type=qtype,
                    text={"en": f"Question {i}?"},
                    answers=[
                        {"id": f"a{j}", "text": {"en": t}, "correct": c}
                        for j, (t, c) in enumerate(answers, start=1)
                    ],
                )
            )
        db.session.flush()
        if approved:
            services.submit(db.session, version, None)
            services.sign(db.session, version, head, PASSWORD, "approved")
        db.session.commit()
        return program

    return make


@pytest.fixture
def time_travel():
    """time_travel("2026-04-01 09:00Z") freezes time (ticking) until the test ends."""
    import time_machine

    travellers = []

    def go(when):
        for t in travellers:
            t.stop()
        travellers.clear()
        t = time_machine.travel(when, tick=False)
        t.start()
        travellers.append(t)

    yield go
    for t in travellers:
        t.stop()


# ----- requirements and completions (compliance, cascade) ----------------------------------


@pytest.fixture
def require():
    from lms.compliance import services as compliance_services

    def add(program, department=None, job_title=None, interval_months=None):
        req = compliance_services.add_requirement(
            db.session,
            program_id=program.id,
            department_id=department.id if department else None,
            job_title=job_title,
            interval_months=interval_months,
            actor_id=None,
        )
        db.session.commit()
        return req

    return add


@pytest.fixture
def complete():
    from lms.completions import services as completion_services

    def add(user, program, on, **kw):
        c = completion_services.record_completion(
            db.session,
            user_id=user.id,
            version=program.current_version,
            completed_on=on,
            earned_by="record",
            actor_id=None,
            issue=False,
            **kw,
        )
        db.session.commit()
        return c

    return add
