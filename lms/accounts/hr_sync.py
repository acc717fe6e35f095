"""HR sync through the API: one person, or one department, created or brought up to date.

The same rules as the file import (``lms.accounts.hr``), one record at a time; idempotent.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.accounts import services
from lms.accounts.hr import UNUSABLE_PASSWORD, FilePerson, assign_fields, org_today
from lms.accounts.hr_file import ABSENCE_COLUMNS as ABSENCE_COLUMNS
from lms.accounts.hr_file import MAX_ROWS as MAX_ROWS
from lms.accounts.hr_file import PEOPLE_COLUMNS as PEOPLE_COLUMNS
from lms.accounts.hr_file import REQUIRED_PEOPLE as REQUIRED_PEOPLE
from lms.accounts.hr_file import read_file as read_file
from lms.accounts.hr_file import template_xlsx as template_xlsx
from lms.accounts.models import Department, User, UserRole
from lms.accounts.people import (
    WORKER_CATEGORIES,
    Transfer,
    normalise_personal_code,
    transfer_recorded,
)
from lms.core import audit
from lms.core.errors import Conflict, DomainError


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
    p = FilePerson(
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
    today = org_today()
    move: Transfer | None = None
    if user is None:
        user = User(email=email, name=p.name, password_hash=UNUSABLE_PASSWORD, auth_source="hr")
        user.employee_number = number
        user.role_rows = [UserRole(role="employee")]
        session.add(user)
        assign_fields(user, p)
        session.flush()
        audit.record(session, actor_id, "create", "user", user.id, user.name, source="api")
    else:
        if user.department_id != department_id or user.job_title != p.job_title:
            move = Transfer(
                user_id=user.id,
                effective_on=today,
                from_department_id=user.department_id,
                to_department_id=department_id,
                from_job_title=user.job_title,
                to_job_title=p.job_title,
                source="api",
            )
            session.add(move)
        assign_fields(user, p)
        audit.record(session, actor_id, "hr_sync", "user", user.id, user.name, source="api")
    user.manager_id = manager_id
    if leaving_date is not None and leaving_date <= today and user.active:
        user.active = False
        user.session_version += 1
    session.flush()
    services.people_changed(session, [user])
    if move is not None:  # a transfer may make a briefing due (after the status follows)
        transfer_recorded(session, move)
    return user


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
