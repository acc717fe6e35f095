"""Editing a draft version: topics and their attachments. Only a draft changes.

A submitted version is frozen (``Frozen``); a change needs a new draft
(``services.new_draft``). The quiz of a draft is edited in ``lms.programs.quiz``.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _

from lms.core import audit, ledger
from lms.core.errors import Conflict, DomainError
from lms.core.model import DbSession
from lms.programs.models import TOPIC_KINDS, Attachment, ProgramVersion, Topic


class Frozen(Conflict):
    """The version was submitted and can no longer change."""


def require_draft(version: ProgramVersion) -> None:
    """Only a draft changes; anything else raises ``Frozen``."""
    if version.status != "draft":
        raise Frozen(
            _(
                "Version %(n)d was submitted and is frozen. Create a new draft to change it.",
                n=version.number,
            )
        )


def _topic_values(title: dict[str, str], minutes: int, kind: str) -> None:
    if not any((title or {}).values()):
        raise DomainError(_("A topic needs a title."), field="title")
    if not isinstance(minutes, int) or not (1 <= minutes <= 600):
        raise DomainError(_("Allotted minutes must be from 1 to 600."), field="minutes")
    if kind not in TOPIC_KINDS:
        raise DomainError(_("Unknown topic kind."), field="kind")


def add_topic(
    session: DbSession,
    version: ProgramVersion,
    *,
    title: dict[str, str],
    body: dict[str, str],
    minutes: int,
    kind: str,
    actor_id: int | None,
) -> Topic:
    require_draft(version)
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
    session: DbSession,
    topic: Topic,
    *,
    title: dict[str, str],
    body: dict[str, str],
    minutes: int,
    kind: str,
    actor_id: int | None,
) -> Topic:
    require_draft(topic.version)
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


def delete_topic(session: DbSession, topic: Topic, actor_id: int | None) -> None:
    version = topic.version
    require_draft(version)
    version.topics.remove(topic)
    for i, t in enumerate(version.topics, start=1):
        t.position = i
    session.flush()
    audit.record(session, actor_id, "delete", "topic", topic.id, "", version_id=version.id)


def move_topic(session: DbSession, topic: Topic, direction: int, actor_id: int | None) -> None:
    version = topic.version
    require_draft(version)
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
    require_draft(topic.version)
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
