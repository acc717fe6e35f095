"""Reads for the programs pages: search, the head's signing queue, form choices, loaders."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.accounts.models import Department
from lms.accounts.services import search_users
from lms.core.errors import NotFound
from lms.core.model import DbSession
from lms.programs.models import (
    BRIEFING_TYPES,
    CATEGORIES,
    Attachment,
    Program,
    ProgramVersion,
    Topic,
)


def search_programs(
    q: str = "",
    category: str | None = None,
    briefing_type: str | None = None,
    status: str | None = None,
):
    """Programs with their latest version, filtered."""
    latest = (
        sa.select(ProgramVersion.program_id, sa.func.max(ProgramVersion.number).label("n"))
        .group_by(ProgramVersion.program_id)
        .subquery()
    )
    stmt = (
        sa.select(Program, ProgramVersion)
        .join(latest, latest.c.program_id == Program.id)
        .join(
            ProgramVersion,
            sa.and_(ProgramVersion.program_id == Program.id, ProgramVersion.number == latest.c.n),
        )
        .order_by(Program.code)
    )
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(Program.code).like(like),
                sa.func.lower(sa.cast(ProgramVersion.title, sa.String)).like(like),
            )
        )
    if category in CATEGORIES:
        stmt = stmt.where(Program.category == category)
    if briefing_type in BRIEFING_TYPES:
        stmt = stmt.where(ProgramVersion.briefing_type == briefing_type)
    if status == "approved":
        stmt = stmt.where(Program.current_version_id.is_not(None))
    elif status in ("draft", "submitted", "rejected"):
        stmt = stmt.where(ProgramVersion.status == status)
    return stmt


def awaiting_signature(session: DbSession, signer_id: int) -> list[ProgramVersion]:
    return list(
        session.execute(
            sa.select(ProgramVersion)
            .join(Program, Program.id == ProgramVersion.program_id)
            .where(Program.head_id == signer_id, ProgramVersion.status == "submitted")
            .order_by(ProgramVersion.submitted_at)
        ).scalars()
    )


def department_choices(session: DbSession) -> list[tuple[str, str]]:
    """(code, name) of every department, by name: the audience choices of a program."""
    depts = session.scalars(sa.select(Department).order_by(Department.name))
    return [(d.code, d.local_name) for d in depts]


def head_choices(session: DbSession) -> list[tuple[int, str]]:
    """(id, name) of the active managers who can head a program."""
    return [
        (u.id, u.name) for u in session.scalars(search_users(session, role="manager", active=True))
    ]


def get_attachment(session: DbSession, attachment_id: int) -> Attachment:
    att = session.get(Attachment, attachment_id)
    if att is None:
        raise NotFound(_("There is no such page."))  # as abort(404) says it
    return att


def version_topic(session: DbSession, version: ProgramVersion, topic_id: int) -> Topic:
    """A topic of this version (a topic of another version is not found)."""
    topic = session.get(Topic, topic_id)
    if topic is None or topic.version_id != version.id:
        raise NotFound(_("There is no such page."))  # as abort(404) says it
    return topic
