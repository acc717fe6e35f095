"""Demo learning records: quiz attempts (some passed long ago, so due or overdue now), reading
progress, and one course in progress, so "My training" and the results pages look real.

Everything goes through the services with a moment in the past (`now=`), so the attempts,
completions and ledger entries are what the application itself would have recorded.
Idempotent: a person who already has attempts or reading progress at a program is left alone.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta

from lms.core.model import utcnow
from lms.learning import services
from lms.learning.models import Attempt, TopicProgress
from lms.programs.models import Program

# (person, "self_paced" or "led", when: days ago the first attempt began, or "due" / "overdue"
# for a pass whose completion now expires within 30 days / expired a month ago; outcomes)
PLAN: list[tuple[str, str, int | str, tuple[str, ...]]] = [
    ("emp02", "self_paced", 20, ("pass",)),
    ("emp03", "self_paced", "due", ("fail", "pass")),
    ("emp04", "self_paced", "overdue", ("pass",)),
    ("emp05", "self_paced", 3, ("fail",)),  # in progress
    ("emp06", "self_paced", 95, ("pass",)),
    ("emp07", "self_paced", 2, ("fail", "fail")),
    ("emp13", "self_paced", 40, ("pass",)),
    ("emp15", "self_paced", 200, ("fail", "pass")),
    ("emp17", "self_paced", 10, ("pass",)),
    ("emp19", "self_paced", 60, ("fail", "fail", "pass")),
    ("emp08", "led", 6, ("pass",)),  # passed; the completion waits for a held session
    ("emp10", "led", 4, ("fail",)),
]
IN_PROGRESS = ("employee", 2)  # the demo employee has read two topics, no attempt yet


def _difficulty(key: str) -> float:
    """A stable 0..1 difficulty per question key, so some questions are failed more often."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def _answers(attempt: Attempt, outcome: str, rng: random.Random) -> dict[str, list[str]]:
    """A form that passes or fails: wrong answers on the hardest questions drawn."""
    ranked = sorted(attempt.questions, key=lambda aq: -_difficulty(aq.question.key))
    total = len(ranked)
    need = -(-attempt.pass_mark * total // 100)  # questions right to pass
    if outcome == "pass":
        wrong = rng.choice([0, total - need]) if total > need else 0
    else:
        wrong = min(total, total - need + 1 + rng.randrange(2))
    wrong_ids = {aq.id for aq in ranked[:wrong]}
    form: dict[str, list[str]] = {}
    for aq in attempt.questions:
        shown = aq.shown_answers()
        good = [str(i) for i, a in enumerate(shown) if a.get("correct")]
        bad = [str(i) for i, a in enumerate(shown) if not a.get("correct")]
        form[f"q-{aq.id}"] = [rng.choice(bad)] if aq.id in wrong_ids and bad else good
    return form


def _has_records(session, user_id: int, program_id: int, version_id: int) -> bool:
    attempts = session.execute(
        sa.select(sa.func.count())
        .select_from(Attempt)
        .where(Attempt.user_id == user_id, Attempt.program_id == program_id)
    ).scalar()
    read = session.execute(
        sa.select(sa.func.count())
        .select_from(TopicProgress)
        .where(TopicProgress.user_id == user_id, TopicProgress.version_id == version_id)
    ).scalar()
    return bool(attempts or read)


def _read_topics(session, user, program, count: int, at: datetime) -> None:
    for i, topic in enumerate(program.current_version.topics[:count]):
        services.mark_read(session, user, program, topic, now=at + timedelta(minutes=10 * i))


def _expires(program) -> bool:
    version = program.current_version
    return bool(version.certificate_validity_months or version.refresher_months)


def _days_ago(program, when: int | str, outcomes: tuple[str, ...], now: datetime) -> int:
    """Days ago the first attempt began, so that a "due" or "overdue" pass is one now."""
    if isinstance(when, int):
        return when
    months = (
        program.current_version.certificate_validity_months
        or program.current_version.refresher_months
    )
    if not months:
        return 30
    expires = now.date() + timedelta(days=14 if when == "due" else -35)
    passed_on = expires - relativedelta(months=months)
    return (now.date() - passed_on).days + len(outcomes) - 1


def _take(session, user, program, when_: int | str, outcomes: tuple[str, ...], now) -> int:
    rng = random.Random(f"{user.email}:{program.code}")
    days_ago = _days_ago(program, when_, outcomes, now)
    when = now - timedelta(days=days_ago, hours=rng.randrange(2, 6))
    _read_topics(session, user, program, len(program.current_version.topics), when)
    taken = 0
    allowed = services.quiz_settings(program.current_version).max_attempts
    for outcome in outcomes[-allowed:]:
        when += timedelta(hours=2)
        attempt = services.start_attempt(session, user, program, now=when, rng=rng)
        minutes = rng.randrange(4, 12)
        services.submit_attempt(
            session,
            attempt,
            user,
            _answers(attempt, outcome, rng),
            now=when + timedelta(minutes=minutes),
        )
        taken += 1
        when += timedelta(days=1)
    return taken


def load_demo(session, users: dict, password: str, echo: Callable[[str], None]) -> None:
    """Attempts, completions and reading progress for demo employees (idempotent).

    `users` is keyed by the local part of the demo e-mail addresses (lms/demo.py PEOPLE).
    The demo employee ("employee") keeps at least one self-paced course not done.
    """
    del password  # nothing here signs
    now = utcnow()
    programs = [
        p
        for p in session.execute(
            sa.select(Program).where(Program.current_version_id.is_not(None)).order_by(Program.code)
        ).scalars()
        if p.current_version.status == "approved" and p.current_version.questions
    ]
    by_mode = {
        "self_paced": [p for p in programs if p.current_version.delivery_mode == "self_paced"],
        "led": [p for p in programs if p.current_version.delivery_mode != "self_paced"],
    }
    attempts = people = 0
    for n, (local, mode, days_ago, outcomes) in enumerate(PLAN):
        user = users.get(local)
        if user is None:
            continue
        candidates = by_mode[mode][:1] if mode == "led" else by_mode[mode]
        if not candidates:
            continue
        if any(_has_records(session, user.id, p.id, p.current_version_id) for p in candidates):
            continue  # loaded before
        codes = services.department_codes(session, user.department_id)
        k = (n // 2) % len(candidates)  # alternate pairs of people between the courses
        rotated = candidates[k:] + candidates[:k]
        if isinstance(days_ago, str):  # due or overdue needs a program that expires
            rotated = [p for p in rotated if _expires(p)]
        program = next(
            (
                p
                for p in rotated
                if services.audience_matches(p.current_version, user.job_title, codes)
            ),
            None,
        )
        if program is not None:  # one program per person keeps the picture varied
            attempts += _take(session, user, program, days_ago, outcomes, now)
            people += 1
    local, count = IN_PROGRESS
    employee = users.get(local)
    reading = 0
    if employee is not None:
        for program in services.assigned_programs(session, employee):
            version = program.current_version
            assert version is not None  # assigned programs have a current version
            if version.delivery_mode != "self_paced" or not version.questions:
                continue
            if not _has_records(session, employee.id, program.id, version.id):
                _read_topics(session, employee, program, count, now - timedelta(days=1))
                reading = 1
            break
    session.flush()
    echo(
        f"  learning: {attempts} quiz attempts by {people} people, "
        f"{reading} course in progress for {local}"
    )
