"""Editing a draft version: topics, attachments and quiz questions (frozen once submitted)."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _

from lms.core import audit, ledger
from lms.core.errors import DomainError
from lms.programs.models import (
    QUESTION_TYPES,
    TOPIC_KINDS,
    Attachment,
    ProgramVersion,
    Topic,
)
from lms.programs.versions import _require_draft

# ----- topics and questions in drafts -------------------------------------------------------


def _topic_values(title: dict[str, str], minutes: int, kind: str) -> None:
    if not any((title or {}).values()):
        raise DomainError(_("A topic needs a title."), field="title")
    if not isinstance(minutes, int) or not (1 <= minutes <= 600):
        raise DomainError(_("Allotted minutes must be from 1 to 600."), field="minutes")
    if kind not in TOPIC_KINDS:
        raise DomainError(_("Unknown topic kind."), field="kind")


def add_topic(
    session,
    version: ProgramVersion,
    *,
    title: dict[str, str],
    body: dict[str, str],
    minutes: int,
    kind: str,
    actor_id: int | None,
) -> Topic:
    _require_draft(version)
    _topic_values(title, minutes, kind)
    topic = Topic(
        position=len(version.topics) + 1, title=title, body=body, minutes=minutes, kind=kind
    )
    version.topics.append(topic)
    session.flush()
    audit.record(
        session,
        actor_id,
        "create",
        "topic",
        topic.id,
        next(iter(title.values())),
        version_id=version.id,
    )
    return topic


def update_topic(
    session,
    topic: Topic,
    *,
    title: dict[str, str],
    body: dict[str, str],
    minutes: int,
    kind: str,
    actor_id: int | None,
) -> Topic:
    _require_draft(topic.version)
    _topic_values(title, minutes, kind)
    topic.title, topic.body, topic.minutes, topic.kind = title, body, minutes, kind
    session.flush()
    audit.record(
        session,
        actor_id,
        "change",
        "topic",
        topic.id,
        next(iter(title.values())),
        version_id=topic.version_id,
    )
    return topic


def delete_topic(session, topic: Topic, actor_id: int | None) -> None:
    version = topic.version
    _require_draft(version)
    version.topics.remove(topic)
    for i, t in enumerate(version.topics, start=1):
        t.position = i
    session.flush()
    audit.record(session, actor_id, "delete", "topic", topic.id, "", version_id=version.id)


def move_topic(session, topic: Topic, direction: int, actor_id: int | None) -> None:
    version = topic.version
    _require_draft(version)
    topics = list(version.topics)
    i = topics.index(topic)
    j = i + (1 if direction > 0 else -1)
    if 0 <= j < len(topics):
        topics[i].position, topics[j].position = topics[j].position, topics[i].position
        session.flush()
        session.expire(version, ["topics"])
        audit.record(session, actor_id, "move", "topic", topic.id, "", version_id=version.id)


ALLOWED_UPLOADS = {
    b"%PDF-": ("application/pdf", ".pdf"),
    b"\x89PNG\r\n\x1a\n": ("image/png", ".png"),
    b"\xff\xd8\xff": ("image/jpeg", ".jpg"),
}
MAX_ATTACHMENT = 5 * 1024 * 1024


def add_attachment(
    session, topic: Topic, filename: str, data: bytes, actor_id: int | None
) -> Attachment:
    """A PDF, PNG or JPEG attachment, recognised by its content, not its name."""
    _require_draft(topic.version)
    if len(data) > MAX_ATTACHMENT:
        raise DomainError(_("The file is too large (at most 5 MB)."), field="file")
    kind = next((v for magic, v in ALLOWED_UPLOADS.items() if data.startswith(magic)), None)
    if kind is None:
        raise DomainError(_("Only PDF, PNG and JPEG files can be attached."), field="file")
    ctype = kind[0]
    safe = re.sub(r"[^\w.\- ]", "_", filename or "file")[:200] or "file"
    att = Attachment(
        filename=safe, content_type=ctype, size=len(data), sha256=ledger.sha256(data), data=data
    )
    topic.attachments.append(att)
    session.flush()
    audit.record(session, actor_id, "attach", "topic", topic.id, safe, sha256=att.sha256)
    return att


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
