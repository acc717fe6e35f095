"""Rules of self-paced learning.

Who is assigned which program, the training status on "My training", reading progress,
quiz attempts (draw, time limit, grading, completion). Editing the quiz of a draft: editor.py.
Services flush, never commit; broken rules raise a DomainError a person understands.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from lms.accounts.models import Department, User
from lms.completions import services as completions
from lms.completions.models import Completion
from lms.core import audit
from lms.core.errors import Conflict, DomainError, NotAllowed, NotFound
from lms.core.model import utcnow
from lms.learning import questions as qtypes
from lms.learning.models import Attempt, AttemptGrant, AttemptQuestion, TopicProgress
from lms.programs import services as programs
from lms.programs.models import Program, ProgramVersion, Signature, Topic

DUE_WINDOW = timedelta(days=30)
STATES = ("overdue", "due", "in_progress", "not_started", "passed")  # also the sort order


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
    """The codes of the department and of every department above it."""
    if department_id is None:
        return set()
    rows = session.execute(sa.select(Department.id, Department.parent_id, Department.code)).all()
    by_id = {r.id: r for r in rows}
    codes: set[str] = set()
    cursor: int | None = department_id
    while cursor is not None and cursor in by_id and by_id[cursor].code.upper() not in codes:
        codes.add(by_id[cursor].code.upper())
        cursor = by_id[cursor].parent_id
    return codes


def audience_matches(version: ProgramVersion, job_title: str | None, codes: set[str]) -> bool:
    """Departments (codes; a sub-department matches its parents) and job titles (any case);
    an empty list means everyone."""
    depts = {str(d).strip().upper() for d in version.audience_departments or [] if str(d).strip()}
    if depts and not depts & codes:
        return False
    titles = {
        str(t).strip().casefold() for t in version.audience_job_titles or [] if str(t).strip()
    }
    return not titles or (job_title or "").strip().casefold() in titles


def assigned_programs(session, user: User) -> list[Program]:
    """Programs assigned to the person: the audience of the current approved version
    includes their department (or a department above it) and their job title."""
    codes = department_codes(session, user.department_id)
    current = sa.orm.contains_eager(Program.current_version)
    rows = session.execute(
        sa.select(Program)
        .join(ProgramVersion, ProgramVersion.id == Program.current_version_id)
        .where(ProgramVersion.status == "approved")
        .order_by(Program.code)
        .options(
            current.selectinload(ProgramVersion.topics),
            current.selectinload(ProgramVersion.questions),
        )
    ).scalars()
    return [p for p in rows if audience_matches(p.current_version, user.job_title, codes)]


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


def quiz_settings(version: ProgramVersion) -> QuizSettings:
    """The version's quiz settings, with defaults for anything a draft left out."""
    quiz = version.quiz or {}
    pool = len(version.questions)
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


# ----- training status ----------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    state: str  # one of STATES
    due_on: date | None


def training_status(
    today: date,
    *,
    valid: Completion | None,
    expired_on: date | None,
    started: bool,
    first_due: date,
) -> Status:
    """The status of one assigned program for one person: the rule, in one place.

    - passed: a valid completion that does not expire within 30 days; due date = its expiry.
    - due: a valid completion that expires within 30 days; due date = its expiry.
    - overdue: the newest completion expired (due date = its expiry), or the program was
      never completed and its first due date is before today.
    - in progress: never completed, not overdue, and a topic was read or a quiz attempted.
    - not started: otherwise.

    The first due date of a program never completed is the later of the person's start date
    (else the day the account was created) and the day the version was approved, plus 0
    days: the training comes before the work. `valid` is the newest valid completion
    (lms.completions.services.valid_completion); `expired_on` the expiry of the newest
    non-revoked completion when it has expired.
    """
    if valid is not None:
        if valid.expires_on is not None and valid.expires_on - today <= DUE_WINDOW:
            return Status("due", valid.expires_on)
        return Status("passed", valid.expires_on)
    if expired_on is not None:
        return Status("overdue", expired_on)
    if first_due < today:
        return Status("overdue", first_due)
    return Status("in_progress" if started else "not_started", first_due)


def approved_dates(session, versions: Sequence[ProgramVersion]) -> dict[int, date]:
    """The day each version was approved (its approving signature), in one query."""
    signed = dict(
        session.execute(
            sa.select(Signature.version_id, sa.func.min(Signature.signed_at))
            .where(
                Signature.version_id.in_([v.id for v in versions]), Signature.meaning == "approved"
            )
            .group_by(Signature.version_id)
        ).all()
    )
    return {v.id: (signed.get(v.id) or v.submitted_at or v.created_at).date() for v in versions}


def _first_due(user: User, approved: date) -> date:
    """The first due date of a program never completed (see training_status)."""
    start = user.start_date or user.created_at.date()
    return max(start, approved)


def _latest_expired(
    session, user_id: int, program_ids: Sequence[int], today: date
) -> dict[int, date]:
    """Per program: the expiry of the newest non-revoked completion, when it has expired."""
    from lms.completions.models import Revocation

    rows = session.execute(
        sa.select(Completion.program_id, Completion.expires_on)
        .where(
            Completion.user_id == user_id,
            Completion.program_id.in_(program_ids),
            ~sa.exists().where(Revocation.completion_id == Completion.id),
        )
        .order_by(Completion.program_id, Completion.completed_on.desc(), Completion.id.desc())
    ).all()
    newest: dict[int, date | None] = {}
    for program_id, expires_on in rows:
        newest.setdefault(program_id, expires_on)
    return {pid: exp for pid, exp in newest.items() if exp is not None and exp < today}


# ----- reading progress ---------------------------------------------------------------------


def read_topic_ids(session, user_id: int, version_id: int) -> set[int]:
    return read_topic_ids_by_version(session, user_id, [version_id]).get(version_id, set())


def read_topic_ids_by_version(
    session, user_id: int, version_ids: Sequence[int]
) -> dict[int, set[int]]:
    """The topics the person has read, per version, in one query."""
    out: dict[int, set[int]] = {vid: set() for vid in version_ids}
    if version_ids:
        for vid, tid in session.execute(
            sa.select(TopicProgress.version_id, TopicProgress.topic_id).where(
                TopicProgress.user_id == user_id, TopicProgress.version_id.in_(version_ids)
            )
        ):
            out[vid].add(tid)
    return out


def first_unread(version: ProgramVersion, read: set[int]) -> Topic | None:
    return next((t for t in version.topics if t.id not in read), None)


def get_topic(version: ProgramVersion, position: int) -> Topic:
    topic = next((t for t in version.topics if t.position == position), None)
    if topic is None:
        raise NotFound(_("No such topic."))
    return topic


def mark_read(
    session, user: User, program: Program, topic: Topic, now: datetime | None = None
) -> TopicProgress:
    """Record that the person read a topic of the program's current version (once)."""
    version = require_assigned(session, user, program)
    if topic.version_id != version.id:
        raise NotFound(_("No such topic."))
    values = dict(
        user_id=user.id, version_id=version.id, topic_id=topic.id, completed_at=now or utcnow()
    )
    # Once per person and topic, even for two clicks at the same moment: insert or nothing.
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(
        insert(TopicProgress)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["user_id", "topic_id"])
    )
    return session.execute(
        sa.select(TopicProgress).where(
            TopicProgress.user_id == user.id, TopicProgress.topic_id == topic.id
        )
    ).scalar_one()


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
    return format_datetime(value, "short")


def quiz_state(
    session,
    user: User,
    program: Program,
    now: datetime,
    valid: Completion | None | type[Ellipsis] = ...,
) -> QuizState:
    """What the person may do with the quiz of the program's current version now."""
    if valid is ...:
        valid = completions.valid_completion(session, user.id, program.id, now.date())
    return _quiz_state(program, _quiz_facts(session, user.id, [program.id])[program.id], now, valid)


def _quiz_state(program: Program, facts: _QuizFacts, now: datetime, valid) -> QuizState:
    version = program.current_version
    settings = quiz_settings(version)
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
        valid.expires_on is not None and valid.expires_on - now.date() <= DUE_WINDOW
    ):
        if valid.expires_on is None:
            blocked = AlreadyPassed(_("You have completed this program; it does not expire."))
        else:
            blocked = AlreadyPassed(
                _(
                    "You hold a valid completion of this program until %(date)s. "
                    "You can take the quiz again from %(start)s.",
                    date=format_date(valid.expires_on),
                    start=format_date(valid.expires_on - DUE_WINDOW),
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
        f"{attempt.program.code} #{attempt.number}",
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
        f"{program.code} #{number}",
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
    sessions side records it when the session is signed, see passed_attempt_id).
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
        f"{program.code} #{attempt.number}: {attempt.score_percent}%",
        score=attempt.score_percent,
        passed=passed,
        version_id=attempt.version_id,
    )
    completion, awaiting = None, False
    if passed:
        completion = complete_on_pass(session, attempt, now.date())
        awaiting = completion is None
    return Outcome(attempt, completion, awaiting)


def _sessions_function(name: str) -> Callable | None:
    """A function of lms.sessions.services, or None while that domain does not offer it."""
    try:
        module = importlib.import_module("lms.sessions.services")
    except ModuleNotFoundError as err:
        if err.name != "lms.sessions.services":
            raise
        return None
    return getattr(module, name, None)


def complete_on_pass(session, attempt: Attempt, completed_on: date) -> Completion | None:
    """The completion a passed attempt earns, if it earns one now.

    Self-paced: earned by the quiz. Instructor-led and cascade: earned by the session, when
    lms.sessions.services.held_attendance() names a held session the person attended whose
    attendance has not already earned them a completion. Never two completions per attempt.
    """
    if not attempt.passed:
        return None
    already = session.execute(
        sa.select(Completion.id).where(Completion.attempt_id == attempt.id)
    ).scalar()
    if already:
        return None
    version = attempt.version
    if version.delivery_mode == "self_paced":
        return completions.record_completion(
            session,
            user_id=attempt.user_id,
            version=version,
            completed_on=completed_on,
            earned_by="quiz",
            actor_id=attempt.user_id,
            attempt_id=attempt.id,
        )
    held_attendance = _sessions_function("held_attendance")
    held = (
        held_attendance(session, attempt.user_id, attempt.program_id) if held_attendance else None
    )
    if not held:
        return None
    session_id, instructor_id = held
    already_used = session.execute(
        sa.select(Completion.id).where(
            Completion.user_id == attempt.user_id, Completion.session_id == session_id
        )
    ).scalar()
    if already_used:  # that attendance already earned a completion (an earlier cycle)
        return None
    return completions.record_completion(
        session,
        user_id=attempt.user_id,
        version=version,
        completed_on=completed_on,
        earned_by="session",
        actor_id=attempt.user_id,
        session_id=session_id,
        trainer_id=instructor_id,
        attempt_id=attempt.id,
    )


def passed_attempt_id(session, user_id: int, program_id: int) -> int | None:
    """For the sessions side: the newest passed attempt that may complete the program now.

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
        f"{program.code}: {person.name}",
        user_id=person.id,
        program_id=program.id,
        reason=grant.reason,
    )
    return grant


# ----- My training -------------------------------------------------------------------------


@dataclass
class TrainingItem:
    program: Program
    version: ProgramVersion
    status: Status
    completion: Completion | None  # the valid one
    topics_total: int
    topics_read: int
    quiz: QuizState
    next_session: Any = None
    resume_position: int | None = None

    @property
    def awaiting_session(self) -> bool:
        return self.completion is None and self.quiz.passed_attempt is not None


def my_training(session, user: User, now: datetime | None = None) -> list[TrainingItem]:
    """Everything assigned to the person, most urgent first, with status and progress."""
    now = now or utcnow()
    today = now.date()
    assigned = assigned_programs(session, user)
    if not assigned:
        return []
    read_counts = dict(
        session.execute(
            sa.select(TopicProgress.version_id, sa.func.count())
            .where(
                TopicProgress.user_id == user.id,
                TopicProgress.version_id.in_([p.current_version_id for p in assigned]),
            )
            .group_by(TopicProgress.version_id)
        ).all()
    )
    ids = [p.id for p in assigned]
    valid_by_program = completions.valid_completions(session, user.id, ids, today)
    expired = _latest_expired(session, user.id, ids, today)
    quiz_facts = _quiz_facts(session, user.id, ids)
    approved = approved_dates(session, [p.current_version for p in assigned])
    partly_read = [
        p.current_version_id
        for p in assigned
        if 0 < read_counts.get(p.current_version_id, 0) < len(p.current_version.topics)
    ]
    read_ids = read_topic_ids_by_version(session, user.id, partly_read)
    led = [p.id for p in assigned if p.current_version.delivery_mode != "self_paced"]
    next_enrolments = _sessions_function("next_enrolments")
    upcoming = next_enrolments(session, user.id, led) if led and next_enrolments else {}
    items = []
    for program in assigned:
        version = program.current_version
        valid = valid_by_program.get(program.id)
        quiz = _quiz_state(program, quiz_facts[program.id], now, valid)
        read = read_counts.get(version.id, 0)
        started = read > 0 or quiz.open_attempt is not None or quiz.last_attempt is not None
        status = training_status(
            today,
            valid=valid,
            expired_on=None if valid is not None else expired.get(program.id),
            started=started,
            first_due=_first_due(user, approved[version.id]),
        )
        item = TrainingItem(
            program=program,
            version=version,
            status=status,
            completion=valid,
            topics_total=len(version.topics),
            topics_read=read,
            quiz=quiz,
        )
        if program.id in led:
            item.next_session = upcoming.get(program.id)
        if version.id in read_ids:
            unread = first_unread(version, read_ids[version.id])
            item.resume_position = unread.position if unread else None
        items.append(item)
    items.sort(
        key=lambda i: (STATES.index(i.status.state), i.status.due_on or date.max, i.program.code)
    )
    return items
