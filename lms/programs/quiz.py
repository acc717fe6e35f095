"""Quiz authoring: the questions of a draft version's pool and its quiz settings.

Questions are checked by ``validate_question``, the same rule for the editor and for a course
pack; only a draft changes (``drafts.require_draft``). How a learner answers each type is in
``lms.learning.questions``; taking a quiz is the learning room's.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _

from lms.core import audit, texts
from lms.core.errors import DomainError, NotFound
from lms.core.model import DbSession
from lms.programs.drafts import require_draft
from lms.programs.models import QUESTION_TYPES, ProgramVersion, Question

KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
MAX_ANSWERS = 8


def validate_question(qtype: str, text: dict[str, str], answers: list[dict[str, Any]]) -> None:
    if qtype not in QUESTION_TYPES:
        raise DomainError(_("Unknown question type."), field="type")
    if not any((text or {}).values()):
        raise DomainError(_("A question needs a text."), field="text")
    if len(answers) < 2:
        raise DomainError(_("A question needs at least two answers."), field="answers")
    correct = sum(1 for a in answers if a.get("correct"))
    if qtype in ("single", "true_false") and correct != 1:
        raise DomainError(_("Mark exactly one correct answer."), field="answers")
    if qtype == "true_false" and len(answers) != 2:
        raise DomainError(_("A true-or-false question has exactly two answers."), field="answers")
    if qtype == "multiple" and correct < 1:
        raise DomainError(_("Mark at least one correct answer."), field="answers")


def get_question(version: ProgramVersion, question_id: int) -> Question:
    question = next((q for q in version.questions if q.id == question_id), None)
    if question is None:
        raise NotFound(_("No such question."))
    return question


def _clean_question(
    version: ProgramVersion,
    question: Question | None,
    key: str,
    qtype: str,
    text: dict[str, str],
    answers: list[dict[str, Any]],
) -> tuple[str, dict[str, str], list[dict[str, Any]]]:
    key = (key or "").strip()
    if not KEY_RE.match(key):
        raise DomainError(
            _("A key is 1 to 40 letters, digits, dots, dashes or underscores."), field="key"
        )
    if any(q.key == key and q is not question for q in version.questions):
        raise DomainError(_("Another question of this version has this key."), field="key")
    if qtype not in QUESTION_TYPES:
        raise DomainError(_("Unknown question type."), field="type")
    text = {k: v.strip() for k, v in (text or {}).items() if (v or "").strip()}
    rows = [a for a in answers if any((v or "").strip() for v in (a.get("text") or {}).values())]
    if len(rows) > MAX_ANSWERS:
        raise DomainError(
            _("A question has at most %(n)d answers.", n=MAX_ANSWERS), field="answers"
        )
    used: set[str] = set()
    cleaned: list[dict[str, Any]] = []
    for row in rows:
        wanted = str(row.get("id") or "")
        cleaned.append(
            {
                "id": wanted if re.fullmatch(r"a\d{1,3}", wanted) and wanted not in used else "",
                "text": {k: v.strip() for k, v in row["text"].items() if (v or "").strip()},
                "correct": bool(row.get("correct")),
            }
        )
        used.add(cleaned[-1]["id"])
    n = 0
    for row in cleaned:
        if not row["id"]:
            n += 1
            while f"a{n}" in used:
                n += 1
            row["id"] = f"a{n}"
            used.add(row["id"])
    validate_question(qtype, text, cleaned)
    return key, text, cleaned


def next_question_key(version: ProgramVersion) -> str:
    keys = {q.key for q in version.questions}
    n = len(keys) + 1
    while f"q{n:02d}" in keys:
        n += 1
    return f"q{n:02d}"


def add_question(
    session: DbSession,
    version: ProgramVersion,
    *,
    key: str,
    qtype: str,
    text: dict[str, str],
    answers: list[dict[str, Any]],
    actor_id: int | None,
) -> Question:
    """Add a question to the pool of a draft version."""
    require_draft(version)
    key, text, answers = _clean_question(version, None, key, qtype, text, answers)
    question = Question(
        key=key,
        position=max((q.position for q in version.questions), default=0) + 1,
        type=qtype,
        text=text,
        answers=answers,
    )
    version.questions.append(question)
    session.flush()
    audit.record(session, actor_id, "create", "question", question.id, key, version_id=version.id)
    return question


def update_question(
    session: DbSession,
    question: Question,
    *,
    key: str,
    qtype: str,
    text: dict[str, str],
    answers: list[dict[str, Any]],
    actor_id: int | None,
) -> Question:
    version = question.version
    require_draft(version)
    key, text, answers = _clean_question(version, question, key, qtype, text, answers)
    question.key, question.type, question.text, question.answers = key, qtype, text, answers
    session.flush()
    audit.record(session, actor_id, "change", "question", question.id, key, version_id=version.id)
    return question


def delete_question(session: DbSession, question: Question, actor_id: int | None) -> None:
    version = question.version
    require_draft(version)
    version.questions.remove(question)
    for i, q in enumerate(version.questions, start=1):
        q.position = i
    session.flush()
    audit.record(
        session, actor_id, "delete", "question", question.id, question.key, version_id=version.id
    )


def update_quiz_settings(
    session: DbSession,
    version: ProgramVersion,
    *,
    pass_mark: int,
    questions_per_attempt: int,
    max_attempts: int,
    wait_minutes: int,
    time_limit_minutes: int | None,
    show_answers: bool,
    actor_id: int | None,
) -> None:
    """Change the quiz settings of a draft version (checked like a course pack)."""
    require_draft(version)
    pool = len(version.questions)

    def within(value, low, high, field):
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise DomainError(
                _("Enter a whole number from %(low)d to %(high)d.", low=low, high=high),
                field=field,
            )

    within(pass_mark, 1, 100, "pass_mark")
    within(questions_per_attempt, 1, max(pool, 1), "questions_per_attempt")
    within(max_attempts, 1, 100, "max_attempts")
    within(wait_minutes, 0, 100_000, "wait_minutes")
    if time_limit_minutes is not None:
        within(time_limit_minutes, 1, 600, "time_limit_minutes")
    quiz = {
        "pass_mark": pass_mark,
        "questions_per_attempt": questions_per_attempt,
        "max_attempts": max_attempts,
        "wait_minutes": wait_minutes,
        "time_limit_minutes": time_limit_minutes,
        "show_answers": bool(show_answers),
    }
    before = dict(version.quiz or {})
    version.quiz = quiz  # a new dict: JSON columns do not see changes in place
    session.flush()
    if before != quiz:
        audit.record(
            session,
            actor_id,
            "change",
            "program_version",
            version.id,
            texts.stored("programs.version_quiz", code=version.program.code, n=version.number),
            before=before,
            after=quiz,
        )
