"""Migrations are code under test: upgrade head matches the models; every revision goes down."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from lms import create_app
from lms.config import Config
from lms.extensions import db


@pytest.fixture
def empty_database(database_url):
    if database_url.startswith("postgresql"):
        name = f"migr_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        url = database_url.rsplit("/", 1)[0] + "/" + name
        yield url
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()
    else:
        yield f"sqlite:///{Path(tempfile.mkdtemp()) / 'migr.db'}"


def test_upgrade_matches_models_and_downgrades(empty_database):
    app = create_app(
        Config(env="testing", secret_key="x", database_url=empty_database, testing=True)
    )
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        downgrade(revision="base")
        with db.engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
        assert tables == set()
        upgrade()
        db.engine.dispose()
