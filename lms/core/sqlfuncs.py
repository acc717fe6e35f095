"""Small portable SQL functions (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement


class add_months(FunctionElement[dt.date]):  # noqa: N801 - reads like SQL
    """date + N months (N an integer expression); NULL when either is NULL."""

    type = sa.Date()
    inherit_cache = True


@compiles(add_months)
def _add_months_default(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    day, months = list(element.clauses)
    return f"(CAST({compiler.process(day, **kw)} AS DATE) + make_interval(months => CAST({compiler.process(months, **kw)} AS INTEGER)))::date"


@compiles(add_months, "sqlite")
def _add_months_sqlite(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    day, months = list(element.clauses)
    return f"date({compiler.process(day, **kw)}, '+' || CAST({compiler.process(months, **kw)} AS INTEGER) || ' months')"


class to_date(FunctionElement[dt.date]):  # noqa: N801 - reads like SQL
    """The date part of a timestamp."""

    type = sa.Date()
    inherit_cache = True


@compiles(to_date)
def _to_date_default(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"CAST({compiler.process(value, **kw)} AS DATE)"


@compiles(to_date, "sqlite")
def _to_date_sqlite(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"date({compiler.process(value, **kw)})"


class local_date(FunctionElement[dt.date]):  # noqa: N801 - reads like SQL
    """The calendar date of a UTC timestamp in a time zone (the organisation's): the date a
    person there would write, not the UTC one (they differ for hours every night)."""

    type = sa.Date()
    inherit_cache = True


@compiles(local_date)
def _local_date_default(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    value, zone = list(element.clauses)
    return (
        f"CAST(timezone({compiler.process(zone, **kw)}, {compiler.process(value, **kw)}) AS DATE)"
    )


@compiles(local_date, "sqlite")
def _local_date_sqlite(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    value, zone = list(element.clauses)
    return f"{SQLITE_LOCAL_DATE}({compiler.process(value, **kw)}, {compiler.process(zone, **kw)})"


SQLITE_LOCAL_DATE = "brigade_local_date"


@lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def sqlite_local_date(stored: str | None, zone: str | None) -> str | None:
    """SQLite's side of local_date (registered on each connection): SQLite keeps UTC
    timestamps as naive text and has no time zone database."""
    if stored is None or zone is None:
        return None
    moment = dt.datetime.fromisoformat(stored).replace(tzinfo=dt.UTC)
    return moment.astimezone(_zone(zone)).date().isoformat()


@sa.event.listens_for(sa.engine.Engine, "connect")
def _register_sqlite_functions(dbapi_connection: Any, _record: Any) -> None:
    """Every SQLite connection of the process (the app's, a backup check's, a verifying
    worker's) gets the functions above."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function(
            SQLITE_LOCAL_DATE, 2, sqlite_local_date, deterministic=True
        )
