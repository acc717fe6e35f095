"""Every cell Brigade writes into a spreadsheet (CSV or XLSX) goes through ``cell()``.

A text that starts like a formula (``=``, ``+``, ``-``, ``@``, a tab or a line break, also after
leading spaces) is kept as text by a leading apostrophe, so a person named
``=HYPERLINK(...)`` is shown, never run (CSV/formula injection). Control characters that XML
cannot hold are dropped, so an odd name cannot break an XLSX file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# the characters XML 1.0 (and so XLSX) cannot hold; tab, line feed and carriage return stay
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_PLAIN = (bool, int, float, Decimal, date, datetime, time)

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def cell(value: Any) -> Any:
    """The value as a spreadsheet may safely hold it: numbers and dates unchanged, text that a
    spreadsheet would run as a formula kept as text, control characters removed."""
    if value is None or isinstance(value, _PLAIN):
        return value
    text = _CONTROL.sub("", str(value))
    if text.lstrip(" ").startswith(FORMULA_START):
        return "'" + text
    return text


def row(values: Iterable[Any]) -> list[Any]:
    return [cell(v) for v in values]


def csv_bytes(header: Sequence[Any], rows: Iterable[Iterable[Any]]) -> bytes:
    """UTF-8 with a byte-order mark (Excel then reads Latvian and Cyrillic letters)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(row(header))
    for values in rows:
        writer.writerow(row(values))
    return buf.getvalue().encode("utf-8-sig")


def append(ws: Any, values: Iterable[Any]) -> None:
    """Append one row to an openpyxl worksheet, every value through ``cell()``."""
    ws.append(row(values))
