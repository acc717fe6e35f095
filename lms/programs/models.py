from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.model import Base, CreatedMixin, UTCDateTime

CATEGORIES = ("fire", "workplace", "technical")
BRIEFING_TYPES = (
    "introductory",
    "initial",
    "repeated",
    "unscheduled",
    "targeted",
    "fire_minimum",
)
DELIVERY_MODES = ("instructor_led", "self_paced", "cascade")
TOPIC_KINDS = ("lesson", "seminar", "practice")
QUESTION_TYPES = ("single", "multiple", "true_false")
VERSION_STATUSES = ("draft", "submitted", "approved", "rejected")
MEANINGS = ("approved", "reviewed", "rejected")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class Program(CreatedMixin, Base):
    """A training program. What is signed (title, content, intervals) lives in its versions."""

    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    category: Mapped[str] = mapped_column(sa.String(20))
    head_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    current_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("program_versions.id", use_alter=True)
    )
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    head = relationship("User", foreign_keys=[head_id])
    current_version: Mapped[ProgramVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True
    )
    versions: Mapped[list[ProgramVersion]] = relationship(
        back_populates="program",
        foreign_keys="ProgramVersion.program_id",
        order_by="ProgramVersion.number",
    )

    __table_args__ = (sa.CheckConstraint(_in("category", CATEGORIES), "known_category"),)


class ProgramVersion(CreatedMixin, Base):
    __tablename__ = "program_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("programs.id"), index=True)
    number: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(sa.String(12), default="draft")
    title: Mapped[dict[str, str]] = mapped_column(sa.JSON)
    description: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    briefing_type: Mapped[str] = mapped_column(sa.String(20))
    delivery_mode: Mapped[str] = mapped_column(sa.String(20))
    refresher_months: Mapped[int | None] = mapped_column()
    certificate_validity_months: Mapped[int | None] = mapped_column()
    audience_departments: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    audience_job_titles: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # cascade mode: how many levels below the instructor (1: responsible persons brief staff)
    cascade_levels: Mapped[int] = mapped_column(default=1, server_default="1")
    quiz: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    source: Mapped[str] = mapped_column(sa.String(300), default="")
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    based_on_id: Mapped[int | None] = mapped_column(sa.ForeignKey("program_versions.id"))
    # set by the program head when approving: the change amends the instruction, so people
    # holding an earlier version need an unscheduled briefing (LV MK 238, RU 2464)
    needs_rebriefing: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    program: Mapped[Program] = relationship(back_populates="versions", foreign_keys=[program_id])
    topics: Mapped[list[Topic]] = relationship(
        back_populates="version", order_by="Topic.position", cascade="all, delete-orphan"
    )
    questions: Mapped[list[Question]] = relationship(
        back_populates="version", order_by="Question.position", cascade="all, delete-orphan"
    )
    signatures: Mapped[list[Signature]] = relationship(
        back_populates="version", order_by="Signature.signed_at"
    )
    created_by = relationship("User", foreign_keys=[created_by_id])

    __table_args__ = (
        sa.UniqueConstraint("program_id", "number"),
        sa.CheckConstraint(_in("status", VERSION_STATUSES), "known_status"),
        sa.CheckConstraint(_in("briefing_type", BRIEFING_TYPES), "known_briefing_type"),
        sa.CheckConstraint(_in("delivery_mode", DELIVERY_MODES), "known_delivery_mode"),
        sa.CheckConstraint(
            "refresher_months IS NULL OR (refresher_months BETWEEN 1 AND 120)",
            "refresher_range",
        ),
        sa.CheckConstraint("cascade_levels BETWEEN 1 AND 5", "cascade_levels_range"),
        sa.CheckConstraint(
            "certificate_validity_months IS NULL OR "
            "(certificate_validity_months BETWEEN 1 AND 240)",
            "validity_range",
        ),
    )

    @property
    def frozen(self) -> bool:
        return self.status != "draft"

    @property
    def total_minutes(self) -> int:
        return sum(t.minutes for t in self.topics)

    def minutes_by_kind(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.topics:
            out[t.kind] = out.get(t.kind, 0) + t.minutes
        return out


class Topic(Base):
    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("program_versions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column()
    title: Mapped[dict[str, str]] = mapped_column(sa.JSON)
    body: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    minutes: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(sa.String(12), default="lesson")

    version: Mapped[ProgramVersion] = relationship(back_populates="topics")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="topic", order_by="Attachment.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint("minutes BETWEEN 1 AND 600", "minutes_range"),
        sa.CheckConstraint(_in("kind", TOPIC_KINDS), "known_kind"),
    )


class Attachment(CreatedMixin, Base):
    __tablename__ = "topic_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(
        sa.ForeignKey("topics.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)

    topic: Mapped[Topic] = relationship(back_populates="attachments")


class Question(Base):
    """A quiz question of a version: text and answers per language, the correct ones marked."""

    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("program_versions.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(sa.String(40))
    position: Mapped[int] = mapped_column()
    type: Mapped[str] = mapped_column(sa.String(12))
    text: Mapped[dict[str, str]] = mapped_column(sa.JSON)
    # [{"id": "a1", "text": {lang: str}, "correct": bool}]
    answers: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)

    version: Mapped[ProgramVersion] = relationship(back_populates="questions")

    __table_args__ = (
        sa.UniqueConstraint("version_id", "key"),
        sa.CheckConstraint(_in("type", QUESTION_TYPES), "known_type"),
    )


class Signature(Base):
    """An electronic signature on a program version. Never updated or deleted."""

    __tablename__ = "program_signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("program_versions.id"), index=True)
    signer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    printed_name: Mapped[str] = mapped_column(sa.String(200))
    meaning: Mapped[str] = mapped_column(sa.String(12))
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    method: Mapped[str] = mapped_column(sa.String(20), default="password")

    version: Mapped[ProgramVersion] = relationship(back_populates="signatures")
    signer = relationship("User", foreign_keys=[signer_id])

    __table_args__ = (sa.CheckConstraint(_in("meaning", MEANINGS), "known_meaning"),)
