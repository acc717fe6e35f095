"""Quiz attempts: start, expire, grade and submit, and report a pass to completions."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from lms.accounts.models import User
from lms.completions import earning
from lms.completions.models import Completion
from lms.core import audit, texts
from lms.core.clock import local_date
from lms.core.errors import Conflict, NotFound
from lms.core.model import utcnow
from lms.learning import questions as qtypes
from lms.learning.assignment import (
    AlreadySubmitted,
    BadAnswers,
    NoAttemptsLeft,
    TimeUp,
    Unanswered,
    require_assigned,
)
from lms.learning.models import Attempt, AttemptGrant, AttemptQuestion
from lms.learning.quizzes import _round_start, _when, quiz_settings, quiz_state
from lms.programs.models import Program

# ----- attempts: start, expire, submit -------------------------------------------------------


def get_attempt(session, attempt_id: int, user: User) -> Attempt:
    """The person's own attempt; someone else's is reported as missing."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != user.id:
        raise NotFound(_("No such quiz attempt."))
    return attempt


def _close_expired(session, attempt: Attempt, now: datetime) -> bool:
    """Close an open attempt whose time is up as failed; False if it was not open."""
    done = session.execute(
        sa.update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.state == "open")
        .values(state="expired", finished_at=now, passed=False)
        .execution_options(synchronize_session="fetch")
    )
    if done.rowcount != 1:
        session.refresh(attempt)
        return False
    session.refresh(attempt)
    audit.record(
        session,
        attempt.user_id,
        "expire",
        "attempt",
        attempt.id,
        texts.stored("learning.attempt", code=attempt.program.code, n=attempt.number),
        deadline=attempt.deadline_at.isoformat() if attempt.deadline_at else None,
    )
    return True


def close_expired(session, user_id: int, program_id: int, now: datetime | None = None) -> int:
    """Close the person's open attempts at the program whose time ran out."""
    now = now or utcnow()
    stale = session.execute(
        sa.select(Attempt).where(
            Attempt.user_id == user_id,
            Attempt.program_id == program_id,
            Attempt.state == "open",
            Attempt.deadline_at.is_not(None),
        )
    ).scalars()
    return sum(1 for a in list(stale) if a.time_is_up(now) and _close_expired(session, a, now))


def start_attempt(
    session,
    user: User,
    program: Program,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> Attempt:
    """Start an attempt at the quiz of the program's current approved version, or resume the
    one still open. Refused when the program is not assigned, there is no quiz, the person
    already holds a valid completion, every attempt is used, or the wait is not over.

    The questions are drawn from the version's pool (a sample of `questions_per_attempt`),
    the answers shuffled (true/false keeps its order); both are stored on the attempt.
    """
    now = now or utcnow()
    version = require_assigned(session, user, program)
    close_expired(session, user.id, program.id, now)
    state = quiz_state(session, user, program, now)
    if state.blocked is not None:
        raise state.blocked
    if state.open_attempt is not None:
        return state.open_attempt
    settings = state.settings
    rng = rng or random.SystemRandom()
    drawn = rng.sample(list(version.questions), settings.drawn)
    number = (
        session.execute(
            sa.select(sa.func.max(Attempt.number)).where(
                Attempt.user_id == user.id, Attempt.program_id == program.id
            )
        ).scalar()
        or 0
    ) + 1
    attempt = Attempt(
        user_id=user.id,
        program_id=program.id,
        version_id=version.id,
        number=number,
        state="open",
        started_at=now,
        deadline_at=now + timedelta(minutes=settings.time_limit_minutes)
        if settings.time_limit_minutes
        else None,
        question_count=len(drawn),
        pass_mark=settings.pass_mark,
    )
    for position, question in enumerate(drawn, start=1):
        order = [str(a["id"]) for a in question.answers]
        if qtypes.get(question.type).shuffle:
            rng.shuffle(order)
        attempt.questions.append(
            AttemptQuestion(position=position, question_id=question.id, answer_order=order)
        )
    session.add(attempt)
    try:
        session.flush()
    except IntegrityError:  # the request rolls back; no savepoint (pysqlite commits those)
        raise Conflict(
            _("Another attempt was started at the same moment. Reload the page.")
        ) from None
    audit.record(
        session,
        user.id,
        "start",
        "attempt",
        attempt.id,
        texts.stored("learning.attempt", code=program.code, n=number),
        version=version.number,
        questions=[q.key for q in drawn],
    )
    return attempt


def read_choices(attempt: Attempt, form: Mapping[str, Sequence[str]]) -> dict[int, list[int]]:
    """The posted choices as {attempt question id: [indexes into its shown answers]}.

    Fields are named ``q-<attempt question id>``, values are the positions of the answers
    as shown (opaque: the order was shuffled for this attempt). Anything naming a question
    outside the attempt, an answer that does not exist, or two answers to a one-answer
    question is refused as a whole.
    """
    refused = BadAnswers(
        _("The answers sent do not match the questions of this attempt. Nothing was recorded.")
    )
    rows = {aq.id: aq for aq in attempt.questions}
    chosen: dict[int, list[int]] = {}
    for key, values in form.items():
        if not key.startswith("q-"):
            continue
        try:
            aq = rows[int(key[2:])]
        except (ValueError, KeyError):
            raise refused from None
        indexes = []
        for value in values:
            try:
                index = int(value)
            except (TypeError, ValueError):
                raise refused from None
            if not 0 <= index < len(aq.answer_order):
                raise refused
            indexes.append(index)
        if not indexes:
            continue
        qtype = qtypes.get(aq.question.type)
        if not qtype.acceptable([aq.answer_order[i] for i in indexes]):
            raise refused
        chosen[aq.id] = indexes
    return chosen


@dataclass
class Outcome:
    attempt: Attempt
    completion: Completion | None
    awaiting_session: bool  # passed, and the completion waits for attendance at a session


def submit_attempt(
    session,
    attempt: Attempt,
    user: User,
    form: Mapping[str, Sequence[str]],
    now: datetime | None = None,
) -> Outcome:
    """Grade and record an open attempt, once.

    Refused: someone else's attempt (404), a program no longer assigned (403), an attempt
    already submitted or closed (409), a submission after the deadline plus the grace period
    (409; the attempt is closed as failed: the caller commits that), answers that are not
    part of the attempt (400), unanswered questions (400, the form is shown again). Nothing
    of the answers is stored when refused.

    A pass makes a completion for a self-paced program; for instructor-led and cascade
    programs only when the person attended a held session of the program (else the
    session earns it when signed: lms.completions.earning decides).
    """
    now = now or utcnow()
    if attempt.user_id != user.id:
        raise NotFound(_("No such quiz attempt."))
    program = attempt.program
    require_assigned(session, user, program)
    if attempt.state != "open":
        raise AlreadySubmitted(
            _("This attempt was already submitted. It cannot be submitted again.")
            if attempt.state == "submitted"
            else _("The time for this attempt ran out; it was closed as failed.")
        )
    if attempt.time_is_up(now):
        assert attempt.deadline_at is not None  # time runs out only with a deadline
        _close_expired(session, attempt, now)
        raise TimeUp(
            _(
                "The time limit for this attempt ran out at %(time)s. Your answers were not "
                "accepted and the attempt counts as failed.",
                time=_when(attempt.deadline_at),
            )
        )
    chosen = read_choices(attempt, form)
    missing = [aq.id for aq in attempt.questions if aq.id not in chosen]
    if missing:
        raise Unanswered(
            _("Answer every question before you submit. Nothing was recorded yet."),
            missing,
            chosen,
        )
    results: dict[int, tuple[list[str], bool]] = {}
    for aq in attempt.questions:
        ids = [aq.answer_order[i] for i in chosen[aq.id]]
        ok = qtypes.get(aq.question.type).grade(aq.question.answers, ids)
        results[aq.id] = (ids, ok)
    correct = sum(1 for _ids, ok in results.values() if ok)
    total = attempt.question_count
    passed = correct * 100 >= attempt.pass_mark * total
    done = session.execute(
        sa.update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.state == "open")
        .values(
            state="submitted",
            finished_at=now,
            correct_count=correct,
            score_percent=correct * 100 // total,
            passed=passed,
        )
        .execution_options(synchronize_session="fetch")
    )
    if done.rowcount != 1:  # submitted from another tab a moment ago
        raise AlreadySubmitted(
            _("This attempt was already submitted. It cannot be submitted again.")
        )
    session.refresh(attempt)
    for aq in attempt.questions:
        aq.chosen, aq.correct = results[aq.id]
    session.flush()
    audit.record(
        session,
        user.id,
        "submit",
        "attempt",
        attempt.id,
        texts.stored(
            "learning.attempt_scored",
            code=program.code,
            n=attempt.number,
            score=attempt.score_percent,
        ),
        score=attempt.score_percent,
        passed=passed,
        version_id=attempt.version_id,
    )
    completion, awaiting = None, False
    if passed:
        completion = complete_on_pass(session, attempt, local_date(now))
        awaiting = completion is None
    else:
        for listener in _FAILED_LISTENERS:  # not admitted until repeated (lms.compliance)
            listener(session, attempt)
    return Outcome(attempt, completion, awaiting)


_FAILED_LISTENERS: list[Callable[[Any, Attempt], Any]] = []


def on_quiz_failed(func: Callable[[Any, Attempt], Any]) -> Callable[[Any, Attempt], Any]:
    """Register func(session, attempt), called in the same transaction after a knowledge check
    (a quiz attempt) is failed."""
    _FAILED_LISTENERS.append(func)
    return func


def complete_on_pass(session, attempt: Attempt, completed_on: date) -> Completion | None:
    """Report a passed attempt to completions; the completion it earns now, if any."""
    if not attempt.passed:
        return None
    return earning.quiz_passed(
        session,
        user_id=attempt.user_id,
        attempt_id=attempt.id,
        version=attempt.version,
        passed_on=completed_on,
    )


@earning.register_quiz_source
def passed_attempt_id(session, user_id: int, program_id: int) -> int | None:
    """For completions: the newest passed attempt that may complete the program now.

    Choice: only attempts at the program's *current* approved version count (a new version
    means new content, so an older pass does not), only attempts started after the person's
    newest completion of the program (a pass earns one cycle of training), and only attempts
    no completion names yet (never two completions for one attempt). None when there is no
    such attempt. The caller records the completion with ``attempt_id`` set to the result.
    """
    program = session.get(Program, program_id)
    if program is None or program.current_version_id is None:
        return None
    since = _round_start(session, user_id, program_id, with_grants=False)
    stmt = sa.select(Attempt.id).where(
        Attempt.user_id == user_id,
        Attempt.program_id == program_id,
        Attempt.version_id == program.current_version_id,
        Attempt.state == "submitted",
        Attempt.passed.is_(True),
        ~sa.exists().where(Completion.attempt_id == Attempt.id),
    )
    if since is not None:
        stmt = stmt.where(Attempt.started_at > since)
    return session.execute(
        stmt.order_by(Attempt.finished_at.desc(), Attempt.id.desc()).limit(1)
    ).scalar()


def reveal_correct(session, attempt: Attempt, now: datetime) -> bool:
    """Whether the learner may see the correct answers of a finished attempt: when the
    program shows answers, and the learner passed or cannot try again in this round."""
    if attempt.state == "open" or not quiz_settings(attempt.version).show_answers:
        return False
    if attempt.passed:
        return True
    program = attempt.program
    if program.current_version_id != attempt.version_id:
        return True
    user = session.get(User, attempt.user_id)
    state = quiz_state(session, user, program, now)
    return isinstance(state.blocked, NoAttemptsLeft)


def grant_attempts(
    session, program: Program, person: User, actor_id: int | None, reason: str = ""
) -> AttemptGrant:
    """Give the person a new round of attempts at the program's quiz."""
    grant = AttemptGrant(
        user_id=person.id, program_id=program.id, granted_by_id=actor_id, reason=reason[:500]
    )
    session.add(grant)
    session.flush()
    audit.record(
        session,
        actor_id,
        "grant_attempts",
        "attempt_grant",
        grant.id,
        texts.stored("learning.attempts_granted", code=program.code, name=person.name),
        user_id=person.id,
        program_id=program.id,
        reason=grant.reason,
    )
    return grant
