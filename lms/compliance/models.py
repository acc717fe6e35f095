from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.model import Base, CreatedMixin, UTCDateTime

STATUSES = ("compliant", "due_soon", "overdue", "never_trained", "flagged")


class Requirement(CreatedMixin, Base):
    """Who must hold a program: a department (and everything below it) and/or a job title.

    interval_months overrides the program's refresher interval for this group (e.g. 6 months
    for high-risk work where the program says 12).
    """

    __tablename__ = "requirements"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("programs.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    job_title: Mapped[str | None] = mapped_column(sa.String(200))
    interval_months: Mapped[int | None] = mapped_column()
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    program = relationship("Program")
    department = relationship("Department")

    __table_args__ = (
        sa.CheckConstraint(
            "interval_months IS NULL OR (interval_months BETWEEN 1 AND 120)", "interval_range"
        ),
    )


class UnscheduledBriefing(CreatedMixin, Base):
    """An unscheduled briefing made required: everyone in scope needs a completion of the
    program dated on or after `since`, by `due_on`."""

    __tablename__ = "unscheduled_briefings"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("programs.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    # one person only (a trigger about them: back from a long absence...); None: everyone
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # what made it due: manual, break, transfer, instruction_amended... (the regime's triggers)
    trigger: Mapped[str] = mapped_column(sa.String(30), default="manual", server_default="manual")
    reason: Mapped[str] = mapped_column(sa.String(1000))
    since: Mapped[date] = mapped_column(sa.Date)
    due_on: Mapped[date] = mapped_column(sa.Date)
    triggered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    triggered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version_id: Mapped[int | None] = mapped_column(sa.ForeignKey("program_versions.id"))

    program = relationship("Program")
    department = relationship("Department")

    __table_args__ = (sa.CheckConstraint("due_on >= since", "due_after_since"),)


INCIDENT_KINDS = ("accident", "fire", "rule_breach")


class Incident(CreatedMixin, Base):
    """An accident at work, a fire or a breach of the rules in a unit: it makes an unscheduled
    briefing due for the people of that unit whose regime names it as a trigger."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_on: Mapped[date] = mapped_column(sa.Date)
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    note: Mapped[str] = mapped_column(sa.String(1000), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # how many people it made due (0: it matched nobody)
    people_due: Mapped[int] = mapped_column(default=0)

    department = relationship("Department")

    __table_args__ = (
        sa.CheckConstraint(
            "kind IN (" + ", ".join(f"'{k}'" for k in INCIDENT_KINDS) + ")", "known_kind"
        ),
    )


class ChosenRegime(Base):
    """A regime the organisation works under, chosen by an administrator (none stored: the
    configuration's LMS_REGIMES)."""

    __tablename__ = "organisation_regimes"

    code: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)


STATUS_BASES = ("never_trained", "valid", "revoked", "flagged", "pending")


class PersonStatus(Base):
    """The stored status of one person for one required program: one row per pair.

    Written only by lms.compliance.status.refresh(), in the same transaction as every change
    that moves it (a completion, a revocation, a requirement, an unscheduled briefing, a version
    approval, a transfer, leaving or returning). What depends on the date (overdue, due soon)
    is read from `valid_until` and `due_on` against today, so the row stays true from one day
    to the next. `flask lms verify` recomputes every row from the history.
    """

    __tablename__ = "person_program_status"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("programs.id"), primary_key=True)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    # what the status rests on: never trained, a valid completion, a revoked one (flagged: by
    # the trainer's lapse), or an unscheduled briefing pending since the last completion
    basis: Mapped[str] = mapped_column(sa.String(16))
    completion_id: Mapped[int | None] = mapped_column(sa.ForeignKey("completions.id"))
    completed_on: Mapped[date | None] = mapped_column(sa.Date)
    valid_until: Mapped[date | None] = mapped_column(sa.Date)
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    reason: Mapped[str] = mapped_column(sa.String(1000), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        sa.CheckConstraint(
            "basis IN (" + ", ".join(f"'{b}'" for b in STATUS_BASES) + ")", "known_basis"
        ),
        sa.Index("ix_person_program_status_program_department", "program_id", "department_id"),
        # the grouped counts of the compliance pages read this index alone (no table rows)
        sa.Index(
            "ix_person_program_status_counts",
            "department_id",
            "program_id",
            "basis",
            "valid_until",
            "due_on",
        ),
        # drill-down lists, most urgent first, a page at a time (keyset)
        sa.Index("ix_person_program_status_due", "due_on", "user_id", "program_id"),
        # the dashboard's coming expiries: a range of valid completions' due dates
        sa.Index("ix_person_program_status_expiry", "basis", "due_on", "department_id"),
    )


class StatusCount(Base):
    """How many stored statuses of one program are in one status, per department: the
    people placed directly in it (``subtree`` false; department 0: people without one) and
    everyone at or below it (``subtree`` true). The statuses are those of the day in
    ``StatusCountsDay`` with the default due-soon window.

    Written only by lms.compliance.status (the difference of every refresh, in its
    transaction; a rebuild when the day moves on or a department moves in the tree): the
    matrix and the dashboard read a level's few hundred rows instead of every person.
    """

    __tablename__ = "status_counts"

    subtree: Mapped[bool] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    program_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


class StatusCountsDay(Base):
    """The one day (and due-soon window) the status counts hold."""

    __tablename__ = "status_counts_day"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    as_of: Mapped[date] = mapped_column(sa.Date)
    window_days: Mapped[int] = mapped_column()


class ComplianceSnapshot(Base):
    """The dashboard's history: on the first day of a month, how many (person, required
    program) pairs held a valid completion (``held``) out of ``total``, per department: its
    own people (``subtree`` false) and everyone at or below it (``subtree`` true). Written by
    the daily job for the month just closed, backfilled from the completions' history when a
    month is missing (rebuild-status, the generator, the dashboard once)."""

    __tablename__ = "compliance_snapshots"

    point: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    subtree: Mapped[bool] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    held: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
