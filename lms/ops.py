"""Running in production: proxies, readiness, structured logs, services that go away.

- ``LMS_TRUSTED_PROXIES=n``: Werkzeug's ProxyFix trusts n proxy hops for the client address,
  scheme, host and prefix (X-Forwarded-For/-Proto/-Host/-Prefix). 0 (default): headers ignored.
- ``LMS_LOG_JSON=1``: one JSON object per log line, with the request id (the proxy's
  ``X-Request-ID`` when it sends one, else a new one; echoed in the response).
- ``LMS_REDIS_URL`` unreachable at start: one clear line (``ConfigError``), no traceback.
- Redis (or another backing service) going away while running: the pages that need it answer
  503 with a message, and work again as soon as it is back (each request reconnects).
- ``readiness()``: database, Redis and job queue, for ``/readyz``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from datetime import UTC, datetime

import redis
from flask import Blueprint, Flask, current_app, g, has_request_context, render_template, request
from flask_babel import gettext as _
from limits.errors import StorageError
from werkzeug.middleware.proxy_fix import ProxyFix

from lms import jobs
from lms.config import Config, ConfigError
from lms.core.permissions import public
from lms.extensions import db, ping_database

# /healthz and /readyz: for load balancers, monitoring and the deploy scripts
bp = Blueprint("ops", __name__)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


def init_app(app: Flask, config: Config) -> None:
    if config.trusted_proxies > 0:
        n = config.trusted_proxies
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n
        )
    if config.redis_url and not config.testing:
        check_redis(config.redis_url)
    app.before_request(_request_id)
    app.after_request(_echo_request_id)
    if config.log_json:
        _json_logging(app)
    _unavailable_handlers(app)
    app.register_blueprint(bp)


# ----- Redis -------------------------------------------------------------------------------


def redis_client(url: str):
    return redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=5)


def check_redis(url: str) -> None:
    """Fail at start with one line when Redis cannot be reached."""

    try:
        redis_client(url).ping()
    except redis.RedisError as err:
        raise ConfigError(
            f"Redis at {_safe_url(url)} cannot be reached ({err}); check LMS_REDIS_URL "
            "and that redis-server is running."
        ) from None


def _safe_url(url: str) -> str:
    """The URL without a password, for messages and logs."""
    return re.sub(r"//([^:/@]*):[^@]*@", r"//\1:***@", url)


def readiness(config: Config) -> dict[str, str]:
    """'ok' or the problem, for each service a request may need."""

    checks: dict[str, str] = {}
    try:
        ping_database()
        checks["database"] = "ok"
    except Exception as err:  # any driver error means not ready
        db.session.rollback()
        checks["database"] = type(err).__name__
    if config.redis_url:
        try:
            redis_client(config.redis_url).ping()
            checks["redis"] = "ok"
        except Exception as err:
            checks["redis"] = type(err).__name__
    try:
        jobs.huey.pending_count()
        checks["jobs"] = "ok"
    except Exception as err:
        checks["jobs"] = type(err).__name__
    return checks


def _unavailable_errors() -> tuple[type[Exception], ...]:
    return (redis.ConnectionError, redis.TimeoutError, StorageError)


def _unavailable_handlers(app: Flask) -> None:
    def unavailable(err: Exception):
        db.session.rollback()
        app.logger.error("service unavailable: %s: %s", type(err).__name__, err)
        message = _(
            "A service Brigade needs is not reachable at the moment. "
            "Nothing was changed; try again in a minute."
        )
        return (
            render_template("errors/error.html", code=503, message=message),
            503,
            {"Retry-After": "30"},
        )

    for exc in _unavailable_errors():
        app.register_error_handler(exc, unavailable)


# ----- request ids and JSON logs ---------------------------------------------------------------


def _request_id() -> None:
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex


def _echo_request_id(response):
    rid = g.get("request_id")
    if rid:
        response.headers["X-Request-ID"] = rid
    return response


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, path, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            entry["request_id"] = g.get("request_id")
            entry["method"] = request.method
            entry["path"] = request.path
            entry["remote_addr"] = request.remote_addr
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _json_logging(app: Flask) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    app.logger.handlers[:] = [handler]
    app.logger.setLevel(logging.INFO)

    @app.after_request
    def access_log(response):
        app.logger.info(
            "%s %s %s", request.method, request.full_path.rstrip("?"), response.status_code
        )
        return response


# ----- health ------------------------------------------------------------------------------


@bp.route("/healthz")
@public
def healthz():
    """For load balancers and monitoring: the process answers (no database work)."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


@bp.route("/readyz")
@public
def readyz():
    """Ready to serve: the database, Redis (when configured) and the job queue answer.
    503 with the failing service named otherwise (no details beyond the error's type)."""
    checks = readiness(current_app.config["LMS_CONFIG"])
    ready = all(v == "ok" for v in checks.values())
    return (
        {"ready": ready, **checks},
        200 if ready else 503,
        {"Cache-Control": "no-store"},
    )
