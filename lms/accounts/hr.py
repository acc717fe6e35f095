"""HR import: people, absences and transfers from a CSV or XLSX file, keyed on employee number.

``plan_import`` reads the file and works out, without writing, who is added, changed, moved and
leaving, with each change per field; ``apply_import`` does the same and writes it in the caller's
transaction. Any error (row:column and reason) means nothing is applied. The same file twice
changes nothing. People who leave are deactivated, never deleted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import gettext as _

from lms.accounts import people, services
from lms.accounts.models import Department, User, UserRole
from lms.accounts.people import (
    ABSENCE_KINDS,
    WORKER_CATEGORIES,
    Absence,
    HrImport,
    Transfer,
    mask_personal_code,
    normalise_personal_code,
)
from lms.core import audit
from lms.core.errors import Conflict, DomainError
from lms.core.model import utcnow

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
# Fields compared between the file and the database, in the order a change list shows them.
COMPARED = (
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
MAX_ROWS = 50_000
_TRUE = {"1", "yes", "true", "y", "jā", "ja", "да", "x"}
_FALSE = {"", "0", "no", "false", "n", "nē", "ne", "нет"}
UNUSABLE_PASSWORD = "!"  # no hash matches: the person signs in through the directory or a reset


class ImportRefused(DomainError):
    """The file has errors; nothing was applied."""

    def __init__(self, errors: list[RowError]):
        super().__init__(_("The file has errors; nothing was imported."))
        self.errors = errors


@dataclass(frozen=True)
class RowError:
    sheet: str
    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.sheet} " if self.sheet else ""
        return f"{where}{self.row}:{self.column}: {self.reason}"


@dataclass
class PersonChange:
    employee_number: str
    name: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # field, old, new


@dataclass
class ImportReport:
    added: list[PersonChange] = field(default_factory=list)
    changed: list[PersonChange] = field(default_factory=list)
    moved: list[PersonChange] = field(default_factory=list)
    leaving: list[PersonChange] = field(default_factory=list)
    absences_added: int = 0
    absences_changed: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    applied: bool = False

    @property
    def has_changes(self) -> bool:
        return bool(
            self.added
            or self.changed
            or self.moved
            or self.leaving
            or self.absences_added
            or self.absences_changed
        )

    def summary(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "changed": len(self.changed),
            "moved": len(self.moved),
            "leaving": len(self.leaving),
            "absences_added": self.absences_added,
            "absences_changed": self.absences_changed,
            "unchanged": self.unchanged,
        }


@dataclass
class _Row:
    line: int
    values: dict[str, str]


@dataclass
class _Sheets:
    people: list[_Row] = field(default_factory=list)
    people_sheet: str = ""
    absences: list[_Row] = field(default_factory=list)
    absences_sheet: str = ""


def _today() -> date:
    zone = "Europe/Riga"
    if has_app_context():
        zone = current_app.config["LMS_CONFIG"].timezone
    return utcnow().astimezone(ZoneInfo(zone)).date()


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


def _rows(header: list[str], body: Iterator[tuple[int, list[object]]]) -> list[_Row]:
    names = [h.strip().lower().replace(" ", "_") for h in header]
    out = []
    for line, cells in body:
        values = {n: _cell(cells[i]) if i < len(cells) else "" for i, n in enumerate(names) if n}
        if any(values.values()):
            out.append(_Row(line, values))
        if len(out) > MAX_ROWS:
            raise DomainError(_("The file has more than %(n)d rows.", n=MAX_ROWS))
    return out


def _kind_of(header: list[str]) -> str:
    cols = {h.strip().lower().replace(" ", "_") for h in header}
    return "absences" if "starts_on" in cols else "people"


def read_file(data: bytes, filename: str) -> _Sheets:
    """CSV (UTF-8, comma or semicolon) or XLSX by content: sheets 'people' and 'absences'."""
    sheets = _Sheets()
    if data[:4] == b"PK\x03\x04":
        import openpyxl

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
    import openpyxl

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


# ----- validating and planning ----------------------------------------------------------------


def _department_index(session) -> dict[str, int]:
    """Each department by code and by its path of names ("Plant / Workshop 1"), lower-case."""
    rows = session.execute(
        sa.select(Department.id, Department.name, Department.code, Department.parent_id)
    ).all()
    by_id = {r.id: r for r in rows}
    index: dict[str, int] = {}

    def path(did: int) -> str:
        parts, cur, seen = [], by_id.get(did), set()
        while cur is not None and cur.id not in seen:
            seen.add(cur.id)
            parts.append(cur.name.strip())
            cur = by_id.get(cur.parent_id) if cur.parent_id else None
        return " / ".join(reversed(parts))

    for r in rows:
        index[r.code.lower()] = r.id
        index[path(r.id).lower()] = r.id
    for r in rows:  # a plain name when it is unique
        index.setdefault(r.name.strip().lower(), r.id)
    return index


def _norm_path(value: str) -> str:
    return " / ".join(p.strip() for p in value.split("/")).lower()


def _parse_date(value: str) -> date | None:
    if not value:
        return None
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(value[:10], fmt).date()
        except ValueError:
            continue
    raise ValueError(value)


@dataclass
class _Person:
    line: int
    employee_number: str
    name: str
    patronymic: str
    email: str
    personal_code: str | None
    job_title: str
    department_id: int | None
    hire_date: date | None
    leaving_date: date | None
    manager: str
    worker_category: str
    hazardous_work: bool


def _validate_people(session, sheets: _Sheets, errors: list[RowError]) -> list[_Person]:
    sheet = sheets.people_sheet
    depts = _department_index(session)
    people: list[_Person] = []
    seen_numbers: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    if sheets.people:
        missing = [c for c in REQUIRED_PEOPLE if c not in sheets.people[0].values]
        if missing:
            errors.append(RowError(sheet, 1, ", ".join(missing), _("Required column is missing.")))
            return []
    for row in sheets.people:
        v = row.values

        def err(column: str, reason: str, row: _Row = row) -> None:
            errors.append(RowError(sheet, row.line, column, reason))

        number = v.get("employee_number", "")
        if not number:
            err("employee_number", _("An employee number is required."))
        elif number in seen_numbers:
            err(
                "employee_number",
                _("Duplicate employee number (also on row %(row)d).", row=seen_numbers[number]),
            )
        else:
            seen_numbers[number] = row.line
        name = v.get("name", "")
        if not name:
            err("name", _("A name is required."))
        email = v.get("email", "").lower()
        if "@" not in email or "." not in email.split("@")[-1] or " " in email:
            err("email", _("Enter a valid e-mail address."))
        elif email in seen_emails:
            err(
                "email",
                _("Duplicate e-mail address (also on row %(row)d).", row=seen_emails[email]),
            )
        else:
            seen_emails[email] = row.line
        code = None
        try:
            code = normalise_personal_code(v.get("personal_code"))
        except DomainError as e:
            err("personal_code", e.message)
        dept_id = None
        dept = v.get("department", "")
        if dept:
            dept_id = depts.get(dept.lower()) or depts.get(_norm_path(dept))
            if dept_id is None:
                err("department", _("Unknown department: %(name)s", name=dept))
        dates: dict[str, date | None] = {}
        for col in ("hire_date", "leaving_date"):
            try:
                dates[col] = _parse_date(v.get(col, ""))
            except ValueError:
                err(col, _("Not a date (use YYYY-MM-DD)."))
                dates[col] = None
        if (
            dates["hire_date"]
            and dates["leaving_date"]
            and dates["leaving_date"] < dates["hire_date"]
        ):
            err("leaving_date", _("The leaving date is before the hire date."))
        category = v.get("worker_category", "").lower() or "employee"
        if category not in WORKER_CATEGORIES:
            err(
                "worker_category",
                _(
                    "Unknown worker category; use one of: %(list)s",
                    list=", ".join(WORKER_CATEGORIES),
                ),
            )
        flag = v.get("hazardous_work", "").lower()
        if flag not in _TRUE and flag not in _FALSE:
            err("hazardous_work", _("Use yes or no."))
        people.append(
            _Person(
                line=row.line,
                employee_number=number,
                name=name,
                patronymic=v.get("patronymic", ""),
                email=email,
                personal_code=code,
                job_title=v.get("job_title", ""),
                department_id=dept_id,
                hire_date=dates["hire_date"],
                leaving_date=dates["leaving_date"],
                manager=v.get("manager", ""),
                worker_category=category,
                hazardous_work=flag in _TRUE,
            )
        )
    return people


def _display(field_name: str, value: object, dept_names: dict[int, str]) -> str:
    if value is None or value == "":
        return ""
    if field_name == "department":
        return dept_names.get(value, str(value)) if isinstance(value, int) else str(value)
    if field_name == "personal_code":
        return mask_personal_code(str(value))
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _run(session, data: bytes, filename: str, *, apply: bool, actor_id: int | None) -> ImportReport:
    sheets = read_file(data, filename)
    report = ImportReport()
    errors = report.errors
    if not sheets.people and not sheets.absences:
        errors.append(RowError("", 1, "", _("The file has no rows.")))
        return report
    people = _validate_people(session, sheets, errors)

    users = session.execute(sa.select(User)).scalars().all()
    by_number = {u.employee_number: u for u in users if u.employee_number}
    by_email = {u.email.lower(): u for u in users}
    file_numbers = {p.employee_number for p in people}
    for p in people:
        other = by_email.get(p.email)
        mine = by_number.get(p.employee_number)
        if other is not None and (
            (mine is not None and other is not mine)
            or (mine is None and other.employee_number not in (None, p.employee_number))
        ):
            errors.append(
                RowError(
                    sheets.people_sheet,
                    p.line,
                    "email",
                    _("This e-mail address belongs to another employee number."),
                )
            )
    known_numbers = set(by_number) | file_numbers
    for p in people:
        if p.manager and p.manager not in known_numbers:
            errors.append(
                RowError(
                    sheets.people_sheet,
                    p.line,
                    "manager",
                    _("Unknown employee number of the manager."),
                )
            )

    # absences
    absence_rows: list[tuple[str, date, date | None, str]] = []
    for row in sheets.absences:
        v = row.values
        sheet = sheets.absences_sheet
        number = v.get("employee_number", "")
        if number not in known_numbers:
            errors.append(
                RowError(sheet, row.line, "employee_number", _("Unknown employee number."))
            )
        try:
            starts = _parse_date(v.get("starts_on", ""))
            ends = _parse_date(v.get("ends_on", ""))
        except ValueError:
            errors.append(RowError(sheet, row.line, "starts_on", _("Not a date (use YYYY-MM-DD).")))
            continue
        if starts is None:
            errors.append(RowError(sheet, row.line, "starts_on", _("A start date is required.")))
            continue
        if ends is not None and ends < starts:
            errors.append(
                RowError(sheet, row.line, "ends_on", _("An absence cannot end before it starts."))
            )
        kind = v.get("kind", "").lower() or "leave"
        if kind not in ABSENCE_KINDS:
            errors.append(
                RowError(
                    sheet,
                    row.line,
                    "kind",
                    _("Unknown kind; use one of: %(list)s", list=", ".join(ABSENCE_KINDS)),
                )
            )
        absence_rows.append((number, starts, ends, kind))
    if errors:
        if apply:
            raise ImportRefused(errors)
        return report

    dept_names = dict(session.execute(sa.select(Department.id, Department.name)).all())
    today = _today()
    numbers_by_id = {u.id: u.employee_number for u in users}
    pending_managers: list[tuple[User, str]] = []
    new_users: list[User] = []
    touched: list[User] = []  # existing people changed by this file

    for p in people:
        user = by_number.get(p.employee_number) or by_email.get(p.email)
        leaves = p.leaving_date is not None and p.leaving_date <= today
        wanted: dict[str, object] = {
            "name": p.name,
            "patronymic": p.patronymic,
            "email": p.email,
            "personal_code": p.personal_code,
            "job_title": p.job_title,
            "department": p.department_id,
            "hire_date": p.hire_date,
            "leaving_date": p.leaving_date,
            "manager": p.manager or None,
            "worker_category": p.worker_category,
            "hazardous_work": p.hazardous_work,
        }
        if user is None:
            change = PersonChange(p.employee_number, p.name)
            change.changes = [
                (f, "", _display(f, wanted[f], dept_names))
                for f in COMPARED
                if wanted[f] not in (None, "", False)
            ]
            (report.leaving if leaves else report.added).append(change)
            if apply:
                user = User(
                    email=p.email,
                    name=p.name,
                    password_hash=UNUSABLE_PASSWORD,
                    employee_number=p.employee_number,
                    active=not leaves,
                    auth_source="hr",
                )
                user.role_rows = [UserRole(role="employee")]
                _assign(user, p)
                session.add(user)
                new_users.append(user)
                if p.manager:
                    pending_managers.append((user, p.manager))
            continue
        current: dict[str, object] = {
            "name": user.name,
            "patronymic": user.patronymic,
            "email": user.email.lower(),
            "personal_code": user.personal_code,
            "job_title": user.job_title,
            "department": user.department_id,
            "hire_date": user.start_date,
            "leaving_date": user.leaving_date,
            "manager": numbers_by_id.get(user.manager_id) if user.manager_id else None,
            "worker_category": user.worker_category,
            "hazardous_work": user.hazardous_work,
        }
        diffs = [
            (f, _display(f, current[f], dept_names), _display(f, wanted[f], dept_names))
            for f in COMPARED
            if (current[f] or None) != (wanted[f] or None)
        ]
        if user.employee_number != p.employee_number:
            diffs.insert(0, ("employee_number", user.employee_number or "", p.employee_number))
        now_leaving = leaves and user.active
        if not diffs and not now_leaving:
            report.unchanged += 1
            continue
        change = PersonChange(p.employee_number, p.name, diffs)
        moved = (
            current["department"] != wanted["department"]
            or current["job_title"] != wanted["job_title"]
        )
        if now_leaving:
            report.leaving.append(change)
        elif moved:
            report.moved.append(change)
        else:
            report.changed.append(change)
        if apply:
            if moved:
                session.add(
                    Transfer(
                        user_id=user.id,
                        effective_on=today,
                        from_department_id=user.department_id,
                        to_department_id=p.department_id,
                        from_job_title=user.job_title,
                        to_job_title=p.job_title,
                        source="hr",
                    )
                )
            user.employee_number = p.employee_number
            _assign(user, p)
            touched.append(user)
            if now_leaving:
                user.active = False
                user.session_version += 1
            elif not leaves and not user.active and current["leaving_date"] and not p.leaving_date:
                user.active = True  # re-hired: the leaving date was withdrawn
            if current["manager"] != wanted["manager"]:
                pending_managers.append((user, p.manager))
            audit.record(
                session,
                actor_id,
                "hr_import",
                "user",
                user.id,
                user.name,
                changed={f: [o, n] for f, o, n in diffs if f != "personal_code"},
            )

    if apply:
        session.flush()
        ids = {u.employee_number: u.id for u in session.execute(sa.select(User)).scalars()}
        for user, manager in pending_managers:
            user.manager_id = ids.get(manager) if manager else None
        if new_users:
            audit.record(
                session,
                actor_id,
                "hr_import",
                "user",
                "*",
                _("%(n)d people added by HR import", n=len(new_users)),
                employee_numbers=[u.employee_number for u in new_users][:1000],
            )
    _plan_absences(session, absence_rows, report, apply=apply)
    if apply:
        session.flush()
        # the stored status of everyone added, moved, leaving or back follows in this transaction
        services.people_changed(session, touched + new_users)
        report.applied = True
    return report


def _assign(user: User, p: _Person) -> None:
    user.name = p.name
    user.patronymic = p.patronymic
    user.email = p.email
    user.personal_code = p.personal_code
    user.job_title = p.job_title
    user.department_id = p.department_id
    user.start_date = p.hire_date
    user.leaving_date = p.leaving_date
    user.worker_category = p.worker_category
    user.hazardous_work = p.hazardous_work


def _plan_absences(
    session, rows: list[tuple[str, date, date | None, str]], report: ImportReport, *, apply: bool
) -> None:
    if not rows:
        return
    ids = dict(
        session.execute(
            sa.select(User.employee_number, User.id).where(User.employee_number.is_not(None))
        ).all()
    )
    existing = {(a.user_id, a.starts_on): a for a in session.execute(sa.select(Absence)).scalars()}
    for number, starts, ends, kind in rows:
        uid = ids.get(number)
        row = existing.get((uid, starts)) if uid is not None else None
        if row is None:
            report.absences_added += 1
            if apply and uid is not None:
                new = Absence(user_id=uid, starts_on=starts, ends_on=ends, kind=kind, source="hr")
                session.add(new)
                existing[(uid, starts)] = new
                people.absence_recorded(session, new)
        elif row.ends_on != ends or row.kind != kind:
            report.absences_changed += 1
            if apply:
                row.ends_on, row.kind = ends, kind
                people.absence_recorded(session, row)


def plan_import(session, data: bytes, filename: str = "") -> ImportReport:
    """The dry run: what the file would change. Writes nothing."""
    with session.no_autoflush:
        return _run(session, data, filename, apply=False, actor_id=None)


def apply_import(
    session, data: bytes, filename: str = "", *, actor_id: int | None = None
) -> ImportReport:
    """Apply the file in the caller's transaction; ImportRefused (nothing written) on errors."""
    return _run(session, data, filename, apply=True, actor_id=actor_id)


def sync_person(
    session,
    employee_number: str,
    *,
    name: str,
    email: str,
    patronymic: str = "",
    personal_code: str | None = None,
    job_title: str = "",
    department_id: int | None = None,
    manager_employee_number: str | None = None,
    hire_date: date | None = None,
    leaving_date: date | None = None,
    worker_category: str = "employee",
    hazardous_work: bool = False,
    actor_id: int | None = None,
) -> User:
    """HR sync of one person (the API): create or update by employee number, with the same
    rules as the file import (transfers kept, leavers deactivated)."""
    number = employee_number.strip()
    if not number or len(number) > 40:
        raise DomainError(_("An employee number is required."), field="employee_number")
    code = normalise_personal_code(personal_code)
    email = email.strip().lower()
    if department_id is not None and session.get(Department, department_id) is None:
        raise DomainError(_("Unknown department."), field="department_id")
    if hire_date and leaving_date and leaving_date < hire_date:
        raise DomainError(_("The leaving date is before the hire date."), field="leaving_date")
    if worker_category not in WORKER_CATEGORIES:
        raise DomainError(_("Unknown worker category."), field="worker_category")
    manager_id = None
    if manager_employee_number:
        manager_id = session.scalar(
            sa.select(User.id).where(User.employee_number == manager_employee_number)
        )
        if manager_id is None:
            raise DomainError(
                _("Unknown employee number of the manager."), field="manager_employee_number"
            )
    user = session.scalar(sa.select(User).where(User.employee_number == number))
    clash = session.scalar(sa.select(User).where(sa.func.lower(User.email) == email))
    if clash is not None and clash is not user:
        raise Conflict(_("A person with this e-mail address already exists."), field="email")
    p = _Person(
        line=0,
        employee_number=number,
        name=name.strip(),
        patronymic=patronymic.strip(),
        email=email,
        personal_code=code,
        job_title=job_title.strip(),
        department_id=department_id,
        hire_date=hire_date,
        leaving_date=leaving_date,
        manager=manager_employee_number or "",
        worker_category=worker_category,
        hazardous_work=hazardous_work,
    )
    today = _today()
    if user is None:
        user = User(email=email, name=p.name, password_hash=UNUSABLE_PASSWORD, auth_source="hr")
        user.employee_number = number
        user.role_rows = [UserRole(role="employee")]
        session.add(user)
        _assign(user, p)
        session.flush()
        audit.record(session, actor_id, "create", "user", user.id, user.name, source="api")
    else:
        if user.department_id != department_id or user.job_title != p.job_title:
            session.add(
                Transfer(
                    user_id=user.id,
                    effective_on=today,
                    from_department_id=user.department_id,
                    to_department_id=department_id,
                    from_job_title=user.job_title,
                    to_job_title=p.job_title,
                    source="api",
                )
            )
        _assign(user, p)
        audit.record(session, actor_id, "hr_sync", "user", user.id, user.name, source="api")
    user.manager_id = manager_id
    if leaving_date is not None and leaving_date <= today and user.active:
        user.active = False
        user.session_version += 1
    session.flush()
    services.people_changed(session, [user])
    return user


# ----- the admin page's flow: upload + dry run, then apply as a background job ---------------

REPORT_LIMIT = 500  # people listed per category on the page; the counts are always complete


def _report_dict(report: ImportReport) -> dict:
    def people(items: list[PersonChange]) -> list[dict]:
        return [
            {"employee_number": c.employee_number, "name": c.name, "changes": c.changes}
            for c in items[:REPORT_LIMIT]
        ]

    return {
        "summary": report.summary(),
        "added": people(report.added),
        "changed": people(report.changed),
        "moved": people(report.moved),
        "leaving": people(report.leaving),
    }


def upload(
    session, data: bytes, filename: str, actor_id: int | None
) -> tuple[HrImport, ImportReport]:
    """Keep the file and its dry-run report. Errors leave nothing stored."""
    import hashlib

    report = plan_import(session, data, filename)
    if report.errors:
        return HrImport(filename=filename, status="refused"), report
    row = HrImport(
        filename=(filename or "hr-file")[:200],
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        uploaded_by_id=actor_id,
        status="planned",
        report=_report_dict(report),
    )
    session.add(row)
    session.flush()
    return row, report


def queue_apply(session, row: HrImport) -> None:
    if row.status != "planned":
        raise DomainError(_("This file has already been applied or is being applied."))
    row.status = "queued"
    session.flush()


def run_apply(session, import_id: int) -> None:
    """The job: apply the stored file in one transaction and record the outcome."""
    row = session.get(HrImport, import_id)
    if row is None or row.status != "queued":
        return
    row.status = "running"
    session.commit()
    try:
        report = apply_import(session, row.data, row.filename, actor_id=row.uploaded_by_id)
    except DomainError as err:
        session.rollback()
        row = session.get(HrImport, import_id)
        row.status = "failed"
        errors = getattr(err, "errors", [])
        row.error = "\n".join(str(e) for e in errors[:200]) or err.message
        session.commit()
        return
    row.status = "applied"
    row.applied_at = utcnow()
    row.report = {**row.report, "applied": report.summary()}
    session.commit()


def recent_imports(session, limit: int = 20) -> list[HrImport]:
    return list(session.scalars(sa.select(HrImport).order_by(HrImport.id.desc()).limit(limit)))


def sync_department(
    session, code: str, *, name: str, parent_id: int | None, actor_id: int | None
) -> Department:
    """HR sync of one department by its code: created, or renamed and moved (idempotent)."""
    code = code.strip().upper()
    dept = session.scalar(sa.select(Department).where(Department.code == code))
    if dept is None:
        return services.create_department(
            session, name=name, code=code, parent_id=parent_id, actor_id=actor_id
        )
    if parent_id is not None and session.get(Department, parent_id) is None:
        raise DomainError(_("Unknown parent department."), field="parent_id")
    return services.update_department(
        session,
        dept,
        name=name,
        code=code,
        parent_id=parent_id,
        manager_id=dept.manager_id,
        actor_id=actor_id,
    )
