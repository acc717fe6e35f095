"""Scheduled briefings: the session, who is enrolled, attendance, acknowledgments, signatures.

Attendance marks, acknowledgments and the instructor's conduct signature are never updated in
place: a correction is a new row whose ``supersedes_id`` names the row it replaces, and the
current value is the newest row per enrolment. A UNIQUE ``supersedes_id`` keeps each chain a
line (a row can be superseded once).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.model import Base, CreatedMixin, UTCDateTime, utcnow

SESSION_STATUSES = ("scheduled", "held", "cancelled")
ENROLMENT_STATUSES = ("enrolled", "waitlisted", "cancelled")
ENROLMENT_SOURCES = ("invited", "self", "walk_in")
# failed: present, but the knowledge check at the end of the briefing failed (LV MK 749:
# must not start work; the briefing is repeated): no completion, "not admitted"
ATTENDANCE_STATUSES = ("present", "absent", "excused", "late", "failed")
ATTENDED = ("present", "late")
ACK_METHODS = ("account", "password", "pin")
SIGNATURE_MEANINGS = ("conducted",)
MAX_CAPACITY = 1000


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class TrainingSession(CreatedMixin, Base):
    """One scheduled briefing of an approved program version, run by an instructor."""

    __tablename__ = "training_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("programs.id"), index=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("program_versions.id"))
    instructor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # the department the session is held for (optional); decides who may run it
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    place: Mapped[str] = mapped_column(sa.String(200), default="")
    capacity: Mapped[int] = mapped_column()
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(12), default="scheduled")
    # employees may sign themselves up (otherwise by invitation only)
    open_signup: Mapped[bool] = mapped_column(default=True)
    # sessions created together by one repeat rule share a series id
    series_id: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    # iCalendar SEQUENCE: raised on every change a calendar must pick up
    sequence: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    cancel_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    # the briefing type of this event (a regime's key: introductory, initial, repeated,
    # unscheduled, targeted, thematic...); None: the program version's type, as before
    briefing_type: Mapped[str | None] = mapped_column(sa.String(30))
    # for an unscheduled or targeted briefing: why, what triggered it, and the permit or task
    briefing_reason: Mapped[str] = mapped_column(sa.String(1000), default="", server_default="")
    briefing_trigger: Mapped[str | None] = mapped_column(sa.String(30))
    permit: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")

    program = relationship("Program", foreign_keys=[program_id])
    version = relationship("ProgramVersion", foreign_keys=[version_id])
    instructor = relationship("User", foreign_keys=[instructor_id])
    department = relationship("Department", foreign_keys=[department_id])
    enrolments: Mapped[list[Enrolment]] = relationship(
        back_populates="training_session", order_by="Enrolment.id"
    )
    signatures: Mapped[list[SessionSignature]] = relationship(
        back_populates="training_session", order_by="SessionSignature.id"
    )

    @property
    def location(self) -> str:
        """The place, under the name calendar-minded code expects."""
        return self.place

    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", "ends_after_start"),
        sa.CheckConstraint(f"capacity BETWEEN 1 AND {MAX_CAPACITY}", "capacity_range"),
        sa.CheckConstraint(_in("status", SESSION_STATUSES), "known_status"),
    )


class Enrolment(CreatedMixin, Base):
    """A person's place in a session: enrolled, on the waitlist, or cancelled.

    The waitlist is served in ``requested_at`` order (then id).
    """

    __tablename__ = "session_enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("training_sessions.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(12))
    source: Mapped[str] = mapped_column(sa.String(12))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    training_session: Mapped[TrainingSession] = relationship(back_populates="enrolments")
    user = relationship("User", foreign_keys=[user_id])

    __table_args__ = (
        sa.UniqueConstraint("session_id", "user_id"),
        sa.CheckConstraint(_in("status", ENROLMENT_STATUSES), "known_status"),
        sa.CheckConstraint(_in("source", ENROLMENT_SOURCES), "known_source"),
        sa.Index("ix_session_enrolments_session_status", "session_id", "status"),
    )


class AttendanceMark(Base):
    """Present, absent, excused or late, as the instructor recorded it. Never updated."""

    __tablename__ = "session_attendance"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("training_sessions.id"), index=True)
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("session_enrolments.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(10))
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    supersedes_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("session_attendance.id"), unique=True
    )
    note: Mapped[str] = mapped_column(sa.String(500), default="")

    recorded_by = relationship("User", foreign_keys=[recorded_by_id])

    __table_args__ = (
        sa.CheckConstraint(_in("status", ATTENDANCE_STATUSES), "known_status"),
        sa.CheckConstraint("supersedes_id IS NULL OR supersedes_id <> id", "not_own_successor"),
    )


class Acknowledgment(Base):
    """The attendee's own confirmation that they received the briefing. Never updated.

    ``method`` tells how they proved who they are: signed in on their own account, or their
    own password or PIN typed on the instructor's device (``witness_id``).
    """

    __tablename__ = "session_acknowledgments"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("training_sessions.id"), index=True)
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("session_enrolments.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    method: Mapped[str] = mapped_column(sa.String(10))
    meaning: Mapped[str] = mapped_column(sa.String(20), default="received")
    printed_name: Mapped[str] = mapped_column(sa.String(200))
    job_title: Mapped[str] = mapped_column(sa.String(200), default="")
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime())
    witness_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # SHA-256 of what was acknowledged: the session and the program version's content
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    supersedes_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("session_acknowledgments.id"), unique=True
    )

    witness = relationship("User", foreign_keys=[witness_id])

    __table_args__ = (
        sa.CheckConstraint(_in("method", ACK_METHODS), "known_method"),
        sa.CheckConstraint("supersedes_id IS NULL OR supersedes_id <> id", "not_own_successor"),
    )


class SessionSignature(Base):
    """The instructor's signature: the session was conducted with exactly this attendance.

    ``covers`` names the attendance marks and acknowledgments signed for; ``content_hash`` is the
    SHA-256 of their canonical content, so the signature cannot be moved to other content.
    A new signature after a correction supersedes the previous one.
    """

    __tablename__ = "session_signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("training_sessions.id"), index=True)
    signer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    printed_name: Mapped[str] = mapped_column(sa.String(200))
    meaning: Mapped[str] = mapped_column(sa.String(12), default="conducted")
    method: Mapped[str] = mapped_column(sa.String(20), default="password")
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    covers: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    supersedes_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("session_signatures.id"), unique=True
    )

    training_session: Mapped[TrainingSession] = relationship(back_populates="signatures")
    signer = relationship("User", foreign_keys=[signer_id])

    __table_args__ = (
        sa.CheckConstraint(_in("meaning", SIGNATURE_MEANINGS), "known_meaning"),
        sa.CheckConstraint("supersedes_id IS NULL OR supersedes_id <> id", "not_own_successor"),
    )
