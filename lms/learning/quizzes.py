"""A program's quiz settings and the state of a person's quiz (rounds, limits, waits)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import EllipsisType

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.accounts.models import User
from lms.completions import services as completions
from lms.completions.models import Completion
from lms.core.clock import local_date
from lms.core.dates import fmt_date, fmt_datetime
from lms.core.errors import DomainError
from lms.learning.assignment import AlreadyPassed, MustWait, NoAttemptsLeft, NoQuiz
from lms.learning.models import Attempt, AttemptGrant
from lms.learning.status import DUE_WINDOW
from lms.programs.models import Program, ProgramVersion

# ----- quiz settings ------------------------------------------------------------------------


@dataclass(frozen=True)
class QuizSettings:
    pass_mark: int
    questions_per_attempt: int
    max_attempts: int
    wait_minutes: int
    time_limit_minutes: int | None
    show_answers: bool
    pool: int  # questions in the version

    @property
    def drawn(self) -> int:
        return min(self.questions_per_attempt, self.pool)


def quiz_settings(version: ProgramVersion, pool: int | None = None) -> QuizSettings:
    """The version's quiz settings, with defaults for anything a draft left out. ``pool``:
    the number of its questions when the caller counted them (else they are loaded)."""
    quiz = version.quiz or {}
    pool = len(version.questions) if pool is None else pool
    return QuizSettings(
        pass_mark=int(quiz.get("pass_mark") or 80),
        questions_per_attempt=int(quiz.get("questions_per_attempt") or pool or 1),
        max_attempts=int(quiz.get("max_attempts") or 3),
        wait_minutes=int(quiz.get("wait_minutes") or 0),
        time_limit_minutes=int(quiz["time_limit_minutes"])
        if quiz.get("time_limit_minutes")
        else None,
        show_answers=bool(quiz.get("show_answers", True)),
        pool=pool,
    )


# ----- attempts: the state of a person's quiz -------------------------------------------------


@dataclass
class _QuizFacts:
    """What a person's quiz state is computed from, for one program."""

    completed_at: datetime | None = None  # the newest completion was recorded
    granted_at: datetime | None = None  # the newest grant of a new round of attempts
    attempts: list[Attempt] = field(default_factory=list)  # every attempt, by number

    def round_start(self, with_grants: bool) -> datetime | None:
        """Attempts after this moment form the current round: after the newest completion of
        the program (a new cycle of training) and, when counting attempts, the newest grant."""
        times = [self.completed_at, self.granted_at if with_grants else None]
        return max((t for t in times if t is not None), default=None)

    def round_attempts(self, version_id: int | None, with_grants: bool) -> list[Attempt]:
        """Attempts at this version in the current round, by number."""
        since = self.round_start(with_grants)
        return [
            a
            for a in self.attempts
            if a.version_id == version_id and (since is None or a.started_at > since)
        ]


def _quiz_facts(
    session,
    user_id: int,
    program_ids: Sequence[int],
    *,
    grants: bool = True,
    attempts: bool = True,
) -> dict[int, _QuizFacts]:
    """_QuizFacts for several programs in a fixed number of queries."""
    facts = {pid: _QuizFacts() for pid in program_ids}
    for pid, at in session.execute(
        sa.select(Completion.program_id, sa.func.max(Completion.created_at))
        .where(Completion.user_id == user_id, Completion.program_id.in_(program_ids))
        .group_by(Completion.program_id)
    ):
        facts[pid].completed_at = at
    if grants:
        for pid, at in session.execute(
            sa.select(AttemptGrant.program_id, sa.func.max(AttemptGrant.created_at))
            .where(AttemptGrant.user_id == user_id, AttemptGrant.program_id.in_(program_ids))
            .group_by(AttemptGrant.program_id)
        ):
            facts[pid].granted_at = at
    if attempts:
        for a in session.execute(
            sa.select(Attempt)
            .where(Attempt.user_id == user_id, Attempt.program_id.in_(program_ids))
            .order_by(Attempt.program_id, Attempt.number)
        ).scalars():
            facts[a.program_id].attempts.append(a)
    return facts


def _round_start(session, user_id: int, program_id: int, with_grants: bool) -> datetime | None:
    facts = _quiz_facts(session, user_id, [program_id], grants=with_grants, attempts=False)
    return facts[program_id].round_start(with_grants)


@dataclass
class QuizState:
    settings: QuizSettings
    used: int  # attempts counted against the limit in this round
    open_attempt: Attempt | None
    passed_attempt: Attempt | None  # passed in this round, awaiting a session
    last_attempt: Attempt | None
    next_start_at: datetime | None
    blocked: DomainError | None  # why no new attempt can start now

    @property
    def available(self) -> bool:
        return self.settings.pool > 0

    @property
    def left(self) -> int:
        return max(0, self.settings.max_attempts - self.used)

    @property
    def can_start(self) -> bool:
        return self.blocked is None


def _when(value: datetime) -> str:
    return fmt_datetime(value)


def quiz_state(
    session,
    user: User,
    program: Program,
    now: datetime,
    valid: Completion | None | EllipsisType = ...,
) -> QuizState:
    """What the person may do with the quiz of the program's current version now."""
    if valid is ...:
        valid = completions.valid_completion(session, user.id, program.id, local_date(now))
    return _quiz_state(program, _quiz_facts(session, user.id, [program.id])[program.id], now, valid)


def _quiz_state(
    program: Program, facts: _QuizFacts, now: datetime, valid, pool: int | None = None
) -> QuizState:
    version = program.current_version
    assert version is not None  # a quiz is only asked of a program with a current version
    settings = quiz_settings(version, pool)
    counted = facts.round_attempts(program.current_version_id, with_grants=True)
    in_cycle = facts.round_attempts(program.current_version_id, with_grants=False)
    open_attempt = next((a for a in counted if a.effective_state(now) == "open"), None)
    passed = next((a for a in reversed(in_cycle) if a.passed), None)
    last = facts.attempts[-1] if facts.attempts else None
    next_start_at = None
    if last is not None and settings.wait_minutes and last.effective_state(now) != "open":
        finished = last.finished_at or (last.deadline_at or last.started_at)
        ready = finished + timedelta(minutes=settings.wait_minutes)
        if ready > now:
            next_start_at = ready
    used = len(counted)

    blocked: DomainError | None = None
    if settings.pool == 0:
        blocked = NoQuiz(_("This program has no quiz."))
    elif valid is not None and not (
        valid.expires_on is not None and valid.expires_on - local_date(now) <= DUE_WINDOW
    ):
        if valid.expires_on is None:
            blocked = AlreadyPassed(_("You have completed this program; it does not expire."))
        else:
            blocked = AlreadyPassed(
                _(
                    "You hold a valid completion of this program until %(date)s. "
                    "You can take the quiz again from %(start)s.",
                    date=fmt_date(valid.expires_on),
                    start=fmt_date(valid.expires_on - DUE_WINDOW),
                )
            )
    elif open_attempt is not None:
        blocked = None  # starting again resumes the open attempt
    elif passed is not None:
        blocked = AlreadyPassed(
            _(
                "You passed the quiz. The completion is recorded when you attend a session "
                "of this program."
            )
        )
    elif used >= settings.max_attempts:
        blocked = NoAttemptsLeft(
            _(
                "You have used all %(n)d attempts at this quiz. Ask an instructor or your "
                "manager to allow more.",
                n=settings.max_attempts,
            )
        )
    elif next_start_at is not None:
        blocked = MustWait(
            _("You can start the next attempt at %(time)s.", time=_when(next_start_at))
        )
    return QuizState(
        settings=settings,
        used=used,
        open_attempt=open_attempt,
        passed_attempt=passed,
        last_attempt=last,
        next_start_at=next_start_at,
        blocked=blocked,
    )
