"""Who earns a completion: the one place that decides.

The other domains report what happened and never decide themselves:

- sessions reports that a session was signed as conducted, with each enrolled person's
  attendance as the signature covers it (`session_signed`), and answers, through the source it
  registers, whether a person attended and acknowledged a held session of a program
  (`register_attendance_source`);
- learning reports a passed quiz (`quiz_passed`) and answers, through its source, whether a
  person holds a passed attempt that may still count (`register_quiz_source`).

The rule: a self-paced program is earned by the quiz. An instructor-led or cascade program is
earned by the session: attended (present or late) and acknowledged, in a session signed as
conducted, plus a passed quiz when the version has questions, whichever of the two comes last.
One attendance earns one completion, one attempt earns one completion. The completion records
its source (session and/or attempt), the trainer, and for cascade programs the level taught and
the trainer's own completion (lineage), as the session reported them at signing time.

Sources are registered at import by the domains that own the facts (like ledger kinds), so
completions stands below sessions and learning and neither of them imports the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.completions.models import Completion
from lms.completions.services import record_completion, revoke
from lms.programs.models import ProgramVersion


@dataclass(frozen=True)
class Attendance:
    """A person attended (present or late) and acknowledged a session signed as conducted."""

    session_id: int
    trainer_id: int
    held_on: date  # the session's date in the organisation's time zone
    cascade_level: int | None = None  # for a cascade program: the level taught
    trainer_completion_id: int | None = None  # ... and the trainer's own completion


@dataclass(frozen=True)
class Attendee:
    """One enrolled person's attendance as a conduct signature covers it."""

    user_id: int
    counted: bool  # marked present or late under this signature, and acknowledged
    absent: bool  # marked absent (or excused) under this signature


# (session, user id, program id) -> the newest qualifying attendance, or None
AttendanceSource = Callable[[Any, int, int], Attendance | None]
# (session, user id, program id) -> the id of a passed attempt that may still count, or None
QuizSource = Callable[[Any, int, int], int | None]
# (session, user id, program ids) -> {program id: the person's next session of it}
UpcomingSource = Callable[[Any, int, list[int]], dict[int, Any]]

_sources: dict[str, Callable[..., Any]] = {}


def register_attendance_source(func: AttendanceSource) -> AttendanceSource:
    _sources["attendance"] = func
    return func


def register_quiz_source(func: QuizSource) -> QuizSource:
    _sources["quiz"] = func
    return func


def register_upcoming_source(func: UpcomingSource) -> UpcomingSource:
    _sources["upcoming"] = func
    return func


def attended(session, user_id: int, program_id: int) -> Attendance | None:
    """The person's newest qualifying attendance at a held session of the program."""
    source = _sources.get("attendance")
    return source(session, user_id, program_id) if source else None


def passed_attempt(session, user_id: int, program_id: int) -> int | None:
    """A passed attempt of the person that may still earn a completion of the program."""
    source = _sources.get("quiz")
    return source(session, user_id, program_id) if source else None


def upcoming_sessions(session, user_id: int, program_ids: list[int]) -> dict[int, Any]:
    """{program id: the person's next session} where a session will earn the program."""
    source = _sources.get("upcoming")
    return source(session, user_id, program_ids) if source and program_ids else {}


def session_signed(
    session,
    *,
    version: ProgramVersion,
    attendance: Attendance,
    attendees: Iterable[Attendee],
    signer_id: int,
) -> list[Completion]:
    """A session was signed as conducted: grant what the attendance earned.

    Never twice for one session and person. A person whose attendance was corrected to
    absent after an earlier signature loses the completion that attendance earned. When the
    version has quiz questions, a passed quiz is needed too; a person who passes later earns
    the completion then (`quiz_passed`).
    """
    existing: dict[int, Completion] = {}
    for c in session.execute(
        sa.select(Completion)
        .where(Completion.session_id == attendance.session_id)
        .order_by(Completion.id)
    ).scalars():
        existing[c.user_id] = c  # the newest per person
    granted = []
    for person in attendees:
        held = existing.get(person.user_id)
        if held is not None and held.revocation is None:
            if person.absent:
                revoke(
                    session,
                    held,
                    _("Attendance corrected after the session was signed."),
                    signer_id,
                )
            continue
        if not person.counted:
            continue
        attempt_id = None
        if version.questions:
            attempt_id = passed_attempt(session, person.user_id, version.program_id)
            if attempt_id is None:
                continue
        granted.append(
            _grant_for_session(
                session,
                user_id=person.user_id,
                version=version,
                attendance=attendance,
                completed_on=attendance.held_on,
                attempt_id=attempt_id,
                actor_id=signer_id,
                supersedes=held,
            )
        )
    return granted


def quiz_passed(
    session, *, user_id: int, attempt_id: int, version: ProgramVersion, passed_on: date
) -> Completion | None:
    """A quiz attempt was passed: the completion it earns now, if any.

    Self-paced: earned by the quiz. Instructor-led and cascade: earned when the person already
    attended a held session of the program whose attendance has not earned a completion yet;
    otherwise the session earns it when signed. Never two completions for one attempt.
    """
    if session.execute(
        sa.select(Completion.id).where(Completion.attempt_id == attempt_id)
    ).scalar():
        return None
    if version.delivery_mode == "self_paced":
        return record_completion(
            session,
            user_id=user_id,
            version=version,
            completed_on=passed_on,
            earned_by="quiz",
            actor_id=user_id,
            attempt_id=attempt_id,
        )
    held = attended(session, user_id, version.program_id)
    if held is None:
        return None
    already_used = session.execute(
        sa.select(Completion.id).where(
            Completion.user_id == user_id, Completion.session_id == held.session_id
        )
    ).scalar()
    if already_used:  # that attendance already earned a completion (an earlier cycle)
        return None
    return _grant_for_session(
        session,
        user_id=user_id,
        version=version,
        attendance=held,
        completed_on=passed_on,
        attempt_id=attempt_id,
        actor_id=user_id,
    )


def _grant_for_session(
    session,
    *,
    user_id: int,
    version: ProgramVersion,
    attendance: Attendance,
    completed_on: date,
    attempt_id: int | None,
    actor_id: int | None,
    supersedes: Completion | None = None,
) -> Completion:
    return record_completion(
        session,
        user_id=user_id,
        version=version,
        completed_on=completed_on,
        earned_by="session",
        actor_id=actor_id,
        session_id=attendance.session_id,
        attempt_id=attempt_id,
        trainer_id=attendance.trainer_id,
        trainer_completion_id=attendance.trainer_completion_id,
        cascade_level=attendance.cascade_level,
        supersedes=supersedes,
    )
