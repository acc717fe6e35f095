"""Rules of the access journal of an exam session: who was where, from when to when.

Lines are never updated: an exit or a correction is a new line superseding the old one, and
every line is appended to the ledger. (The printable and exportable journal is exams.journal.)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.accounts.models import User
from lms.core import audit
from lms.core.errors import Conflict, DomainError, NotAllowed, NotFound
from lms.core.model import utcnow
from lms.exams.models import (
    ACCESS_AREAS,
    ACCESS_ROLES,
    AccessEntry,
    ExamSession,
)
from lms.exams.services import (
    ACCESS_FIELDS,
    ACCESS_KIND,
    CLOCK_SLACK,
    _append,
    may_keep_journal,
    roles_in,
)

# ----- the access journal ----------------------------------------------------------------------


def current_access(session, exam_id: int) -> list[AccessEntry]:
    """The journal as it stands: lines not superseded, in order of entry."""
    newer = sa.orm.aliased(AccessEntry)
    return list(
        session.execute(
            sa.select(AccessEntry)
            .where(
                AccessEntry.exam_id == exam_id,
                ~sa.exists().where(newer.supersedes_id == AccessEntry.id),
            )
            .order_by(AccessEntry.time_in, AccessEntry.id)
        ).scalars()
    )


def access_history(session, exam_id: int) -> list[AccessEntry]:
    """Every line ever written, in the order written."""
    return list(
        session.execute(
            sa.select(AccessEntry).where(AccessEntry.exam_id == exam_id).order_by(AccessEntry.id)
        ).scalars()
    )


def _check_times(time_in: datetime, time_out: datetime | None) -> None:
    if time_in > utcnow() + CLOCK_SLACK:
        raise DomainError(_("The time of entry is in the future."), field="time_in")
    if time_out is not None:
        if time_out < time_in:
            raise DomainError(
                _("The exit cannot be before the entry. Nothing was recorded."), field="time_out"
            )
        if time_out > utcnow() + CLOCK_SLACK:
            raise DomainError(_("The time of exit is in the future."), field="time_out")


def _write_access(session, line: AccessEntry, actor: User, exam: ExamSession) -> AccessEntry:
    session.add(line)
    session.flush()
    _append(session, ACCESS_KIND, ACCESS_FIELDS, line, actor.id)
    audit.record(
        session,
        actor.id,
        "access",
        "exam_session",
        exam.id,
        line.person_name,
        line=line.id,
        supersedes=line.supersedes_id,
    )
    return line


def record_access(
    session,
    exam: ExamSession,
    recorder: User,
    *,
    person: User | None,
    person_name: str = "",
    role: str,
    area: str,
    time_in: datetime,
    time_out: datetime | None = None,
    reason: str,
) -> AccessEntry:
    """A new line of the access journal: who entered the exam room or system, when, why."""
    if not may_keep_journal(exam, recorder):
        raise NotAllowed(_("Only the technicians and the commission keep the access journal."))
    name = person.name if person is not None else person_name.strip()
    if not name:
        raise DomainError(_("Name the person who entered."), field="person_name")
    if role not in ACCESS_ROLES:
        raise DomainError(_("Choose the person's role."), field="role")
    if area not in ACCESS_AREAS:
        raise DomainError(_("Choose the exam room or the exam system."), field="area")
    reason = reason.strip()
    if not reason:
        raise DomainError(_("Give the reason for the access."), field="reason")
    _check_times(time_in, time_out)
    return _write_access(
        session,
        AccessEntry(
            exam_id=exam.id,
            person_id=person.id if person is not None else None,
            person_name=name[:200],
            role=role,
            area=area,
            time_in=time_in.replace(microsecond=0),
            time_out=time_out.replace(microsecond=0) if time_out else None,
            reason=reason[:500],
            recorded_by_id=recorder.id,
            recorded_by_name=recorder.name,
            recorded_at=utcnow().replace(microsecond=0),
        ),
        recorder,
        exam,
    )


def _current_line(session, exam: ExamSession, line_id: int) -> AccessEntry:
    line = session.get(AccessEntry, line_id)
    if line is None or line.exam_id != exam.id:
        raise NotFound(_("There is no such line in this exam's access journal."))
    newer = session.execute(
        sa.select(AccessEntry.id).where(AccessEntry.supersedes_id == line.id)
    ).scalar()
    if newer is not None:
        raise Conflict(_("This line has already been superseded by a newer one."))
    return line


def _successor(line: AccessEntry, actor: User, **changes: Any) -> AccessEntry:
    values = {
        n: getattr(line, n)
        for n in (
            "exam_id",
            "person_id",
            "person_name",
            "role",
            "area",
            "time_in",
            "time_out",
            "reason",
            "self_sign_in",
        )
    }
    values.update(changes)
    return AccessEntry(
        **values,
        recorded_by_id=actor.id,
        recorded_by_name=actor.name,
        recorded_at=utcnow().replace(microsecond=0),
        supersedes_id=line.id,
    )


def record_exit(
    session, exam: ExamSession, line_id: int, recorder: User, time_out: datetime
) -> AccessEntry:
    """The exit of a person still inside: a new line with the time out."""
    line = _current_line(session, exam, line_id)
    own = line.self_sign_in and line.person_id == recorder.id
    if not own and not may_keep_journal(exam, recorder):
        raise NotAllowed(_("Only the technicians and the commission keep the access journal."))
    if line.time_out is not None:
        raise Conflict(_("The exit of this line is already recorded; correct the line instead."))
    _check_times(line.time_in, time_out)
    return _write_access(
        session,
        _successor(line, recorder, time_out=time_out.replace(microsecond=0)),
        recorder,
        exam,
    )


def correct_access(
    session,
    exam: ExamSession,
    line_id: int,
    recorder: User,
    *,
    time_in: datetime,
    time_out: datetime | None,
    reason: str,
    correction: str,
) -> AccessEntry:
    """Correct a line: a new line superseding it, with the reason for the correction."""
    if not may_keep_journal(exam, recorder):
        raise NotAllowed(_("Only the technicians and the commission keep the access journal."))
    line = _current_line(session, exam, line_id)
    correction = correction.strip()
    if not correction:
        raise DomainError(_("Say why the line is corrected."), field="correction")
    reason = reason.strip() or line.reason
    _check_times(time_in, time_out)
    return _write_access(
        session,
        _successor(
            line,
            recorder,
            time_in=time_in.replace(microsecond=0),
            time_out=time_out.replace(microsecond=0) if time_out else None,
            reason=reason[:500],
            correction=correction[:500],
        ),
        recorder,
        exam,
    )


def open_self_sign_in(session, exam: ExamSession, user_id: int) -> AccessEntry | None:
    return next(
        (
            e
            for e in current_access(session, exam.id)
            if e.self_sign_in and e.person_id == user_id and e.time_out is None
        ),
        None,
    )


def candidate_sign_in(session, exam: ExamSession, candidate: User) -> AccessEntry:
    """The candidate signs in to the exam on their own account: an entry to the exam system."""
    if "candidate" not in roles_in(exam, candidate.id):
        raise NotAllowed(_("You are not a candidate in this exam."))
    if exam.state != "open":
        raise Conflict(_("The exam is not open: you cannot sign in to it now."))
    if open_self_sign_in(session, exam, candidate.id) is not None:
        raise Conflict(_("You are already signed in to this exam."))
    now = utcnow().replace(microsecond=0)
    return _write_access(
        session,
        AccessEntry(
            exam_id=exam.id,
            person_id=candidate.id,
            person_name=candidate.name,
            role="candidate",
            area="system",
            time_in=now,
            reason="",
            recorded_by_id=candidate.id,
            recorded_by_name=candidate.name,
            recorded_at=now,
            self_sign_in=True,
        ),
        candidate,
        exam,
    )


def candidate_sign_out(session, exam: ExamSession, candidate: User) -> AccessEntry:
    line = open_self_sign_in(session, exam, candidate.id)
    if line is None:
        raise Conflict(_("You are not signed in to this exam."))
    return record_exit(session, exam, line.id, candidate, utcnow())
