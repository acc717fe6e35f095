"""Rules about people, departments and log-in. Services flush; the request commits."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from lms.accounts import people
from lms.accounts.models import Department, User, UserRole
from lms.accounts.search import person_matches
from lms.core import audit, texts
from lms.core.clock import local_today
from lms.core.errors import Conflict, DomainError
from lms.core.model import utcnow
from lms.core.permissions import ROLES

MIN_PASSWORD = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# A real hash to compare against when the user does not exist, so timing tells nothing.
_DUMMY_HASH: str | None = None


_PERSON_LISTENERS: list[Callable[[Any, User], None]] = []
_STRUCTURE_LISTENERS: list[Callable[[Any], None]] = []


def on_person_changed(func: Callable[[Any, User], None]) -> Callable[[Any, User], None]:
    """Register func(session, user), called in the same transaction after a person is created,
    changed (department, job title, start date...), deactivated (leaving) or reactivated."""
    _PERSON_LISTENERS.append(func)
    return func


def on_structure_changed(func: Callable[[Any], None]) -> Callable[[Any], None]:
    """Register func(session), called after a department moves in the tree."""
    _STRUCTURE_LISTENERS.append(func)
    return func


def _person_changed(session, user: User) -> None:
    for listener in _PERSON_LISTENERS:
        listener(session, user)


def people_changed(session, users: list[User]) -> None:
    """Tell the listeners that these people were added, moved, left or returned (HR import,
    directory sign-in, API): one by one for a few, as one change of the structure for many."""
    if len(users) <= 50:
        for user in users:
            _person_changed(session, user)
    else:
        for listener in _STRUCTURE_LISTENERS:
            listener(session)


def _method() -> str:
    if has_app_context():
        return current_app.config.get("LMS_PASSWORD_METHOD", "scrypt")
    return "scrypt"


def hash_secret(secret: str) -> str:
    return generate_password_hash(secret, method=_method())


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise DomainError(
            _("The password must be at least %(n)d characters long.", n=MIN_PASSWORD),
            field="password",
        )


def _clean_roles(roles: Iterable[str]) -> list[str]:
    roles = sorted(set(roles))
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise DomainError(_("Unknown role: %(role)s", role=", ".join(unknown)), field="roles")
    if not roles:
        raise DomainError(_("Choose at least one role."), field="roles")
    return roles


def find_by_email(session, email: str) -> User | None:
    return session.execute(
        sa.select(User).where(sa.func.lower(User.email) == email.strip().lower())
    ).scalar_one_or_none()


def create_user(
    session,
    *,
    email: str,
    name: str,
    password: str,
    roles: Iterable[str] = ("employee",),
    department_id: int | None = None,
    job_title: str = "",
    locale: str | None = None,
    start_date=None,
    actor_id: int | None = None,
    check_strength: bool = True,
) -> User:
    """Create a person with the given roles. The e-mail address must be unique."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise DomainError(_("Enter a valid e-mail address."), field="email")
    if not name.strip():
        raise DomainError(_("Enter the person's name."), field="name")
    if find_by_email(session, email) is not None:
        raise Conflict(_("A person with this e-mail address already exists."), field="email")
    if check_strength:
        check_password_strength(password)
    if department_id is not None and session.get(Department, department_id) is None:
        raise DomainError(_("Unknown department."), field="department_id")
    user = User(
        email=email,
        name=name.strip(),
        job_title=job_title.strip(),
        department_id=department_id,
        password_hash=hash_secret(password),
        locale=locale,
        start_date=start_date,
    )
    user.role_rows = [UserRole(role=r) for r in _clean_roles(roles)]
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor_id,
        "create",
        "user",
        user.id,
        texts.stored("accounts.person_email", name=user.name, email=user.email),
        roles=sorted(user.roles),
        department_id=department_id,
    )
    _person_changed(session, user)
    return user


def update_user(
    session,
    user: User,
    *,
    name: str,
    email: str,
    job_title: str,
    department_id: int | None,
    roles: Iterable[str],
    start_date=None,
    actor_id: int | None = None,
) -> User:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise DomainError(_("Enter a valid e-mail address."), field="email")
    other = find_by_email(session, email)
    if other is not None and other.id != user.id:
        raise Conflict(_("A person with this e-mail address already exists."), field="email")
    if department_id is not None and session.get(Department, department_id) is None:
        raise DomainError(_("Unknown department."), field="department_id")
    new_roles = _clean_roles(roles)
    old_department = user.department_id
    before = {
        "name": user.name,
        "email": user.email,
        "job_title": user.job_title,
        "department_id": user.department_id,
        "roles": sorted(user.roles),
        "start_date": user.start_date.isoformat() if user.start_date else None,
    }
    user.name = name.strip()
    user.email = email
    user.job_title = job_title.strip()
    user.department_id = department_id
    user.start_date = start_date
    if set(new_roles) != user.roles:
        user.role_rows = [UserRole(role=r) for r in new_roles]
    session.flush()
    after = {
        "name": user.name,
        "email": user.email,
        "job_title": user.job_title,
        "department_id": user.department_id,
        "roles": new_roles,
        "start_date": user.start_date.isoformat() if user.start_date else None,
    }
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changed:
        audit.record(session, actor_id, "change", "user", user.id, user.name, changed=changed)
        _person_changed(session, user)
    if "department_id" in changed or "job_title" in changed:
        # a move to another unit or job, kept as history (it may need a briefing)
        people.record_transfer(
            session,
            user.id,
            local_today(),
            from_department_id=old_department,
            to_department_id=user.department_id,
            from_job_title=str(before["job_title"] or ""),
            to_job_title=user.job_title or "",
            source="form",
        )
    return user


def set_active(session, user: User, active: bool, actor_id: int | None) -> User:
    if actor_id == user.id and not active:
        raise DomainError(_("You cannot deactivate your own account."))
    if user.active == active:
        return user
    user.active = active
    user.session_version += 1  # ends the person's open sessions
    session.flush()
    audit.record(
        session, actor_id, "activate" if active else "deactivate", "user", user.id, user.name
    )
    _person_changed(session, user)
    return user


def authenticate(session, email: str, password: str) -> User:
    """The active user with this e-mail and password, or a DomainError that reveals nothing."""
    global _DUMMY_HASH
    user = find_by_email(session, email or "")
    if user is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_secret("not-a-real-password")
        check_password_hash(_DUMMY_HASH, password or "")
        raise DomainError(_("Wrong e-mail address or password."))
    if not check_password_hash(user.password_hash, password or ""):
        # kept although the request answers 401 and rolls back: its own connection commits it
        audit.record_apart(session, None, "login_failed", "user", user.id, user.email)
        raise DomainError(_("Wrong e-mail address or password."))
    if not user.active:
        raise DomainError(_("This account has been deactivated. Ask an administrator."))
    user.last_login_at = utcnow()
    return user


def verify_password(user: User, password: str) -> bool:
    return bool(password) and check_password_hash(user.password_hash, password)


def change_password(session, user: User, current: str, new: str) -> None:
    if not verify_password(user, current):
        raise DomainError(_("The current password is wrong."), field="current")
    check_password_strength(new)
    if current == new:
        raise DomainError(_("Choose a password different from the current one."), field="password")
    user.password_hash = hash_secret(new)
    user.session_version += 1
    session.flush()
    audit.record(session, user.id, "change_password", "user", user.id, user.name)


def set_pin(session, user: User, pin: str) -> None:
    """A personal PIN for acknowledging a briefing on the instructor's device."""
    if not (pin.isdigit() and 4 <= len(pin) <= 8):
        raise DomainError(_("A PIN is 4 to 8 digits."), field="pin")
    user.pin_hash = hash_secret(pin)
    session.flush()
    audit.record(session, user.id, "set_pin", "user", user.id, user.name)


def set_locale(session, user: User, locale: str | None) -> None:
    user.locale = locale
    session.flush()


def create_department(
    session,
    *,
    name: str,
    code: str,
    parent_id: int | None = None,
    manager_id: int | None = None,
    actor_id: int | None = None,
) -> Department:
    code = code.strip().upper()
    if not name.strip() or not code:
        raise DomainError(_("A department needs a name and a code."), field="name")
    exists = session.execute(sa.select(Department.id).where(Department.code == code)).scalar()
    if exists:
        raise Conflict(_("A department with this code already exists."), field="code")
    if parent_id is not None and session.get(Department, parent_id) is None:
        raise DomainError(_("Unknown parent department."), field="parent_id")
    dept = Department(name=name.strip(), code=code, parent_id=parent_id, manager_id=manager_id)
    session.add(dept)
    session.flush()
    audit.record(session, actor_id, "create", "department", dept.id, dept.name, code=code)
    return dept


def update_department(
    session,
    dept: Department,
    *,
    name: str,
    code: str,
    parent_id: int | None,
    manager_id: int | None,
    actor_id: int | None = None,
) -> Department:
    code = code.strip().upper()
    clash = session.execute(
        sa.select(Department.id).where(Department.code == code, Department.id != dept.id)
    ).scalar()
    if clash:
        raise Conflict(_("A department with this code already exists."), field="code")
    # A department may not sit below itself: walk up from the new parent.
    cursor = parent_id
    while cursor is not None:
        if cursor == dept.id:
            raise DomainError(
                _("A department cannot be placed inside itself or its own sub-department."),
                field="parent_id",
            )
        cursor = session.execute(
            sa.select(Department.parent_id).where(Department.id == cursor)
        ).scalar()
    before = (dept.name, dept.code, dept.parent_id, dept.manager_id)
    moved = parent_id != dept.parent_id
    dept.name, dept.code, dept.parent_id, dept.manager_id = (
        name.strip(),
        code,
        parent_id,
        manager_id,
    )
    session.flush()
    if before != (dept.name, dept.code, dept.parent_id, dept.manager_id):
        audit.record(
            session,
            actor_id,
            "change",
            "department",
            dept.id,
            dept.name,
            before=list(before),
            after=[dept.name, code, parent_id, manager_id],
        )
    if moved:
        for listener in _STRUCTURE_LISTENERS:
            listener(session)
    return dept


def department_tree(session) -> list[tuple[Department, int]]:
    """All departments in tree order, each with its depth."""
    depts = session.execute(sa.select(Department).order_by(Department.name)).scalars().all()
    children: dict[int | None, list[Department]] = {}
    for d in depts:
        children.setdefault(d.parent_id, []).append(d)
    out: list[tuple[Department, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for d in children.get(parent, []):
            out.append((d, depth))
            walk(d.id, depth + 1)

    walk(None, 0)
    return out


def subtree_ids(session, department_id: int) -> list[int]:
    """The department and every department below it."""
    rows = session.execute(sa.select(Department.id, Department.parent_id)).all()
    kids: dict[int | None, list[int]] = {}
    for did, pid in rows:
        kids.setdefault(pid, []).append(did)
    out, stack = [], [department_id]
    while stack:
        cur = stack.pop()
        out.append(cur)
        stack.extend(kids.get(cur, []))
    return out


def search_users(
    session,
    q: str = "",
    department_id: int | None = None,
    role: str | None = None,
    active: bool | None = None,
):
    stmt = sa.select(User).order_by(User.name)
    matches = person_matches(q, job_title=True)
    if matches is not None:
        stmt = stmt.where(matches)
    if department_id:
        stmt = stmt.where(User.department_id == department_id)
    if role:
        stmt = stmt.where(User.id.in_(sa.select(UserRole.user_id).where(UserRole.role == role)))
    if active is not None:
        stmt = stmt.where(User.active == active)
    return stmt
