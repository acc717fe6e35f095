"""Request helpers: safe redirects, integer arguments bounded to the database's range."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import request, url_for
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

from lms.core.errors import DomainError

# Every id and every stored number is an INTEGER column: 32 bits on PostgreSQL (SQLite takes
# 64). A number outside this range cannot name a row, and would overflow the driver.
DB_INT_MIN = -(2**31)
DB_INT_MAX = 2**31 - 1


class DatabaseIntConverter(IntegerConverter):
    """``<int:...>`` in every route: digits that fit an INTEGER column, else 404 (no such row).

    Registered as the app's ``int`` converter, so no route can forget it.
    """

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", DB_INT_MAX)
        super().__init__(map, *args, **kwargs)
        if self.max is None or self.max > DB_INT_MAX:
            self.max = DB_INT_MAX


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this site: no scheme, no host, no protocol-relative '//'."""
    if not target:
        return default
    target = target.strip().replace("\\", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if any(ord(c) < 32 for c in target):
        return default
    return target


def int_arg(
    name: str,
    default: int | None = None,
    *,
    form: bool = False,
    low: int = DB_INT_MIN,
    high: int = DB_INT_MAX,
) -> int | None:
    """A whole number from the query string (or the form): text that is no number gives
    ``default``; a number outside ``low..high`` (by default the database's range) is a 400
    with a message that names the argument."""
    source = request.form if form else request.args
    value = source.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value, 10)
    except ValueError:
        return default
    if not (low <= number <= high):
        raise DomainError(
            _(
                "The value of “%(name)s” must be a whole number from %(min)d to %(max)d.",
                name=name,
                min=low,
                max=high,
            ),
            field=name,
        )
    return number


def id_arg(name: str, *, form: bool = False) -> int | None:
    """An optional id from the query string (or the form): None when absent or not a number,
    400 when out of range."""
    return int_arg(name, None, form=form, low=0)


def page_arg() -> int:
    """The page number of a list: 1 when absent, 400 beyond any list we could hold."""
    return max(1, int_arg("page", 1, high=DB_INT_MAX // 1000) or 1)


def id_links(endpoint: str, name: str, **values: Any) -> Callable[[int], str]:
    """``url_for(endpoint, name=<id>, **values)`` for many ids, built once: a page of rows
    links each row without asking the URL map again (``url_for`` costs about 0.1 ms)."""
    mark = str(DB_INT_MAX)
    args: dict[str, Any] = {**values, name: DB_INT_MAX}
    head, tail = url_for(endpoint, **args).split(mark, 1)

    def link(value: int) -> str:
        return f"{head}{int(value)}{tail}"

    return link
