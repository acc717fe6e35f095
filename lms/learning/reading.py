"""Reading progress: which topics a person has read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.accounts.models import User
from lms.core.errors import NotFound
from lms.core.model import utcnow
from lms.learning.assignment import require_assigned
from lms.learning.models import TopicProgress
from lms.programs.models import Program, ProgramVersion, Topic

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
