"""Permissions: one registry, declared on every view, checked on every request.

Every endpoint is either listed as public (``@public``) or declares the permission it needs
(``@requires("programs.sign")``). Anything else is refused: a route that forgets to declare a
permission answers 403 for everyone, and ``tests/core/test_url_map.py`` fails on it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, request
from flask_login import current_user

View = TypeVar("View", bound=Callable[..., Any])

ROLES: tuple[str, ...] = ("admin", "instructor", "manager", "employee", "auditor")

# The special permission "login" means: any signed-in user; "account": a signed-in user looking
# after their own sign-in (signing out, password, PIN, language).
PERMISSIONS: dict[str, frozenset[str]] = {
    "login": frozenset(ROLES),
    "account": frozenset(ROLES),
    "accounts.admin": frozenset({"admin"}),
    "audit.view": frozenset({"admin", "auditor"}),
    "programs.view": frozenset({"admin", "instructor", "manager", "auditor"}),
    "programs.edit": frozenset({"admin", "instructor", "manager"}),
    "programs.sign": frozenset({"manager", "admin"}),
    "sessions.manage": frozenset({"admin", "instructor"}),
    # running one's own sessions: instructors, and designated responsible persons (cascade),
    # who may hold any role; the object-level rule is sessions.services.can_manage_session
    "sessions.run": frozenset(ROLES),
    "sessions.view_all": frozenset({"admin", "instructor", "manager", "auditor"}),
    "learning.take": frozenset(ROLES),
    "learning.results": frozenset({"admin", "instructor", "manager"}),
    "certificates.view": frozenset({"admin", "auditor"}),
    "certificates.revoke": frozenset({"admin"}),
    # whose training records a person sees besides their own (completions.queries.can_see_person)
    "records.view_any": frozenset({"admin", "auditor", "instructor"}),
    "records.view_department": frozenset({"manager"}),
    # someone else's certificate export (auditor.queries.export_job): one's own is always there
    "certificates.exports_of_others": frozenset({"admin"}),
    "compliance.view": frozenset({"admin", "manager", "auditor", "instructor"}),
    "compliance.manage": frozenset({"admin"}),
    "registers.view": frozenset({"admin", "auditor", "manager", "instructor"}),
    "registers.countersign": frozenset({"admin", "instructor"}),
    # recording what makes a briefing due: absences, incidents (managers and admins)
    "registers.record": frozenset({"admin", "manager"}),
    "cascade.designate": frozenset({"admin", "manager"}),
    # help requests: anyone signed in raises one and follows their own
    "support.raise": frozenset(ROLES),
    # answering, escalating and the board: people appointed to first- or second-line support,
    # who may hold any role, and administrators (the third line); the object-level rule is
    # support.services.staff_line
    "support.work": frozenset(ROLES),
    # appointing support staff and setting the times to first answer
    "support.admin": frozenset({"admin"}),
    # exam sessions: managing points and sessions; seeing all of them (and their access
    # journals); taking part (appointed or a candidate; object-level rules in exams.services)
    "exams.manage": frozenset({"admin", "instructor"}),
    "exams.view_all": frozenset({"admin", "instructor", "manager", "auditor"}),
    "exams.run": frozenset(ROLES),
}

# Roles that only read. On a request that can change something (any method but GET, HEAD,
# OPTIONS) they grant nothing, their own learner record included, except the permissions in
# READ_ONLY_MAY_POST: their own sign-in ("account"), asking for an export of the certificates
# they may already read ("certificates.view") and asking for help ("support.raise": a help
# request of their own, no training record), none of which records anything signed.
READ_ONLY_ROLES: frozenset[str] = frozenset({"auditor"})
READ_ONLY_MAY_POST: frozenset[str] = frozenset({"account", "certificates.view", "support.raise"})
SAFE_METHODS: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS"})

PUBLIC_ATTR = "_lms_public"
PERMISSION_ATTR = "_lms_permission"


def roles_with(permission: str) -> frozenset[str]:
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return PERMISSIONS[permission]


def has_permission(roles: set[str] | frozenset[str], permission: str) -> bool:
    return bool(set(roles) & roles_with(permission))


def may_write(roles: set[str] | frozenset[str], permission: str) -> bool:
    """May these roles use the permission on a request that changes something?"""
    if permission in READ_ONLY_MAY_POST:
        return has_permission(roles, permission)
    return has_permission(set(roles) - READ_ONLY_ROLES, permission)


def public(view: View) -> View:
    """Mark a view as reachable without logging in."""
    setattr(view, PUBLIC_ATTR, True)
    return view


def requires(permission: str) -> Callable[[View], View]:
    """Declare the permission a view needs; a signed-in user without it gets 403, and so does
    a read-only role on any request but GET/HEAD/OPTIONS (see ``may_write``)."""
    roles_with(permission)  # unknown names fail at import time

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if not current_user.can(permission):
                abort(403)
            if request.method not in SAFE_METHODS and not current_user.can_write(permission):
                abort(403)  # a read-only role (auditor) changes nothing
            return view(*args, **kwargs)

        setattr(wrapper, PERMISSION_ATTR, permission)
        return wrapper  # type: ignore[return-value]  # same signature, wraps() keeps it

    return decorate


def declared(view: Callable[..., Any]) -> str | None:
    """'public', the permission name, or None when the view declares nothing."""
    if getattr(view, PUBLIC_ATTR, False):
        return "public"
    return getattr(view, PERMISSION_ATTR, None)


def enforce_declared() -> Any:
    """before_request hook: log-in by default, and deny endpoints that declare nothing."""
    if request.endpoint is None or request.endpoint == "static":
        return None  # 404/405 are answered by Flask itself; our CSS, images and scripts are public
    view = current_app.view_functions.get(request.endpoint)
    decl = declared(view) if view is not None else None
    if decl == "public":
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    if decl is None:
        abort(403)
    return None
