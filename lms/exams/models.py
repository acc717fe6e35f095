"""Exam points, exam sessions, checklist ticks, the access journal, results and protocol
signatures.

Ticks, access-journal lines, results and signatures are never updated: a correction is a new
row that names the one it supersedes, and each row is in the ledger.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.model import Base, CreatedMixin, UTCDateTime, utcnow

PHASES = ("pre", "post")
TEST_KINDS = ("quiz", "paper")
APPOINTMENT_ROLES = ("chair", "member", "technician")
ACCESS_AREAS = ("room", "system")
ACCESS_ROLES = ("candidate", "chair", "member", "technician", "invigilator", "visitor")
MAX_WORKSTATIONS = 500


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class ExamPoint(CreatedMixin, Base):
    """A place where exams are held: a room with workstations and its own checklists."""

    __tablename__ = "exam_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    room: Mapped[str] = mapped_column(sa.String(200))
    workstations: Mapped[int] = mapped_column(default=1)

    items: Mapped[list[ChecklistItem]] = relationship(
        back_populates="point", order_by="(ChecklistItem.phase.desc(), ChecklistItem.position)"
    )

    __table_args__ = (
        sa.CheckConstraint(
            f"workstations >= 0 AND workstations <= {MAX_WORKSTATIONS}", "workstations_range"
        ),
    )


class ChecklistItem(Base):
    """One pre-exam or post-exam item of an exam point (data, not code).

    ``software_check`` marks the item that must be ticked the configured number of hours
    before the start; ``asks_where`` items need a note (e.g. where the recordings were copied).
    An item no longer used is retired, never deleted: old ticks keep pointing at it.
    """

    __tablename__ = "exam_checklist_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    point_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_points.id"), index=True)
    phase: Mapped[str] = mapped_column(sa.String(4))
    position: Mapped[int] = mapped_column(default=1)
    label: Mapped[str] = mapped_column(sa.String(300))
    software_check: Mapped[bool] = mapped_column(default=False)
    asks_where: Mapped[bool] = mapped_column(default=False)
    retired: Mapped[bool] = mapped_column(default=False)

    point: Mapped[ExamPoint] = relationship(back_populates="items")

    __table_args__ = (sa.CheckConstraint(_in("phase", PHASES), "known_phase"),)


class ExamSession(CreatedMixin, Base):
    """An exam for a program at an exam point: its test, time, commission, technicians and
    candidates. Opening and closing are set once each (with ledger entries)."""

    __tablename__ = "exam_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    point_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_points.id"), index=True)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("programs.id"), index=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("program_versions.id"))
    test_kind: Mapped[str] = mapped_column(sa.String(8))
    paper_title: Mapped[str] = mapped_column(sa.String(300), default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # hours before the start by which the software must have been checked (from the config)
    software_lead_hours: Mapped[int] = mapped_column(default=2)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    override_reason: Mapped[str] = mapped_column(sa.String(1000), default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    point: Mapped[ExamPoint] = relationship(foreign_keys=[point_id])
    program = relationship("Program", foreign_keys=[program_id])
    version = relationship("ProgramVersion", foreign_keys=[version_id])
    opened_by = relationship("User", foreign_keys=[opened_by_id])
    closed_by = relationship("User", foreign_keys=[closed_by_id])
    appointments: Mapped[list[ExamAppointment]] = relationship(
        back_populates="exam", order_by="ExamAppointment.id"
    )
    candidates: Mapped[list[ExamCandidate]] = relationship(
        back_populates="exam", order_by="ExamCandidate.id"
    )

    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", "ends_after_start"),
        sa.CheckConstraint(_in("test_kind", TEST_KINDS), "known_test_kind"),
        sa.CheckConstraint("test_kind = 'quiz' OR paper_title <> ''", "paper_named"),
        sa.CheckConstraint("software_lead_hours >= 0", "lead_not_negative"),
    )

    @property
    def state(self) -> str:
        """planned, open or closed."""
        if self.closed_at is not None:
            return "closed"
        if self.opened_at is not None:
            return "open"
        return "planned"


class ExamAppointment(CreatedMixin, Base):
    """A person appointed by name: the commission's chair or a member, or a technician."""

    __tablename__ = "exam_appointments"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_sessions.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(12))
    appointed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    exam: Mapped[ExamSession] = relationship(back_populates="appointments")
    user = relationship("User", foreign_keys=[user_id])

    __table_args__ = (
        sa.CheckConstraint(_in("role", APPOINTMENT_ROLES), "known_role"),
        sa.UniqueConstraint("exam_id", "user_id", "role", name="uq_exam_appointments_person"),
    )


class ExamCandidate(CreatedMixin, Base):
    """A person who takes the exam; ``completion_id`` is set when the signed protocol grants
    the completion."""

    __tablename__ = "exam_candidates"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_sessions.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    completion_id: Mapped[int | None] = mapped_column(sa.ForeignKey("completions.id"))

    exam: Mapped[ExamSession] = relationship(back_populates="candidates")
    user = relationship("User", foreign_keys=[user_id])

    __table_args__ = (sa.UniqueConstraint("exam_id", "user_id", name="uq_exam_candidates_person"),)


class ChecklistTick(Base):
    """A checklist item ticked for one exam session by a technician, with the time."""

    __tablename__ = "exam_checklist_ticks"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_sessions.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_checklist_items.id"))
    ticked_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    printed_name: Mapped[str] = mapped_column(sa.String(200))
    ticked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    note: Mapped[str] = mapped_column(sa.String(500), default="")

    item: Mapped[ChecklistItem] = relationship(foreign_keys=[item_id])

    __table_args__ = (sa.UniqueConstraint("exam_id", "item_id", name="uq_exam_ticks_item"),)


class AccessEntry(Base):
    """One line of the access journal: a person in the exam room or the exam system.

    Never updated. Recording the exit, or correcting a line, adds a new line that supersedes
    the old one (``supersedes_id``, unique: a line is superseded at most once).
    """

    __tablename__ = "exam_access_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_sessions.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    person_name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(12))
    area: Mapped[str] = mapped_column(sa.String(8))
    time_in: Mapped[datetime] = mapped_column(UTCDateTime())
    time_out: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(sa.String(500))
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_by_name: Mapped[str] = mapped_column(sa.String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    supersedes_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("exam_access_entries.id"), unique=True
    )
    # why a line was corrected ("" for a first line and for a recorded exit)
    correction: Mapped[str] = mapped_column(sa.String(500), default="")
    self_sign_in: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        sa.CheckConstraint("time_out IS NULL OR time_out >= time_in", "exit_after_entry"),
        sa.CheckConstraint(_in("role", ACCESS_ROLES), "known_role"),
        sa.CheckConstraint(_in("area", ACCESS_AREAS), "known_area"),
    )


class ExamResult(Base):
    """A candidate's result as the commission records it; a correction supersedes."""

    __tablename__ = "exam_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_sessions.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    score: Mapped[int | None] = mapped_column()
    passed: Mapped[bool] = mapped_column()
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    supersedes_id: Mapped[int | None] = mapped_column(sa.ForeignKey("exam_results.id"), unique=True)

    __table_args__ = (
        sa.CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)", "score_range"),
    )


class ProtocolSignature(Base):
    """A commission member's signature on the exam protocol (re-authenticated by password)."""

    __tablename__ = "exam_protocol_signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_sessions.id"), index=True)
    signer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    printed_name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(12))
    meaning: Mapped[str] = mapped_column(sa.String(20), default="protocol")
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    method: Mapped[str] = mapped_column(sa.String(12), default="password")

    __table_args__ = (
        sa.UniqueConstraint("exam_id", "signer_id", name="uq_exam_protocol_signatures_signer"),
        sa.CheckConstraint("role IN ('chair', 'member')", "commission_role"),
    )
