"""Small portable SQL functions (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

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
