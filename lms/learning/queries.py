"""Reading quiz results for instructors and managers (GROUP BY queries, no loops per person).

Who sees whose results: administrators and instructors everyone's; a manager the people of
their department and the departments below it, and everyone's results for the programs they
head.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from lms.accounts.models import User
from lms.accounts.services import subtree_ids
from lms.completions.models import Completion
from lms.learning.models import Attempt, AttemptQuestion
from lms.programs.models import Program, ProgramVersion, Question


def _sees_everyone(viewer: User) -> bool:
    return viewer.has_role("admin") or viewer.has_role("instructor")


def scope_clause(session, viewer: User):
    """A condition on User (the learner) and Attempt limiting rows to what the viewer may see,
    or None for everything."""
    if _sees_everyone(viewer):
        return None
    headed = sa.select(Program.id).where(Program.head_id == viewer.id)
    depts = subtree_ids(session, viewer.department_id) if viewer.department_id else []
    return sa.or_(User.department_id.in_(depts), Attempt.program_id.in_(headed))


def can_see(session, viewer: User, person: User, program: Program) -> bool:
    if _sees_everyone(viewer) or program.head_id == viewer.id:
        return True
    if viewer.department_id is None or person.department_id is None:
        return False
    return person.department_id in subtree_ids(session, viewer.department_id)


@dataclass
class ProgramSummary:
    program: Program
    version: ProgramVersion | None
    attempts: int
    people: int
    passed: int
    last_at: datetime | None


def overview(session, viewer: User) -> list[ProgramSummary]:
    """Every program with an approved version, with its attempt counts the viewer may see."""
    counts = (
        sa.select(
            Attempt.program_id.label("program_id"),
            sa.func.count(Attempt.id).label("attempts"),
            sa.func.count(sa.distinct(Attempt.user_id)).label("people"),
            sa.func.sum(sa.case((Attempt.passed.is_(True), 1), else_=0)).label("passed"),
            sa.func.max(Attempt.started_at).label("last_at"),
        )
        .join(User, User.id == Attempt.user_id)
        .group_by(Attempt.program_id)
    )
    clause = scope_clause(session, viewer)
    if clause is not None:
        counts = counts.where(clause)
    by_program = {row.program_id: row for row in session.execute(counts)}
    programs = session.execute(
        sa.select(Program)
        .where(sa.or_(Program.current_version_id.is_not(None), Program.id.in_(by_program)))
        .order_by(Program.code)
    ).scalars()
    out = []
    for p in programs:
        row = by_program.get(p.id)
        out.append(
            ProgramSummary(
                program=p,
                version=p.current_version,
                attempts=row.attempts if row else 0,
                people=row.people if row else 0,
                passed=int(row.passed or 0) if row else 0,
                last_at=row.last_at if row else None,
            )
        )
    return out


def attempts_stmt(session, viewer: User, program_id: int, version_id: int | None = None):
    """The attempts at a program the viewer may see, newest first: rows of (Attempt, User)."""
    stmt = (
        sa.select(Attempt, User)
        .join(User, User.id == Attempt.user_id)
        .where(Attempt.program_id == program_id)
        .order_by(Attempt.started_at.desc(), Attempt.id.desc())
    )
    if version_id is not None:
        stmt = stmt.where(Attempt.version_id == version_id)
    clause = scope_clause(session, viewer)
    if clause is not None:
        stmt = stmt.where(clause)
    return stmt


@dataclass
class QuestionStat:
    question: Question
    asked: int
    correct: int

    @property
    def percent_correct(self) -> int | None:
        return self.correct * 100 // self.asked if self.asked else None


def question_stats(session, viewer: User, version_id: int) -> list[QuestionStat]:
    """Each question of a version: how often it was asked in submitted attempts and answered
    right, the most failed first; questions never asked come last."""
    agg = (
        sa.select(
            AttemptQuestion.question_id.label("question_id"),
            sa.func.count(AttemptQuestion.id).label("asked"),
            sa.func.sum(sa.case((AttemptQuestion.correct.is_(True), 1), else_=0)).label("correct"),
        )
        .join(Attempt, Attempt.id == AttemptQuestion.attempt_id)
        .join(User, User.id == Attempt.user_id)
        .where(Attempt.version_id == version_id, Attempt.state == "submitted")
        .group_by(AttemptQuestion.question_id)
    )
    clause = scope_clause(session, viewer)
    if clause is not None:
        agg = agg.where(clause)
    sub = agg.subquery()
    asked = sa.func.coalesce(sub.c.asked, 0)
    correct = sa.func.coalesce(sub.c.correct, 0)
    rows = session.execute(
        sa.select(Question, asked, correct)
        .outerjoin(sub, sub.c.question_id == Question.id)
        .where(Question.version_id == version_id)
        .order_by(
            sa.case((asked == 0, 1), else_=0),
            (sa.cast(correct, sa.Float) / sa.func.nullif(asked, 0)).asc(),
            asked.desc(),
            Question.position,
        )
    ).all()
    return [QuestionStat(q, int(a), int(c)) for q, a, c in rows]


def versions_with_attempts(session, program_id: int) -> list[ProgramVersion]:
    ids = sa.select(Attempt.version_id).where(Attempt.program_id == program_id).distinct()
    return list(
        session.execute(
            sa.select(ProgramVersion)
            .where(
                ProgramVersion.program_id == program_id,
                sa.or_(
                    ProgramVersion.id.in_(ids),
                    ProgramVersion.id
                    == sa.select(Program.current_version_id)
                    .where(Program.id == program_id)
                    .scalar_subquery(),
                ),
            )
            .order_by(ProgramVersion.number.desc())
        ).scalars()
    )


def my_attempts(session, user_id: int, program_id: int) -> list[Attempt]:
    """A learner's attempts at one course's quiz, newest first."""
    return list(
        session.scalars(
            sa.select(Attempt)
            .where(Attempt.user_id == user_id, Attempt.program_id == program_id)
            .order_by(Attempt.number.desc())
        )
    )


def completion_of(session, attempt_id: int) -> Completion | None:
    """The completion an attempt earned, if any."""
    return session.scalar(sa.select(Completion).where(Completion.attempt_id == attempt_id))
