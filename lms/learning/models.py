"""Self-paced learning records: topics read, quiz attempts and their answers.

An attempt is a record: once submitted (or closed when its time ran out) it is never changed.
The questions drawn for it, and the order in which their answers were shown, are stored on
its rows, so what the learner saw can be shown again exactly.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.model import Base, CreatedMixin, UTCDateTime, utcnow

ATTEMPT_STATES = ("open", "submitted", "expired")
# A submission this long after the deadline is still accepted (the network, a slow click).
GRACE = timedelta(seconds=30)


class TopicProgress(Base):
    """A person has read a topic of a program version."""

    __tablename__ = "learning_topic_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("program_versions.id"))
    topic_id: Mapped[int] = mapped_column(sa.ForeignKey("topics.id", ondelete="CASCADE"))
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("user_id", "topic_id"),
        sa.Index("ix_learning_topic_progress_user_version", "user_id", "version_id"),
    )


class Attempt(Base):
    """One try at the quiz of an approved program version."""

    __tablename__ = "learning_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("programs.id"), index=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("program_versions.id"), index=True)
    number: Mapped[int] = mapped_column()  # 1, 2, ... per person and program
    state: Mapped[str] = mapped_column(sa.String(12), default="open")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    question_count: Mapped[int] = mapped_column()
    correct_count: Mapped[int | None] = mapped_column()
    score_percent: Mapped[int | None] = mapped_column()
    pass_mark: Mapped[int] = mapped_column()  # the version's pass mark when the attempt began
    passed: Mapped[bool | None] = mapped_column()

    user = relationship("User", foreign_keys=[user_id])
    program = relationship("Program", foreign_keys=[program_id])
    version = relationship("ProgramVersion", foreign_keys=[version_id])
    questions: Mapped[list[AttemptQuestion]] = relationship(
        back_populates="attempt", order_by="AttemptQuestion.position", cascade="all"
    )

    __table_args__ = (
        sa.UniqueConstraint("user_id", "program_id", "number"),
        sa.Index("ix_learning_attempts_user_program", "user_id", "program_id", "started_at"),
        sa.CheckConstraint(
            "state IN (" + ", ".join(f"'{s}'" for s in ATTEMPT_STATES) + ")", "known_state"
        ),
        sa.CheckConstraint("number >= 1", "number_positive"),
        sa.CheckConstraint("question_count >= 1", "has_questions"),
        sa.CheckConstraint("pass_mark BETWEEN 1 AND 100", "pass_mark_range"),
        sa.CheckConstraint(
            "score_percent IS NULL OR score_percent BETWEEN 0 AND 100", "score_range"
        ),
        sa.CheckConstraint(
            "(state = 'open' AND finished_at IS NULL) OR (state <> 'open' AND finished_at IS NOT NULL)",
            "finished_when_closed",
        ),
        sa.CheckConstraint(
            "state <> 'submitted' OR (score_percent IS NOT NULL AND passed IS NOT NULL "
            "AND correct_count IS NOT NULL)",
            "graded_when_submitted",
        ),
        sa.CheckConstraint("deadline_at IS NULL OR deadline_at > started_at", "deadline_after"),
    )

    def time_is_up(self, now: datetime) -> bool:
        """True once the deadline and the grace period have passed."""
        return self.deadline_at is not None and now > self.deadline_at + GRACE

    def effective_state(self, now: datetime) -> str:
        """The state, counting an open attempt past its deadline as expired."""
        if self.state == "open" and self.time_is_up(now):
            return "expired"
        return self.state


class AttemptQuestion(Base):
    """A question drawn for an attempt, the order its answers were shown, and the answer."""

    __tablename__ = "learning_attempt_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(sa.ForeignKey("learning_attempts.id"))
    position: Mapped[int] = mapped_column()
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("questions.id"), index=True)
    answer_order: Mapped[list[str]] = mapped_column(sa.JSON)
    chosen: Mapped[list[str] | None] = mapped_column(sa.JSON)
    correct: Mapped[bool | None] = mapped_column()

    attempt: Mapped[Attempt] = relationship(back_populates="questions")
    question = relationship("Question", foreign_keys=[question_id])

    __table_args__ = (
        sa.UniqueConstraint("attempt_id", "position"),
        sa.UniqueConstraint("attempt_id", "question_id"),
    )

    def shown_answers(self) -> list[dict[str, Any]]:
        """The question's answers in the order this attempt showed them."""
        by_id = {str(a["id"]): a for a in self.question.answers}
        return [by_id[i] for i in self.answer_order if i in by_id]


class AttemptGrant(CreatedMixin, Base):
    """An instructor or manager gave a person a new round of attempts at a program's quiz.

    Attempts started before the newest grant no longer count against the limit.
    """

    __tablename__ = "learning_attempt_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("programs.id"))
    granted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(sa.String(500), default="")

    granted_by = relationship("User", foreign_keys=[granted_by_id])

    __table_args__ = (sa.Index("ix_learning_attempt_grants_user_program", "user_id", "program_id"),)
