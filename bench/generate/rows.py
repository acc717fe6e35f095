"""Rows for bulk INSERTs, built from the models themselves.

``row(Model, **values)`` gives a complete row of the model's table: the values given, the
model's own column defaults for the rest (scalars and callables such as ``utcnow`` or a fresh
token), None for nullable columns. A name that is not a column, or a required column left
out, fails at once: when a model changes, the generator says so instead of writing rows that
no longer mirror it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import sqlalchemy as sa

_REQUIRED = object()


@cache
def _spec(table: sa.Table) -> tuple[tuple[str, Any, bool], ...]:
    """(column, default, callable?) for every column, in table order."""
    spec = []
    for col in table.c:
        default: Any = col.default
        if default is not None and getattr(default, "is_scalar", False):
            spec.append((col.key, default.arg, False))
        elif default is not None and getattr(default, "is_callable", False):
            spec.append((col.key, default.arg, True))
        elif col.nullable:
            spec.append((col.key, None, False))
        else:
            spec.append((col.key, _REQUIRED, False))
    return tuple(spec)


def table_of(model: Any) -> sa.Table:
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


def row(model: Any, **values: Any) -> dict[str, Any]:
    """A complete row of ``model``'s table from ``values`` and the model's defaults."""
    table = table_of(model)
    spec = _spec(table)
    unknown = set(values) - {key for key, _d, _c in spec}
    if unknown:
        raise KeyError(f"{table.name} has no column {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    for key, default, is_callable in spec:
        if key in values:
            out[key] = values[key]
        elif default is _REQUIRED:
            raise ValueError(f"{table.name}.{key} needs a value")
        else:
            out[key] = default(None) if is_callable else default
    return out
