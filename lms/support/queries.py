"""Reading help requests: one's own list and the support board."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from lms.accounts.models import User
from lms.support.models import LINES, HelpRequest


def my_requests(session, user_id: int) -> list[HelpRequest]:
    return list(
        session.execute(
            sa.select(HelpRequest)
            .where(HelpRequest.requester_id == user_id)
            .order_by(HelpRequest.status == "closed", HelpRequest.created_at.desc())
        ).scalars()
    )


@dataclass
class BoardLine:
    line: int
    requests: list[HelpRequest] = field(default_factory=list)
    overdue: int = 0


def board(session, now: datetime, line: int | None = None) -> list[BoardLine]:
    """Open requests by line, oldest first; each line counts those past their time."""
    stmt = (
        sa.select(HelpRequest)
        .options(joinedload(HelpRequest.requester))
        .where(HelpRequest.status != "closed")
        .order_by(HelpRequest.created_at, HelpRequest.id)
    )
    if line is not None:
        stmt = stmt.where(HelpRequest.line == line)
    lines = {n: BoardLine(n) for n in LINES if line is None or n == line}
    for req in session.execute(stmt).scalars():
        entry = lines[req.line]
        entry.requests.append(req)
        if req.overdue(now):
            entry.overdue += 1
    return list(lines.values())


def waiting_for(session, line: int, now: datetime) -> tuple[int, int]:
    """(open requests at the line, of which past their time to first answer)."""
    open_at_line = sa.and_(HelpRequest.status != "closed", HelpRequest.line == line)
    late = sa.and_(
        open_at_line,
        HelpRequest.first_answered_at.is_(None),
        HelpRequest.answer_due_at < now,
    )
    row = session.execute(
        sa.select(
            sa.func.count(HelpRequest.id).filter(open_at_line),
            sa.func.count(HelpRequest.id).filter(late),
        )
    ).one()
    return int(row[0]), int(row[1])


def active_people(session) -> list[User]:
    """Everyone who can sign in, by name (whom an admin may appoint to a support line)."""
    return list(
        session.execute(sa.select(User).where(User.active.is_(True)).order_by(User.name)).scalars()
    )


def user_ids(session) -> list[int]:
    """Every user id (the choices an appointment is checked against)."""
    return list(session.execute(sa.select(User.id)).scalars())
