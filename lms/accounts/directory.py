"""Sign-in through the company directory (LDAP or Active Directory) with ldap3.

Two ways to find the person: bind directly as ``LMS_LDAP_USER_DN`` (a template such as
``uid={username},ou=people,dc=example,dc=org``), or search with a service account
(``LMS_LDAP_BIND_DN``/``LMS_LDAP_BIND_PASSWORD``) under ``LMS_LDAP_BASE_DN`` and then bind as
the entry found. The connection is encrypted with StartTLS (``LMS_LDAP_STARTTLS=1``) or LDAPS
(an ``ldaps://`` URL). Groups map to Brigade roles, one attribute to the department. The person
is created or updated at each directory sign-in. Local accounts (a usable password in Brigade)
never ask the directory, so they keep working when it is down.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import gettext as _

from lms.accounts import services
from lms.accounts.models import Department, User, UserRole
from lms.core import audit
from lms.core.errors import DomainError
from lms.core.model import utcnow


class DirectoryUnavailable(DomainError):
    status_code = 503


@dataclass(frozen=True)
class DirectorySettings:
    url: str
    base_dn: str = ""
    user_dn: str = ""  # bind-as-user template with {username}
    bind_dn: str = ""
    bind_password: str = ""
    user_filter: str = "(|(mail={username})(uid={username}))"
    starttls: bool = False
    ca_file: str | None = None
    verify_tls: bool = True
    group_base_dn: str = ""
    group_filter: str = "(|(member={dn})(uniqueMember={dn}))"
    group_roles: Mapping[str, str] = field(default_factory=dict)  # group DN (lower) -> role
    default_role: str = "employee"
    department_attr: str = "departmentNumber"
    email_attr: str = "mail"
    name_attr: str = "cn"
    title_attr: str = "title"
    employee_number_attr: str = "employeeNumber"
    disabled_filter: str = ""
    timeout: int = 5

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DirectorySettings | None:
        url = env.get("LMS_LDAP_URL", "").strip()
        if not url:
            return None
        roles: dict[str, str] = {}
        for item in env.get("LMS_LDAP_GROUP_ROLES", "").split(";"):
            if ":" in item:
                role, dn = item.split(":", 1)
                roles[dn.strip().lower()] = role.strip()
        flag = lambda name, default: env.get(name, default).strip().lower() in {"1", "true", "yes"}  # noqa: E731
        return cls(
            url=url,
            base_dn=env.get("LMS_LDAP_BASE_DN", ""),
            user_dn=env.get("LMS_LDAP_USER_DN", ""),
            bind_dn=env.get("LMS_LDAP_BIND_DN", ""),
            bind_password=env.get("LMS_LDAP_BIND_PASSWORD", ""),
            user_filter=env.get("LMS_LDAP_USER_FILTER", cls.user_filter),
            starttls=flag("LMS_LDAP_STARTTLS", "0"),
            ca_file=env.get("LMS_LDAP_CA_FILE") or None,
            verify_tls=flag("LMS_LDAP_TLS_VERIFY", "1"),
            group_base_dn=env.get("LMS_LDAP_GROUP_BASE_DN", env.get("LMS_LDAP_BASE_DN", "")),
            group_filter=env.get("LMS_LDAP_GROUP_FILTER", cls.group_filter),
            group_roles=roles,
            default_role=env.get("LMS_LDAP_DEFAULT_ROLE", "employee"),
            department_attr=env.get("LMS_LDAP_DEPARTMENT_ATTR", cls.department_attr),
            email_attr=env.get("LMS_LDAP_EMAIL_ATTR", cls.email_attr),
            name_attr=env.get("LMS_LDAP_NAME_ATTR", cls.name_attr),
            title_attr=env.get("LMS_LDAP_TITLE_ATTR", cls.title_attr),
            employee_number_attr=env.get("LMS_LDAP_EMPLOYEE_NUMBER_ATTR", cls.employee_number_attr),
            disabled_filter=env.get("LMS_LDAP_DISABLED_FILTER", ""),
            timeout=int(env.get("LMS_LDAP_TIMEOUT", "5")),
        )


def settings() -> DirectorySettings | None:
    """The directory configuration: app.config["LMS_DIRECTORY"] or the environment."""
    if not has_app_context():
        return DirectorySettings.from_env(os.environ)
    if "LMS_DIRECTORY" not in current_app.config:
        current_app.config["LMS_DIRECTORY"] = DirectorySettings.from_env(os.environ)
    return current_app.config["LMS_DIRECTORY"]


def _server(cfg: DirectorySettings):
    # ldap3 loads only when a directory is configured (optional dependency)
    import ldap3

    tls = ldap3.Tls(
        validate=ssl.CERT_REQUIRED if cfg.verify_tls else ssl.CERT_NONE,
        ca_certs_file=cfg.ca_file,
    )
    return ldap3.Server(
        cfg.url,
        use_ssl=cfg.url.lower().startswith("ldaps://"),
        tls=tls,
        connect_timeout=cfg.timeout,
        get_info=ldap3.NONE,
    )


def _connection(cfg: DirectorySettings, user: str | None, password: str | None):
    # ldap3 loads only when a directory is configured (optional dependency)
    import ldap3

    conn = ldap3.Connection(
        _server(cfg),
        user=user,
        password=password,
        receive_timeout=cfg.timeout,
        raise_exceptions=False,
        auto_referrals=False,
    )
    conn.open()
    if cfg.starttls:
        conn.start_tls()
    return conn


def _first(values: object) -> str:
    if isinstance(values, list | tuple):
        return str(values[0]) if values else ""
    return "" if values is None else str(values)


@dataclass
class DirectoryPerson:
    dn: str
    email: str
    name: str
    job_title: str
    department: str
    employee_number: str
    groups: set[str]
    disabled: bool


def _lookup(cfg: DirectorySettings, username: str, password: str) -> DirectoryPerson | None:
    """Bind as the person and read their entry and groups; None when the password is wrong."""
    # ldap3 loads only when a directory is configured (optional dependency)
    from ldap3 import BASE, SUBTREE
    from ldap3.core.exceptions import LDAPException
    from ldap3.utils.conv import escape_filter_chars
    from ldap3.utils.dn import escape_rdn

    if not password:
        return None  # an empty password is an anonymous bind: never a sign-in
    attrs = [
        cfg.email_attr,
        cfg.name_attr,
        cfg.title_attr,
        cfg.department_attr,
        cfg.employee_number_attr,
        "memberOf",
    ]
    flt = cfg.user_filter.replace("{username}", escape_filter_chars(username))
    try:
        if cfg.user_dn:
            dn = cfg.user_dn.replace("{username}", escape_rdn(username))
            conn = _connection(cfg, dn, password)
            if not conn.bind():
                conn.unbind()
                return None
            conn.search(dn, "(objectClass=*)", BASE, attributes=attrs)
        else:
            conn = _connection(cfg, cfg.bind_dn or None, cfg.bind_password or None)
            if cfg.bind_dn and not conn.bind():
                conn.unbind()
                raise DirectoryUnavailable(_("The directory refused the service account."))
            conn.search(cfg.base_dn, flt, SUBTREE, attributes=attrs, size_limit=2)
            if len(conn.entries) != 1:
                conn.unbind()
                return None
            dn = conn.entries[0].entry_dn
            if not conn.rebind(user=dn, password=password):
                conn.unbind()
                return None
            conn.search(dn, "(objectClass=*)", BASE, attributes=attrs)
        if not conn.entries:
            conn.unbind()
            return None
        entry = conn.entries[0].entry_attributes_as_dict
        groups = {g.lower() for g in entry.get("memberOf", [])}
        if cfg.group_base_dn:
            gf = cfg.group_filter.replace("{dn}", escape_filter_chars(dn))
            conn.search(cfg.group_base_dn, gf, SUBTREE, attributes=[])
            groups |= {e.entry_dn.lower() for e in conn.entries}
        disabled = False
        if cfg.disabled_filter:
            conn.search(dn, cfg.disabled_filter, BASE, attributes=[])
            disabled = bool(conn.entries)
        conn.unbind()
    except LDAPException as err:
        raise DirectoryUnavailable(
            _("The directory is unavailable. Try again in a few minutes.")
        ) from err
    return DirectoryPerson(
        dn=dn,
        email=_first(entry.get(cfg.email_attr)).strip().lower(),
        name=_first(entry.get(cfg.name_attr)).strip(),
        job_title=_first(entry.get(cfg.title_attr)).strip(),
        department=_first(entry.get(cfg.department_attr)).strip(),
        employee_number=_first(entry.get(cfg.employee_number_attr)).strip(),
        groups=groups,
        disabled=disabled,
    )


def _department_id(session, value: str) -> int | None:
    if not value:
        return None
    return session.execute(
        sa.select(Department.id).where(
            sa.or_(
                Department.code == value.upper(), sa.func.lower(Department.name) == value.lower()
            )
        )
    ).scalar()


def sign_in(session, login: str, password: str) -> User:
    """Sign in a local account, or else through the directory (creating or updating the person).

    Raises DomainError for a wrong log-in and DirectoryUnavailable when the directory is down.
    """
    login = (login or "").strip()
    local = services.find_by_email(session, login)
    cfg = settings()
    if cfg is None or (local is not None and not local.password_hash.startswith("!")):
        return services.authenticate(session, login, password)
    person = _lookup(cfg, login, password)
    if person is None:
        if local is not None:
            audit.record(session, None, "login_failed", "user", local.id, local.email)
        raise DomainError(_("Wrong e-mail address or password."))
    user = services.find_by_email(session, person.email) if person.email else local
    if person.disabled:
        if user is not None and user.active:
            user.active = False
            user.session_version += 1
            audit.record(session, None, "deactivate", "user", user.id, user.name, source="ldap")
        raise DomainError(_("This account has been deactivated. Ask an administrator."))
    if not person.email:
        raise DomainError(_("The directory has no e-mail address for this account."))
    roles = sorted({r for g, r in cfg.group_roles.items() if g in person.groups}) or [
        cfg.default_role
    ]
    dept_id = _department_id(session, person.department)
    if user is None:
        user = User(
            email=person.email,
            name=person.name or person.email,
            password_hash="!ldap",
            auth_source="ldap",
            job_title=person.job_title,
            department_id=dept_id,
        )
        if person.employee_number:
            taken = session.execute(
                sa.select(User.id).where(User.employee_number == person.employee_number)
            ).scalar()
            user.employee_number = None if taken else person.employee_number
        user.role_rows = [UserRole(role=r) for r in roles]
        session.add(user)
        session.flush()
        audit.record(
            session, None, "create", "user", user.id, user.name, source="ldap", roles=roles
        )
    else:
        if not user.active:
            raise DomainError(_("This account has been deactivated. Ask an administrator."))
        user.name = person.name or user.name
        if person.job_title:
            user.job_title = person.job_title
        if dept_id is not None:
            user.department_id = dept_id
        if set(roles) != user.roles:
            audit.record(
                session,
                None,
                "change",
                "user",
                user.id,
                user.name,
                changed={"roles": [sorted(user.roles), roles]},
                source="ldap",
            )
            user.role_rows = [UserRole(role=r) for r in roles]
        if user.auth_source == "hr":
            user.auth_source = "ldap"
    user.last_login_at = utcnow()
    session.flush()
    services.people_changed(session, [user])  # a new person, or a move the directory reported
    return user
