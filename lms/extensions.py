"""Extension objects, created once and bound to the app in create_app()."""

import sqlalchemy as sa
from flask import Flask
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from lms.core import ratestore  # noqa: F401  (registers the brigade-sqlite:// storage)
from lms.core.model import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Counters live in Redis (LMS_REDIS_URL) or in a file shared by every worker
# (lms.core.ratestore), never in one process's memory: see Config.ratelimit_storage.
limiter = Limiter(key_func=get_remote_address, default_limits=[], strategy="fixed-window")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def configure_engine(app: Flask) -> None:
    """Per-dialect settings once the engine exists."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)


def ping_database() -> None:
    """One round trip to the database (readiness): raises the driver's error when it is away."""
    db.session.execute(sa.text("SELECT 1"))
