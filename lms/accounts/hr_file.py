"""The HR import file: its columns, reading a CSV or XLSX upload into rows, and the template.

What the rows mean (validation, the plan, applying it) is ``lms.accounts.hr``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

import openpyxl
from flask_babel import gettext as _

from lms.core.errors import DomainError

PEOPLE_COLUMNS: tuple[str, ...] = (
    "employee_number",
    "name",
    "patronymic",
    "email",
    "personal_code",
    "job_title",
    "department",
    "hire_date",
    "leaving_date",
    "manager",
    "worker_category",
    "hazardous_work",
)
REQUIRED_PEOPLE = ("employee_number", "name", "email")
ABSENCE_COLUMNS: tuple[str, ...] = ("employee_number", "starts_on", "ends_on", "kind")
MAX_ROWS = 50_000


@dataclass
class SheetRow:
    line: int
    values: dict[str, str]


@dataclass
class Sheets:
    people: list[SheetRow] = field(default_factory=list)
    people_sheet: str = ""
    absences: list[SheetRow] = field(default_factory=list)
    absences_sheet: str = ""


# ----- reading ---------------------------------------------------------------------------------


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _rows(header: list[str], body: Iterator[tuple[int, list[object]]]) -> list[SheetRow]:
    names = [h.strip().lower().replace(" ", "_") for h in header]
    out = []
    for line, cells in body:
        values = {n: _cell(cells[i]) if i < len(cells) else "" for i, n in enumerate(names) if n}
        if any(values.values()):
            out.append(SheetRow(line, values))
        if len(out) > MAX_ROWS:
            raise DomainError(_("The file has more than %(n)d rows.", n=MAX_ROWS))
    return out


def _kind_of(header: list[str]) -> str:
    cols = {h.strip().lower().replace(" ", "_") for h in header}
    return "absences" if "starts_on" in cols else "people"


def read_file(data: bytes, filename: str) -> Sheets:
    """CSV (UTF-8, comma or semicolon) or XLSX by content: sheets 'people' and 'absences'."""
    sheets = Sheets()
    if data[:4] == b"PK\x03\x04":
        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as err:  # openpyxl raises many kinds for a broken file
            raise DomainError(_("The file is not a readable XLSX workbook.")) from err
        for ws in book.worksheets:
            it = ws.iter_rows(values_only=True)
            first = next(it, None)
            if not first:
                continue
            header = [_cell(h) for h in first]
            rows = _rows(header, ((i, list(r)) for i, r in enumerate(it, start=2)))
            if _kind_of(header) == "absences":
                sheets.absences, sheets.absences_sheet = rows, ws.title
            else:
                sheets.people, sheets.people_sheet = rows, ws.title
        book.close()
        return sheets
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DomainError(_("A CSV file must be encoded in UTF-8.")) from err
    if "\x00" in text:
        raise DomainError(_("The file is neither CSV nor XLSX."))
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        first_row: list[str] | None = next(reader, None)
        if not first_row:
            raise DomainError(_("The file is empty."))
        rows = _rows(first_row, ((reader.line_num, list(r)) for r in reader))
    except csv.Error as err:
        raise DomainError(_("The file is neither CSV nor XLSX.")) from err
    if _kind_of(first_row) == "absences":
        sheets.absences = rows
    else:
        sheets.people = rows
    return sheets


def template_xlsx() -> bytes:
    """An example workbook with both sheets and one sample row each."""

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "people"
    ws.append(list(PEOPLE_COLUMNS))
    ws.append(
        [
            "E0001",
            "Anna Bērziņa",
            "",
            "anna.berzina@example.com",
            "320000-00001",
            "Welder",
            "PLANT / Workshop 1",
            "2024-01-08",
            "",
            "E0002",
            "employee",
            "yes",
        ]
    )
    ab = book.create_sheet("absences")
    ab.append(list(ABSENCE_COLUMNS))
    ab.append(["E0001", "2025-06-01", "2025-08-15", "leave"])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
