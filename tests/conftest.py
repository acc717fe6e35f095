"""Test fixtures: the app once per session on SQLite or PostgreSQL (LMS_TEST_DB)."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
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
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(t.name for t in db.metadata.sorted_tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())


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
