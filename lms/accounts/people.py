"""People as HR knows them: personal code, absences and transfers kept as history.

The HR import (``lms.accounts.hr``), the API and the forms record absences and transfers here;
briefing triggers (return after a break, transfer) read them. A personal code is validated in
Latvian format and shown masked to everyone but admins, auditors and registers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from lms.core.errors import DomainError
from lms.core.model import Base, CreatedMixin, UTCDateTime

WORKER_CATEGORIES: tuple[str, ...] = ("employee", "contractor", "trainee", "other_company")
ABSENCE_KINDS: tuple[str, ...] = ("leave", "sick", "parental", "other")
_CODE = re.compile(r"^(\d{6})-?(\d{5})$")
_WEIGHTS = (1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# Roles that see a personal code in full; everyone else sees it masked.
SEES_PERSONAL_CODE = frozenset({"admin", "auditor"})
_ABSENCE_LISTENERS: list[Callable[[Any, Absence], None]] = []


def on_absence_recorded(func: Callable[[Any, Absence], None]) -> Callable[[Any, Absence], None]:
    """Register func(session, absence), called in the same transaction after an absence is
    recorded or its end changed (form, API, HR import): a return after a long break may need
    an unscheduled briefing (lms.compliance)."""
    _ABSENCE_LISTENERS.append(func)
    return func


_TRANSFER_LISTENERS: list[Callable[[Any, Transfer], Any]] = []


def on_transfer_recorded(func: Callable[[Any, Transfer], Any]) -> Callable[[Any, Transfer], Any]:
    """Register func(session, transfer), called in the same transaction after a move to
    another unit or job is recorded (person form, HR import): the move may need an unscheduled
    briefing (lms.compliance)."""
    _TRANSFER_LISTENERS.append(func)
    return func


def transfer_recorded(session, transfer: Transfer) -> None:
    session.flush()
    for listener in _TRANSFER_LISTENERS:
        listener(session, transfer)


def absence_recorded(session, absence: Absence) -> None:
    session.flush()
    for listener in _ABSENCE_LISTENERS:
        listener(session, absence)


class Absence(CreatedMixin, Base):
    """A period away from work (leave, sickness...). Ends on the last day away."""

    __tablename__ = "absences"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date | None] = mapped_column(sa.Date)
    kind: Mapped[str] = mapped_column(sa.String(20), default="leave")
    source: Mapped[str] = mapped_column(sa.String(10), default="form")
    note: Mapped[str] = mapped_column(sa.String(500), default="")

    __table_args__ = (
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", "ends_after_start"),
        sa.UniqueConstraint("user_id", "starts_on", name="uq_absences_user_start"),
    )


class Transfer(CreatedMixin, Base):
    """A move to another unit or job, kept as history (never edited)."""

    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    effective_on: Mapped[date] = mapped_column(sa.Date)
    from_department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    to_department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    from_job_title: Mapped[str] = mapped_column(sa.String(200), default="")
    to_job_title: Mapped[str] = mapped_column(sa.String(200), default="")
    source: Mapped[str] = mapped_column(sa.String(10), default="form")


class HrImport(CreatedMixin, Base):
    """An uploaded HR file: its dry-run report, then the result of applying it (by a job)."""

    __tablename__ = "hr_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(sa.String(12), default="planned")
    report: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    error: Mapped[str] = mapped_column(sa.Text, default="")
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def normalise_personal_code(value: str | None) -> str | None:
    """Return the code as ``DDMMYY-NNNNN`` or raise a DomainError naming the reason."""
    if value is None or not value.strip():
        return None
    m = _CODE.match(value.strip())
    if not m:
        raise DomainError(
            _("A personal code has 11 digits, written as DDMMYY-NNNNN."), field="personal_code"
        )
    head, tail = m.groups()
    digits = head + tail
    if digits.startswith("32"):
        return f"{head}-{tail}"  # the form issued since 2017: no birth date, no check digit
    day, month, year, century = int(head[:2]), int(head[2:4]), int(head[4:6]), int(tail[0])
    if century > 2:
        raise DomainError(
            _("The personal code has an unknown century digit."), field="personal_code"
        )
    try:
        date(1800 + 100 * century + year, month, day)
    except ValueError:
        raise DomainError(
            _("The personal code does not start with a valid birth date."),
            field="personal_code",
        ) from None
    check = (1101 - sum(int(d) * w for d, w in zip(digits[:10], _WEIGHTS, strict=True))) % 11
    if check != int(digits[10]):
        raise DomainError(_("The personal code's check digit is wrong."), field="personal_code")
    return f"{head}-{tail}"


def mask_personal_code(code: str | None, roles: set[str] | frozenset[str] = frozenset()) -> str:
    """The code in full for admins and auditors; otherwise only the first two digits."""
    if not code:
        return ""
    if set(roles) & SEES_PERSONAL_CODE:
        return code
    return code[:2] + "****-*****"


def record_absence(
    session,
    user_id: int,
    starts_on: date,
    ends_on: date | None,
    *,
    kind: str = "leave",
    source: str = "form",
    note: str = "",
) -> Absence:
    """Record an absence; the same person and start date updates the end (idempotent)."""
    if ends_on is not None and ends_on < starts_on:
        raise DomainError(_("An absence cannot end before it starts."), field="ends_on")
    if kind not in ABSENCE_KINDS:
        raise DomainError(_("Unknown kind of absence."), field="kind")
    row = session.execute(
        sa.select(Absence).where(Absence.user_id == user_id, Absence.starts_on == starts_on)
    ).scalar_one_or_none()
    if row is None:
        row = Absence(user_id=user_id, starts_on=starts_on, source=source)
        session.add(row)
    row.ends_on, row.kind, row.note = ends_on, kind, note
    session.flush()
    absence_recorded(session, row)
    return row


def record_transfer(
    session,
    user_id: int,
    effective_on: date,
    *,
    from_department_id: int | None,
    to_department_id: int | None,
    from_job_title: str = "",
    to_job_title: str = "",
    source: str = "form",
) -> Transfer:
    row = Transfer(
        user_id=user_id,
        effective_on=effective_on,
        from_department_id=from_department_id,
        to_department_id=to_department_id,
        from_job_title=from_job_title,
        to_job_title=to_job_title,
        source=source,
    )
    session.add(row)
    session.flush()
    transfer_recorded(session, row)
    return row


def absences_of(session, user_id: int) -> list[Absence]:
    return list(
        session.execute(
            sa.select(Absence).where(Absence.user_id == user_id).order_by(Absence.starts_on)
        ).scalars()
    )


def transfers_of(session, user_id: int) -> list[Transfer]:
    return list(
        session.execute(
            sa.select(Transfer)
            .where(Transfer.user_id == user_id)
            .order_by(Transfer.effective_on, Transfer.id)
        ).scalars()
    )


def template_labels() -> dict[str, Any]:
    return {
        "mask_personal_code": mask_personal_code,
        "worker_category_labels": {
            "employee": _l("Employee"),
            "contractor": _l("Contractor"),
            "trainee": _l("Trainee"),
            "other_company": _l("Another company's worker"),
        },
        "auth_source_labels": {
            "local": _l("Brigade password"),
            "ldap": _l("Company directory"),
            "hr": _l("Not yet (created by the HR import)"),
        },
        "absence_kind_labels": {
            "leave": _l("Leave"),
            "sick": _l("Sick leave"),
            "parental": _l("Parental leave"),
            "other": _l("Other"),
        },
    }
