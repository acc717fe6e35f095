"""Operations: /healthz and /readyz, Redis at start and going away, JSON logs with a request
id, the client address behind a trusted proxy."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lms import create_app, ops
from lms.config import ConfigError
from tests.conftest import PASSWORD, text_of

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_and_readyz(client):
    assert client.get("/healthz").get_data(as_text=True) == "ok"
    resp = client.get("/readyz")
    assert resp.status_code == 200
    assert resp.json == {"ready": True, "database": "ok", "jobs": "ok"}


def test_readiness_names_redis_when_it_is_away(app, redis_server):
    config = dataclasses.replace(app.config["LMS_CONFIG"], redis_url=redis_server.url)
    assert ops.readiness(config)["redis"] == "ok"
    gone = dataclasses.replace(config, redis_url="redis://127.0.0.1:1/0")
    checks = ops.readiness(gone)
    assert checks["redis"] == "ConnectionError" and checks["database"] == "ok"


def test_redis_going_away_answers_503_and_recovers(client, make_user, redis_server, redis_limiter):
    user = make_user(email="anna@example.test")
    redis_server.stop()
    try:
        resp = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert resp.status_code == 503
        assert "not reachable at the moment" in text_of(resp)
        assert resp.headers["Retry-After"] == "30"
    finally:
        redis_server.start()
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 302


def test_an_unreachable_redis_at_start_is_one_line_and_an_exit_code(tmp_path):
    env = {
        **os.environ,
        "FLASK_APP": "lms",
        "LMS_REDIS_URL": "redis://:secret@127.0.0.1:1/0",
        "LMS_DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
    }
    flask = str(Path(sys.executable).with_name("flask"))
    result = subprocess.run(
        [flask, "lms", "--help"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 4
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Redis at redis://:***@127.0.0.1:1/0 cannot be reached" in lines[0]
    assert "secret" not in result.stderr


def test_check_redis_raises_config_error():
    with pytest.raises(ConfigError, match="cannot be reached"):
        ops.check_redis("redis://127.0.0.1:1/0")


@pytest.fixture(scope="module")
def proxied_app(app):
    """The same application behind one trusted proxy hop, logging JSON; ``seen`` holds what
    the last request looked like to the application."""
    from flask import request

    config = dataclasses.replace(app.config["LMS_CONFIG"], trusted_proxies=1, log_json=True)
    logger = logging.getLogger(app.import_name)  # one logger per name: shared by both apps
    saved = (logger.handlers[:], logger.level, logger.disabled)
    other = create_app(config)
    other.test_client_class = app.test_client_class
    other.seen = {}

    @other.before_request
    def look():
        other.seen.update(addr=request.remote_addr, scheme=request.scheme, host=request.host)

    yield other
    logger.handlers[:], logger.level, logger.disabled = saved


def test_behind_a_trusted_proxy_the_client_address_scheme_and_host_are_the_real_ones(
    proxied_app, app
):
    from werkzeug.middleware.proxy_fix import ProxyFix

    proxied_app.test_client().get(
        "/healthz",
        headers={
            "X-Forwarded-For": "203.0.113.7",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "brigade.example.lv",
        },
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert proxied_app.seen == {
        "addr": "203.0.113.7",
        "scheme": "https",
        "host": "brigade.example.lv",
    }
    # without LMS_TRUSTED_PROXIES (the default) the headers are not believed
    assert isinstance(proxied_app.wsgi_app, ProxyFix)
    assert not isinstance(app.wsgi_app, ProxyFix)


def test_behind_a_proxy_the_limit_is_per_real_address(proxied_app, make_user):
    client = proxied_app.test_client()
    user = make_user(email="far@example.test")
    others = [make_user(email=f"x{i}@example.test") for i in range(10)]
    for other in others:  # someone guessing from one address behind the proxy
        client.post(
            "/login",
            data={"email": other.email, "password": "wrong-password-x"},
            headers={"X-Forwarded-For": "198.51.100.1"},
        )
    # the proxy's own address is the same for everyone; the real user is not locked out
    resp = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.2"},
    )
    assert resp.status_code == 302


def test_json_logs_carry_the_request_id(proxied_app, capsys):
    handler = proxied_app.logger.handlers[0]
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(handler.format(record))

    keep = Keep()
    proxied_app.logger.addHandler(keep)
    proxied_app.logger.disabled = False  # Alembic's fileConfig (migration tests) disables it
    try:
        resp = proxied_app.test_client().get("/healthz", headers={"X-Request-ID": "abc-123"})
        fresh = proxied_app.test_client().get("/healthz")
    finally:
        proxied_app.logger.removeHandler(keep)
    assert resp.headers["X-Request-ID"] == "abc-123"
    assert len(fresh.headers["X-Request-ID"]) == 32
    entries = [json.loads(line) for line in records]
    assert entries[0]["request_id"] == "abc-123"
    assert entries[0]["path"] == "/healthz" and entries[0]["level"] == "INFO"
    assert entries[1]["request_id"] == fresh.headers["X-Request-ID"]
    # a request id from outside that could forge log lines is replaced
    odd = proxied_app.test_client().get("/healthz", headers={"X-Request-ID": 'a"b c'})
    assert odd.headers["X-Request-ID"] != 'a"b c'
