"""Consistent backups and restores, each verified in the same command.

SQLite: the online backup API, so what is still in the write-ahead log is included (a plain
copy of ``lms.db`` can miss the newest entries). PostgreSQL: ``pg_dump`` (custom format) and
``pg_restore``. The copy is then opened and checked with ``ledger.verify`` against the
checkpoints, so a backup that misses the newest ledger entries is named at once.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import Session

from lms.core import ledger


class BackupError(Exception):
    """A backup or restore could not be made; the message says why."""


def _pg_tool(name: str) -> str:
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        path = os.path.join(bindir, name)
        if os.path.exists(path):
            return path
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (Debian package postgresql-client).")
    return found


def _pg_args(url: URL) -> tuple[list[str], dict[str, str]]:
    args = []
    if url.host:
        args += ["-h", url.host]
    if url.port:
        args += ["-p", str(url.port)]
    if url.username:
        args += ["-U", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _run(cmd: Sequence[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(list(cmd), env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed: {done.stderr.strip()[:800]}")


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("An in-memory database cannot be backed up.")
    return Path(url.database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy with SQLite's online backup API (consistent, WAL included)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _check_sqlite_file(path: Path) -> None:
    if not path.is_file():
        raise BackupError(f"{path} does not exist.")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = con.execute("PRAGMA integrity_check").fetchone()
            con.execute("SELECT count(*) FROM ledger").fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError as err:
        raise BackupError(f"{path} is damaged or not a Brigade backup: {err}") from err
    if not result or result[0] != "ok":
        raise BackupError(f"{path} is damaged: {result[0] if result else 'no answer'}")


def backup(engine: Engine, target: Path) -> None:
    """Write a consistent copy of the database to ``target``."""
    url = engine.url
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    tmp.unlink(missing_ok=True)
    if url.get_backend_name() == "sqlite":
        _sqlite_copy(_sqlite_path(url), tmp)
    elif url.get_backend_name() == "postgresql":
        args, env = _pg_args(url)
        _run(
            [_pg_tool("pg_dump"), *args, "-Fc", "--no-owner", "-f", str(tmp), url.database or ""],
            env,
        )
    else:
        raise BackupError(f"Backups of {url.get_backend_name()} are not supported.")
    tmp.replace(target)


def is_empty(engine: Engine) -> bool:
    """True when the database holds no people and no ledger (a fresh schema or nothing)."""
    names = set(sa.inspect(engine).get_table_names())
    with engine.connect() as conn:
        for table in ("ledger", "users"):
            if table in names and conn.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first():
                return False
    return True


def restore(engine: Engine, source: Path, force: bool = False) -> None:
    """Replace the database with the backup ``source``; refused onto a non-empty database
    unless ``force``."""
    url = engine.url
    if not source.is_file():
        raise BackupError(f"{source} does not exist.")
    if not force and not is_empty(engine):
        raise BackupError(
            "The database is not empty: restoring would replace what it holds. "
            "Use --force to replace it."
        )
    if url.get_backend_name() == "sqlite":
        _check_sqlite_file(source)
        engine.dispose()
        target = _sqlite_path(url)
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    elif url.get_backend_name() == "postgresql":
        args, env = _pg_args(url)
        _run([_pg_tool("pg_restore"), "--list", str(source)], env)  # readable at all?
        engine.dispose()
        with _admin(url).connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :d AND pid <> pg_backend_pid()"
                ),
                {"d": url.database},
            )
        _run(
            [
                _pg_tool("pg_restore"),
                *args,
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                "-d",
                url.database or "",
                str(source),
            ],
            env,
        )
    else:
        raise BackupError(f"Restores of {url.get_backend_name()} are not supported.")


def _admin(url: URL) -> Engine:
    return sa.create_engine(
        url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
    )


@contextmanager
def opened(url: URL, path: Path) -> Iterator[Session]:
    """A session on the backup at ``path`` (PostgreSQL: restored into a scratch database that
    is dropped afterwards)."""
    if url.get_backend_name() == "sqlite":
        _check_sqlite_file(path)
        with tempfile.TemporaryDirectory(prefix="brigade-verify-") as tmp:
            copy = Path(tmp) / "copy.db"  # read a copy: verifying never touches the backup
            shutil.copyfile(path, copy)
            engine = sa.create_engine(f"sqlite:///{copy}", poolclass=sa.pool.NullPool)
            try:
                with Session(engine) as session:
                    yield session
            finally:
                engine.dispose()
        return
    name = f"brigade_verify_{uuid.uuid4().hex[:12]}"
    admin = _admin(url)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        args, env = _pg_args(url)
        _run(
            [_pg_tool("pg_restore"), *args, "--no-owner", "--exit-on-error", "-d", name, str(path)],
            env,
        )
        engine = sa.create_engine(url.set(database=name), poolclass=sa.pool.NullPool)
        try:
            with Session(engine) as session:
                yield session
        finally:
            engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def verify_copy(
    url: URL, path: Path, anchors: Sequence[ledger.Anchor], echo: Callable[[str], object]
) -> ledger.Report:
    with opened(url, path) as session:
        report = ledger.verify(session, anchors=anchors)
    return report
