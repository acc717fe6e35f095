"""Reading progress: which topics a person has read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lms.accounts.models import User
from lms.core import ledger
from lms.core.errors import NotFound
from lms.core.model import utcnow
from lms.learning.assignment import require_assigned
from lms.learning.models import TopicProgress
from lms.programs import services as programs
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
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
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


# ----- a new version: reading progress carries over for unchanged topics ---------------------


def topic_fingerprint(topic: Topic) -> str:
    """What a reader read: title, text, minutes, kind and attachments (not the position)."""
    return ledger.sha256(
        {
            "title": topic.title,
            "body": topic.body or {},
            "minutes": topic.minutes,
            "kind": topic.kind,
            "attachments": sorted(a.sha256 for a in topic.attachments),
        }
    )


def _previous_version(session, version: ProgramVersion) -> ProgramVersion | None:
    """The approved version before this one (what people read until now)."""
    return session.execute(
        sa.select(ProgramVersion)
        .where(
            ProgramVersion.program_id == version.program_id,
            ProgramVersion.status == "approved",
            ProgramVersion.number < version.number,
        )
        .order_by(ProgramVersion.number.desc())
        .limit(1)
    ).scalar()


def unchanged_topics(old: ProgramVersion, new: ProgramVersion) -> dict[int, int]:
    """{old topic id: new topic id} for topics whose content did not change."""
    by_print: dict[str, int] = {}
    for t in new.topics:
        by_print.setdefault(topic_fingerprint(t), t.id)
    return {
        t.id: by_print[topic_fingerprint(t)] for t in old.topics if topic_fingerprint(t) in by_print
    }


@programs.on_approval
def carry_over_reading(session, version: ProgramVersion, actor_id: int | None) -> int:
    """A new version was approved: what people read of unchanged topics counts as read."""
    old = _previous_version(session, version)
    if old is None:
        return 0
    mapping = unchanged_topics(old, version)
    if not mapping:
        return 0
    rows = session.execute(
        sa.select(TopicProgress.user_id, TopicProgress.topic_id, TopicProgress.completed_at).where(
            TopicProgress.version_id == old.id, TopicProgress.topic_id.in_(mapping)
        )
    ).all()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    if rows:
        session.execute(
            insert(TopicProgress).on_conflict_do_nothing(index_elements=["user_id", "topic_id"]),
            [
                {
                    "user_id": uid,
                    "version_id": version.id,
                    "topic_id": mapping[tid],
                    "completed_at": at,
                }
                for uid, tid, at in rows
            ],
        )
    return len(rows)


@programs.on_effects
def reading_effects(session, version: ProgramVersion, needs_rebriefing: bool) -> list:
    """For the sign page: whose reading progress carries over, and what must be read again."""
    old = _previous_version(session, version)
    if old is None:
        return []
    mapping = unchanged_topics(old, version)
    changed = len(version.topics) - len(set(mapping.values()))
    readers = session.execute(
        sa.select(User.id, User.name)
        .join(TopicProgress, TopicProgress.user_id == User.id)
        .where(TopicProgress.version_id == old.id)
        .group_by(User.id, User.name)
        .order_by(User.name)
    ).all()
    if not readers:
        return []
    return [
        programs.Effect(
            _(
                "%(n)d people started reading version %(old)d: their progress carries over for "
                "%(kept)d unchanged topics; %(changed)d new or changed topics must be read.",
                n=len(readers),
                old=old.number,
                kept=len(mapping),
                changed=changed,
            ),
            tuple(name for _id, name in readers),
            tuple(uid for uid, _name in readers),
        )
    ]
