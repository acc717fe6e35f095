"""My training: everything assigned to a person, most urgent first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from lms.accounts.models import User
from lms.completions import earning, standing
from lms.completions import services as completions
from lms.completions.models import Completion
from lms.core.clock import local_date
from lms.core.model import utcnow
from lms.learning.assignment import assigned_programs, outlines
from lms.learning.models import TopicProgress
from lms.learning.quizzes import QuizState, _quiz_facts, _quiz_state
from lms.learning.status import (
    STATES,
    Status,
    _first_due,
    _latest_expired,
    approved_dates,
    status_from_standing,
    training_status,
)
from lms.programs.models import Program, ProgramVersion

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
    attended: earning.Attendance | None = None  # a held session that counts, quiz missing

    @property
    def awaiting_session(self) -> bool:
        return self.completion is None and self.quiz.passed_attempt is not None


def _version(program: Program) -> ProgramVersion:
    """The current version of an assigned program (assignment joins it: never None)."""
    assert program.current_version is not None
    return program.current_version


def my_training(session, user: User, now: datetime | None = None) -> list[TrainingItem]:
    """Everything assigned to the person, most urgent first, with status and progress."""
    now = now or utcnow()
    today = local_date(now)
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
    approved = approved_dates(session, [_version(p) for p in assigned])
    outline = outlines(session, [_version(p).id for p in assigned])
    led = [p.id for p in assigned if _version(p).delivery_mode != "self_paced"]
    upcoming = earning.upcoming_sessions(session, user.id, led)
    stored = standing.standings(session, user.id, ids)
    items = []
    for program in assigned:
        version = _version(program)
        valid = valid_by_program.get(program.id)
        contents = outline[version.id]
        quiz = _quiz_state(program, quiz_facts[program.id], now, valid, contents.questions)
        read = read_counts.get(version.id, 0)
        started = read > 0 or quiz.open_attempt is not None or quiz.last_attempt is not None
        if program.id in stored:  # a required program: the one stored status, as compliance
            status = status_from_standing(stored[program.id], today, started)
        else:
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
            topics_total=contents.topics,
            topics_read=read,
            quiz=quiz,
        )
        if program.id in led:
            item.next_session = upcoming.get(program.id)
            if valid is None and contents.questions:
                item.attended = earning.attended(session, user.id, program.id)
        items.append(item)
    items.sort(
        key=lambda i: (STATES.index(i.status.state), i.status.due_on or date.max, i.program.code)
    )
    return items
