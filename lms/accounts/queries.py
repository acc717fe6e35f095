"""Reads for the accounts pages: loaders and form choices."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.accounts import people
from lms.accounts.models import Department, User, in_locale
from lms.accounts.services import search_users
from lms.core.errors import NotFound
from lms.core.model import DbSession


def get_user(session: DbSession, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("There is no such page."))  # as a plain 404 says it
    return user


def get_department(session: DbSession, dept_id: int) -> Department:
    dept = session.get(Department, dept_id)
    if dept is None:
        raise NotFound(_("There is no such page."))  # as a plain 404 says it
    return dept


def manager_choices(session: DbSession) -> list[tuple[int, str]]:
    """(id, name) of the active managers."""
    return [
        (u.id, u.name) for u in session.scalars(search_users(session, role="manager", active=True))
    ]


def department_id_by_code(session: DbSession, code: str) -> int | None:
    """The id of the department with this code (codes are kept in capitals), or None."""
    found: int | None = session.execute(
        sa.select(Department.id).where(Department.code == code.upper())
    ).scalar()
    return found


def hr_record(session: DbSession, user_id: int) -> dict[str, Any]:
    """What the person page shows of the HR history: absences and transfers (newest first),
    with department names."""
    names = {d.id: d.local_name for d in session.execute(sa.select(Department)).scalars()}
    transfers = [
        {
            "effective_on": t.effective_on,
            "from_department": names.get(t.from_department_id or 0, ""),
            "to_department": names.get(t.to_department_id or 0, ""),
            "from_job_title": t.from_job_title,
            "to_job_title": t.to_job_title,
        }
        for t in reversed(people.transfers_of(session, user_id))
    ]
    return {
        "absences": list(reversed(people.absences_of(session, user_id))),
        "transfers": transfers,
    }


def job_title_names(session: DbSession, titles: list[str]) -> dict[str, str]:
    """Each of these job titles as typed (a requirement's, a program audience's) in the reader's
    language, as one person who holds it carries it; keyed by the case-folded title."""
    wanted = sorted({t.lower() for t in titles if t})
    if not wanted:
        return {}
    one_each = (
        sa.select(sa.func.min(User.id))
        .where(sa.func.lower(User.job_title).in_(wanted), User.job_titles.is_not(None))
        .group_by(sa.func.lower(User.job_title))
    )
    rows = session.execute(sa.select(User.job_title, User.job_titles).where(User.id.in_(one_each)))
    return {title.casefold(): in_locale(names, title) for title, names in rows if title and names}
