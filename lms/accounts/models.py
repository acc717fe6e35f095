from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import has_app_context
from flask_babel import get_locale
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.model import Base, CreatedMixin, UTCDateTime
from lms.core.permissions import ROLES, has_permission, may_write
from lms.core.textsearch import search_key

SEARCH_TEXT_MAX = 1000


def new_token() -> str:
    return secrets.token_urlsafe(24)


def in_locale(names: dict[str, str] | None, default: str, locale: str | None = None) -> str:
    """A name an organisation gives in several languages: the reader's, else the default."""
    if names:
        if locale is None:
            current = get_locale() if has_app_context() else None
            locale = current.language if current is not None else None
        if locale and names.get(locale):
            return names[locale]
    return default


class Department(CreatedMixin, Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # the name in other languages (locale -> name); the name above is the default
    names: Mapped[dict[str, str] | None] = mapped_column(sa.JSON)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"), index=True)
    manager_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", use_alter=True), index=True
    )

    parent: Mapped[Department | None] = relationship(remote_side="Department.id")
    manager: Mapped[User | None] = relationship(foreign_keys=[manager_id])

    __table_args__ = (sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", "not_own_parent"),)

    @property
    def local_name(self) -> str:
        """The name in the reader's language, else the default name."""
        return in_locale(self.names, self.name)

    def __str__(self) -> str:
        return self.local_name


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(sa.String(20), primary_key=True)

    __table_args__ = (
        sa.CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")", "known_role"),
    )


class User(UserMixin, CreatedMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    job_title: Mapped[str] = mapped_column(sa.String(200), default="")
    # the job title in other languages (locale -> title); job_title above is the default
    job_titles: Mapped[dict[str, str] | None] = mapped_column(sa.JSON)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    pin_hash: Mapped[str | None] = mapped_column(sa.String(255))
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    start_date: Mapped[date | None] = mapped_column(sa.Date)  # the hire date
    # Person fields fed by the HR import (lms/accounts/people.py) and directory sign-in.
    employee_number: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    personal_code: Mapped[str | None] = mapped_column(sa.String(12))  # never in URLs/logs/mail
    patronymic: Mapped[str] = mapped_column(sa.String(200), default="")
    worker_category: Mapped[str] = mapped_column(sa.String(20), default="employee")
    hazardous_work: Mapped[bool] = mapped_column(default=False)
    leaving_date: Mapped[date | None] = mapped_column(sa.Date)
    manager_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    auth_source: Mapped[str] = mapped_column(sa.String(10), default="local")
    calendar_token: Mapped[str] = mapped_column(sa.String(64), unique=True, default=new_token)
    session_version: Mapped[int] = mapped_column(default=1)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # name, patronymic and e-mail as people type them (lms.core.textsearch.search_key), kept
    # current at every flush (the events below); people searches read only this column
    search_text: Mapped[str] = mapped_column(
        sa.String(SEARCH_TEXT_MAX), default="", server_default=""
    )

    department: Mapped[Department | None] = relationship(foreign_keys=[department_id])
    manager: Mapped[User | None] = relationship(remote_side="User.id", foreign_keys=[manager_id])
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def local_job_title(self) -> str:
        """The job title in the reader's language, else the default title."""
        return in_locale(self.job_titles, self.job_title)

    @property
    def roles(self) -> set[str]:
        return {r.role for r in self.role_rows}

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def can(self, permission: str) -> bool:
        return self.active and has_permission(self.roles, permission)

    def can_write(self, permission: str) -> bool:
        """May change something under this permission (a read-only role may not)."""
        return self.active and may_write(self.roles, permission)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        # The version lets a password change or deactivation end every other session.
        return f"{self.id}:{self.session_version}"

    def __str__(self) -> str:
        return self.name

    __table_args__ = (
        # PostgreSQL: a trigram index (pg_trgm) for names typed in part ("%lavin%");
        # SQLite: a plain index on the column
        sa.Index(
            "ix_users_search_text",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
    )


def user_search_text(user: User) -> str:
    return search_key(user.name, user.patronymic, user.email)[:SEARCH_TEXT_MAX]


@sa.event.listens_for(User, "before_insert")
@sa.event.listens_for(User, "before_update")
def _keep_search_text(_mapper: Any, _connection: Any, user: User) -> None:
    """Every change of a person's name or e-mail (forms, HR import, directory sign-in, API)
    goes through a flush: the search column follows it there."""
    text = user_search_text(user)
    if user.search_text != text:
        user.search_text = text


# the trigram operators exist before the index that uses them (tests build tables directly)
sa.event.listen(
    User.__table__,
    "before_create",
    sa.DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
)


from lms.accounts.people import Absence, HrImport, Transfer  # noqa: E402,F401  (one metadata)
