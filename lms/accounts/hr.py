"""HR import: people, absences and transfers from a CSV or XLSX file, keyed on employee number.

``plan_import`` reads the file and works out, without writing, who is added, changed, moved and
leaving, with each change per field; ``apply_import`` does the same and writes it in the caller's
transaction. Any error (row:column and reason) means nothing is applied. The same file twice
changes nothing. People who leave are deactivated, never deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import gettext as _

from lms.accounts import people, services
from lms.accounts.hr_file import ABSENCE_COLUMNS as ABSENCE_COLUMNS
from lms.accounts.hr_file import MAX_ROWS as MAX_ROWS
from lms.accounts.hr_file import PEOPLE_COLUMNS as PEOPLE_COLUMNS
from lms.accounts.hr_file import REQUIRED_PEOPLE as REQUIRED_PEOPLE
from lms.accounts.hr_file import SheetRow, Sheets
from lms.accounts.hr_file import read_file as read_file
from lms.accounts.hr_file import template_xlsx as template_xlsx
from lms.accounts.models import Department, User, UserRole
from lms.accounts.people import (
    ABSENCE_KINDS,
    WORKER_CATEGORIES,
    Absence,
    Transfer,
    mask_personal_code,
    normalise_personal_code,
    transfer_recorded,
)
from lms.core import audit, texts
from lms.core.errors import DomainError
from lms.core.model import utcnow

# Fields compared between the file and the database, in the order a change list shows them:
# every column of the file but the employee number, which finds the person.
COMPARED = tuple(c for c in PEOPLE_COLUMNS if c != "employee_number")
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


def org_today() -> date:
    zone = "Europe/Riga"
    if has_app_context():
        zone = current_app.config["LMS_CONFIG"].timezone
    return utcnow().astimezone(ZoneInfo(zone)).date()


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
class FilePerson:
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


def _validate_people(session, sheets: Sheets, errors: list[RowError]) -> list[FilePerson]:
    sheet = sheets.people_sheet
    depts = _department_index(session)
    people: list[FilePerson] = []
    seen_numbers: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    if sheets.people:
        missing = [c for c in REQUIRED_PEOPLE if c not in sheets.people[0].values]
        if missing:
            errors.append(RowError(sheet, 1, ", ".join(missing), _("Required column is missing.")))
            return []
    for row in sheets.people:
        v = row.values

        def err(column: str, reason: str, row: SheetRow = row) -> None:
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
            FilePerson(
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
    today = org_today()
    numbers_by_id = {u.id: u.employee_number for u in users}
    pending_managers: list[tuple[User, str]] = []
    new_users: list[User] = []
    touched: list[User] = []  # existing people changed by this file
    moves: list[Transfer] = []  # recorded after the statuses follow the file

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
                assign_fields(user, p)
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
                moves.append(
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
            assign_fields(user, p)
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
                texts.stored("accounts.hr_import_added", n=len(new_users)),
                employee_numbers=[u.employee_number for u in new_users][:1000],
            )
    _plan_absences(session, absence_rows, report, apply=apply)
    if apply:
        session.flush()
        # the stored status of everyone added, moved, leaving or back follows in this transaction
        services.people_changed(session, touched + new_users)
        for move in moves:  # kept as history; each may make a briefing due
            session.add(move)
            transfer_recorded(session, move)
        report.applied = True
    return report


def assign_fields(user: User, p: FilePerson) -> None:
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
