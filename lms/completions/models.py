from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.model import Base, CreatedMixin, UTCDateTime

EARNED_BY = ("quiz", "session", "cascade", "record", "exam")


class Completion(CreatedMixin, Base):
    """A person holds a program version from a date, until an expiry date.

    Never updated: a correction is a new completion that names the one it supersedes; a
    revocation is a separate record. Both go into the ledger.
    """

    __tablename__ = "completions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("programs.id"), index=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("program_versions.id"))
    completed_on: Mapped[date] = mapped_column(sa.Date)
    expires_on: Mapped[date | None] = mapped_column(sa.Date, index=True)
    earned_by: Mapped[str] = mapped_column(sa.String(12))
    # where it was earned: a held session and/or a passed quiz attempt (rows of those domains;
    # the foreign keys name their tables, so completions imports neither domain)
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("training_sessions.id"), index=True
    )
    attempt_id: Mapped[int | None] = mapped_column(sa.ForeignKey("learning_attempts.id"))
    # who trained the person, and that trainer's own completion (cascade lineage)
    trainer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    trainer_completion_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("completions.id"), index=True
    )
    cascade_level: Mapped[int | None] = mapped_column()
    supersedes_id: Mapped[int | None] = mapped_column(sa.ForeignKey("completions.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(sa.String(500), default="")

    user = relationship("User", foreign_keys=[user_id])
    trainer = relationship("User", foreign_keys=[trainer_id])
    program = relationship("Program", foreign_keys=[program_id])
    version = relationship("ProgramVersion", foreign_keys=[version_id])
    trainer_completion: Mapped[Completion | None] = relationship(
        remote_side="Completion.id", foreign_keys=[trainer_completion_id]
    )
    revocation: Mapped[Revocation | None] = relationship(back_populates="completion", uselist=False)

    __table_args__ = (
        sa.CheckConstraint(
            "earned_by IN (" + ", ".join(f"'{e}'" for e in EARNED_BY) + ")", "known_earned_by"
        ),
        sa.CheckConstraint("expires_on IS NULL OR expires_on >= completed_on", "expiry_after"),
        sa.CheckConstraint(
            "trainer_completion_id IS NULL OR trainer_completion_id <> id", "not_own_trainer"
        ),
        sa.Index("ix_completions_user_program", "user_id", "program_id", "completed_on"),
    )

    def state(self, today: date) -> str:
        """valid, expired, revoked or superseded (superseded is decided by the caller)."""
        if self.revocation is not None:
            return "revoked"
        if self.expires_on is not None and self.expires_on < today:
            return "expired"
        return "valid"


class Revocation(Base):
    """A completion withdrawn, with the reason. Never updated."""

    __tablename__ = "completion_revocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    completion_id: Mapped[int] = mapped_column(sa.ForeignKey("completions.id"), unique=True)
    reason: Mapped[str] = mapped_column(sa.String(1000))
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # a revocation caused by the trainer's own revocation (cascade lapse)
    caused_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("completion_revocations.id"))
    # the revoker's signature (a person revoking; empty for a lapse the system propagates):
    # the meaning, the printed name and how the signer re-authenticated
    meaning: Mapped[str | None] = mapped_column(sa.String(20))
    printed_name: Mapped[str | None] = mapped_column(sa.String(200))
    method: Mapped[str | None] = mapped_column(sa.String(12))

    completion: Mapped[Completion] = relationship(back_populates="revocation")
    revoked_by = relationship("User", foreign_keys=[revoked_by_id])


CERTIFICATE_LANGUAGES = ("lv", "en", "ru", "lv+en")
CERTIFICATE_TEMPLATES = ("classic", "compact")


class Certificate(Base):
    """The certificate of one completion: number, verification code and a snapshot of the
    printed fields, so the PDF can be produced again, byte for byte, from this row alone."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    completion_id: Mapped[int] = mapped_column(sa.ForeignKey("completions.id"), unique=True)
    number: Mapped[str] = mapped_column(sa.String(40), unique=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    language: Mapped[str] = mapped_column(sa.String(8))
    template: Mapped[str] = mapped_column(sa.String(20))
    fields: Mapped[dict] = mapped_column(sa.JSON)
    # the layout version of ``template`` it is made with (None: issued before versions: 1)
    template_version: Mapped[int | None] = mapped_column()
    # set once: the SHA-256 of the PDF as first issued
    pdf_sha256: Mapped[str | None] = mapped_column(sa.String(64), index=True)

    completion: Mapped[Completion] = relationship(foreign_keys=[completion_id])

    __table_args__ = (
        sa.CheckConstraint(
            "language IN (" + ", ".join(f"'{x}'" for x in CERTIFICATE_LANGUAGES) + ")",
            "known_language",
        ),
        # the auditor's search pages through (issued at, id), newest first
        sa.Index("ix_certificates_issued_at_id", "issued_at", "id"),
    )


class CertificatePdf(Base):
    """A certificate's PDF as issued: rendered once, stored with its SHA-256, served ever
    after (so every web server shares it and one backup holds it). Never updated: at most
    one per certificate, so a retried render stores nothing twice."""

    __tablename__ = "certificate_pdfs"

    certificate_id: Mapped[int] = mapped_column(
        sa.ForeignKey("certificates.id"), primary_key=True, autoincrement=False
    )
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    template_version: Mapped[int] = mapped_column()
    sealed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CertificateTemplateChoice(Base):
    """Which certificate layout each program category uses (chosen by an admin)."""

    __tablename__ = "certificate_template_choices"

    category: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    template: Mapped[str] = mapped_column(sa.String(20))


class ExportJob(CreatedMixin, Base):
    """A bulk certificate export running as a background job; the page polls its progress."""

    __tablename__ = "export_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    filters: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(12), default="queued")
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    path: Mapped[str] = mapped_column(sa.String(300), default="")
    error: Mapped[str] = mapped_column(sa.String(500), default="")
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # crash safety (lms.jobs): attempts started, and the lease the running worker renews
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
