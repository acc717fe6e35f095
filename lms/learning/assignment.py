"""Who is assigned which program, and the errors of self-paced learning."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.accounts.models import Department, User
from lms.core.errors import Conflict, DomainError, NotAllowed
from lms.programs import services as programs
from lms.programs.models import Program, ProgramVersion, Question, Topic

# ----- errors -------------------------------------------------------------------------------


class NotAssigned(NotAllowed):
    """The program is not assigned to the person."""


class NoQuiz(Conflict):
    """The approved version has no quiz questions."""


class AlreadyPassed(Conflict):
    """A valid completion, or a pass awaiting a session, makes a new attempt pointless."""


class NoAttemptsLeft(Conflict):
    """Every allowed attempt of this round has been used."""


class MustWait(Conflict):
    """The wait between attempts has not passed yet."""


class AlreadySubmitted(Conflict):
    """An attempt is submitted once."""


class TimeUp(Conflict):
    """The time limit (plus the grace period) has passed; the attempt is closed as failed."""


class BadAnswers(DomainError):
    """The form names questions or answers that are not part of the attempt (tampering)."""


class Unanswered(DomainError):
    """Some questions have no answer; nothing is recorded and the form is shown again."""

    def __init__(self, message: str, missing: list[int], chosen: dict[int, list[int]]):
        super().__init__(message)
        self.missing = missing
        self.chosen = chosen  # attempt question id -> indexes chosen, to fill the form again


# ----- who is assigned what ----------------------------------------------------------------


def department_codes(session, department_id: int | None) -> set[str]:
    """The codes of the department and of every department above it: one recursive query up
    the tree from the department (not the whole tree; UNION stops at a loop)."""
    if department_id is None:
        return set()
    cols = (Department.id, Department.parent_id, Department.code)
    up = sa.select(*cols).where(Department.id == department_id).cte("up", recursive=True)
    up = up.union(sa.select(*cols).join(up, Department.id == up.c.parent_id))
    return {code.upper() for code in session.scalars(sa.select(up.c.code)) if code}


def audience_matches(version: ProgramVersion, job_title: str | None, codes: set[str]) -> bool:
    """Departments (codes; a sub-department matches its parents) and job titles (any case);
    an empty list means everyone."""
    return _audience_includes(
        version.audience_departments, version.audience_job_titles, job_title, codes
    )


def _audience_includes(
    departments: list[str] | None,
    job_titles: list[str] | None,
    job_title: str | None,
    codes: set[str],
) -> bool:
    depts = {str(d).strip().upper() for d in departments or [] if str(d).strip()}
    if depts and not depts & codes:
        return False
    titles = {str(t).strip().casefold() for t in job_titles or [] if str(t).strip()}
    return not titles or (job_title or "").strip().casefold() in titles


def assigned_programs(session, user: User) -> list[Program]:
    """Programs assigned to the person: the audience of the current approved version
    includes their department (or a department above it) and their job title.

    The audiences are read as columns; only the assigned programs are loaded, with their
    current version (topics and questions load when something reads them; My training reads
    their outline with :func:`outlines`)."""
    codes = department_codes(session, user.department_id)
    audiences = session.execute(
        sa.select(
            Program.id, ProgramVersion.audience_departments, ProgramVersion.audience_job_titles
        )
        .join(ProgramVersion, ProgramVersion.id == Program.current_version_id)
        .where(ProgramVersion.status == "approved")
    ).all()
    ids = [
        pid
        for pid, departments, titles in audiences
        if _audience_includes(departments, titles, user.job_title, codes)
    ]
    if not ids:
        return []
    return list(
        session.scalars(
            sa.select(Program)
            .join(ProgramVersion, ProgramVersion.id == Program.current_version_id)
            .where(Program.id.in_(ids))
            .order_by(Program.code)
            .options(sa.orm.contains_eager(Program.current_version))
        )
    )


@dataclass(frozen=True)
class Outline:
    """What a list of programs needs of a version's contents: how many topics and quiz
    questions it has."""

    topics: int
    questions: int


def outlines(session, version_ids: list[int]) -> dict[int, Outline]:
    """The outline of each version, in one query of counts (no topic or question texts)."""
    topics = (
        sa.select(sa.func.count(Topic.id))
        .where(Topic.version_id == ProgramVersion.id)
        .scalar_subquery()
    )
    questions = (
        sa.select(sa.func.count(Question.id))
        .where(Question.version_id == ProgramVersion.id)
        .scalar_subquery()
    )
    rows = session.execute(
        sa.select(ProgramVersion.id, topics, questions).where(ProgramVersion.id.in_(version_ids))
    )
    return {vid: Outline(topics=t, questions=q) for vid, t, q in rows}


def require_assigned(session, user: User, program: Program) -> ProgramVersion:
    """The program's current approved version, when the program is assigned to the person."""
    version = program.current_version
    if (
        version is None
        or version.status != "approved"
        or not audience_matches(
            version, user.job_title, department_codes(session, user.department_id)
        )
    ):
        raise NotAssigned(_("This program is not assigned to you."))
    return version


def get_program(session, program_id: int) -> Program:
    return programs.get_program(session, program_id)
