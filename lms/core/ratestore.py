"""Rate-limit counters in one SQLite file, shared by every web process on the machine.

Without Redis, flask-limiter's memory storage would count in each gunicorn worker separately
(four workers: four times the limit). This storage keeps the counters in a small SQLite file
(``brigade-sqlite:///path/to/ratelimit.db``); each increment is one ``BEGIN IMMEDIATE``
transaction, so concurrent workers never lose a count. Several machines need Redis
(``LMS_REDIS_URL``), which takes over automatically.

Only fixed-window counters are kept (the strategy Brigade uses).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from limits.storage import Storage

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS counters "
    "(key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires_at REAL NOT NULL)"
)


class SQLiteStorage(Storage):
    """A limits storage backed by an SQLite file (fixed window only)."""

    STORAGE_SCHEME = ["brigade-sqlite"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        path = uri.split("://", 1)[1]
        if path.startswith("/") and path[1:2] == "/":
            path = path[1:]
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        with self._conn() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        conn = self._conn()
        now = time.time()
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(
                "SELECT value, expires_at FROM counters WHERE key = ?", (key,)
            ).fetchone()
            if row is None or row[1] <= now:
                conn.execute("DELETE FROM counters WHERE expires_at <= ?", (now,))
                value = amount
                conn.execute(
                    "INSERT OR REPLACE INTO counters (key, value, expires_at) VALUES (?, ?, ?)",
                    (key, value, now + expiry),
                )
            else:
                value = row[0] + amount
                conn.execute("UPDATE counters SET value = ? WHERE key = ?", (value, key))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return int(value)

    def get(self, key: str) -> int:
        row = (
            self._conn()
            .execute(
                "SELECT value FROM counters WHERE key = ? AND expires_at > ?", (key, time.time())
            )
            .fetchone()
        )
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = (
            self._conn().execute("SELECT expires_at FROM counters WHERE key = ?", (key,)).fetchone()
        )
        return float(row[0]) if row and row[0] > time.time() else time.time()

    def check(self) -> bool:
        try:
            self._conn().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        conn = self._conn()
        return conn.execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._conn().execute("DELETE FROM counters WHERE key = ?", (key,))
