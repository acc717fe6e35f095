"""Reads for sessions: current attendance and acknowledgments, rosters, lists, time helpers.

"Current" is always the newest row per enrolment (the highest id): corrections are new rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from lms.accounts.models import Department, User, UserRole, in_locale
from lms.completions.models import Completion, Revocation
from lms.core.model import utcnow
from lms.programs.models import Program, ProgramVersion
from lms.sessions.models import (
    ATTENDED,
    Acknowledgment,
    AttendanceMark,
    Enrolment,
    SessionSignature,
    TrainingSession,
)

DUE_HORIZON_DAYS = 30

# ----- current rows ---------------------------------------------------------------------------


def current_mark_ids():
    """Subquery (enrolment_id, mid): the newest attendance mark of each enrolment."""
    return (
        sa.select(
            AttendanceMark.enrolment_id.label("enrolment_id"),
            sa.func.max(AttendanceMark.id).label("mid"),
        )
        .group_by(AttendanceMark.enrolment_id)
        .subquery()
    )


def current_ack_ids():
    """Subquery (enrolment_id, aid): the newest acknowledgment of each enrolment."""
    return (
        sa.select(
            Acknowledgment.enrolment_id.label("enrolment_id"),
            sa.func.max(Acknowledgment.id).label("aid"),
        )
        .group_by(Acknowledgment.enrolment_id)
        .subquery()
    )


def current_marks(session, ts_id: int) -> dict[int, AttendanceMark]:
    """{enrolment id: newest mark} for one session."""
    newest = (
        sa.select(sa.func.max(AttendanceMark.id))
        .where(AttendanceMark.session_id == ts_id)
        .group_by(AttendanceMark.enrolment_id)
    )
    rows = session.execute(sa.select(AttendanceMark).where(AttendanceMark.id.in_(newest))).scalars()
    return {m.enrolment_id: m for m in rows}


def current_acks(session, ts_id: int) -> dict[int, Acknowledgment]:
    """{enrolment id: newest acknowledgment} for one session."""
    newest = (
        sa.select(sa.func.max(Acknowledgment.id))
        .where(Acknowledgment.session_id == ts_id)
        .group_by(Acknowledgment.enrolment_id)
    )
    rows = session.execute(sa.select(Acknowledgment).where(Acknowledgment.id.in_(newest))).scalars()
    return {a.enrolment_id: a for a in rows}


def latest_signature(session, ts_id: int) -> SessionSignature | None:
    return session.execute(
        sa.select(SessionSignature)
        .where(SessionSignature.session_id == ts_id)
        .order_by(SessionSignature.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def corrections(session, ts_id: int) -> list[AttendanceMark]:
    """Marks that replaced an earlier mark, oldest first (the visible correction trail)."""
    return list(
        session.execute(
            sa.select(AttendanceMark)
            .where(AttendanceMark.session_id == ts_id, AttendanceMark.supersedes_id.is_not(None))
            .order_by(AttendanceMark.id)
        ).scalars()
    )


# ----- counts and rosters ---------------------------------------------------------------------


def counts(session, ts_id: int) -> dict[str, int]:
    rows = session.execute(
        sa.select(Enrolment.status, sa.func.count())
        .where(Enrolment.session_id == ts_id)
        .group_by(Enrolment.status)
    ).all()
    out = {"enrolled": 0, "waitlisted": 0, "cancelled": 0}
    out.update({status: n for status, n in rows})
    return out


def enrolment_of(session, ts_id: int, user_id: int) -> Enrolment | None:
    return session.execute(
        sa.select(Enrolment).where(Enrolment.session_id == ts_id, Enrolment.user_id == user_id)
    ).scalar_one_or_none()


@dataclass
class RosterRow:
    enrolment: Enrolment
    user: User
    mark: AttendanceMark | None = None
    ack: Acknowledgment | None = None
    position: int | None = None  # place on the waitlist, from 1

    @property
    def attended(self) -> bool:
        return self.mark is not None and self.mark.status in ATTENDED


@dataclass
class Roster:
    enrolled: list[RosterRow] = field(default_factory=list)
    waitlisted: list[RosterRow] = field(default_factory=list)
    cancelled: list[RosterRow] = field(default_factory=list)

    @property
    def unmarked(self) -> list[RosterRow]:
        return [r for r in self.enrolled if r.mark is None]

    @property
    def awaiting_ack(self) -> list[RosterRow]:
        return [r for r in self.enrolled if r.ack is None and (r.mark is None or r.attended)]


def roster(session, ts: TrainingSession) -> Roster:
    """Everyone in a session with their current mark and acknowledgment (three queries)."""
    rows = session.execute(
        sa.select(Enrolment, User)
        .join(User, User.id == Enrolment.user_id)
        .where(Enrolment.session_id == ts.id)
        .order_by(Enrolment.requested_at, Enrolment.id)
        .options(selectinload(User.department))
    ).all()
    marks = current_marks(session, ts.id)
    acks = current_acks(session, ts.id)
    out = Roster()
    for enrolment, user in rows:
        row = RosterRow(enrolment, user, marks.get(enrolment.id), acks.get(enrolment.id))
        if enrolment.status == "waitlisted":
            row.position = len(out.waitlisted) + 1
        getattr(out, enrolment.status).append(row)
    out.enrolled.sort(key=lambda r: r.user.name.lower())
    out.cancelled.sort(key=lambda r: r.user.name.lower())
    return out


# ----- audience and who is due ----------------------------------------------------------------


def _subtree_ids_for_codes(session, codes: list[str]) -> list[int]:
    rows = session.execute(sa.select(Department.id, Department.parent_id, Department.code)).all()
    kids: dict[int | None, list[int]] = {}
    start = []
    for did, pid, code in rows:
        kids.setdefault(pid, []).append(did)
        if code in codes:
            start.append(did)
    out, stack = set(), list(start)
    while stack:
        cur = stack.pop()
        if cur not in out:
            out.add(cur)
            stack.extend(kids.get(cur, []))
    return sorted(out)


def audience_clauses(session, version: ProgramVersion) -> list:
    """WHERE clauses on User for a version's audience.

    Departments are codes and include their sub-departments; job titles compare without case;
    an empty list means everyone.
    """
    clauses = [User.active.is_(True)]
    codes = list(version.audience_departments or [])
    if codes:
        clauses.append(User.department_id.in_(_subtree_ids_for_codes(session, codes)))
    titles = [t.strip().lower() for t in (version.audience_job_titles or []) if t.strip()]
    if titles:
        clauses.append(sa.func.lower(User.job_title).in_(titles))
    return clauses


def in_audience(session, user: User, version: ProgramVersion) -> bool:
    return bool(
        session.execute(
            sa.select(User.id).where(User.id == user.id, *audience_clauses(session, version))
        ).scalar()
    )


def due_stmt(session, program: Program, today: date):
    """People in the audience of the program's current version who are due for it.

    Due: no valid completion (not revoked, not expired), or the valid one expires within
    DUE_HORIZON_DAYS days. The same conditions as completions.valid_completion, in one query.
    """
    version = program.current_version
    if version is None:
        return None
    horizon = today + timedelta(days=DUE_HORIZON_DAYS)
    covered = (
        sa.exists()
        .where(
            Completion.user_id == User.id,
            Completion.program_id == program.id,
            Completion.completed_on <= today,
            sa.or_(Completion.expires_on.is_(None), Completion.expires_on > horizon),
        )
        .where(~sa.exists().where(Revocation.completion_id == Completion.id))
    )
    return sa.select(User).where(*audience_clauses(session, version), ~covered).order_by(User.name)


# ----- lists ----------------------------------------------------------------------------------


def _counts_subquery():
    return (
        sa.select(
            Enrolment.session_id.label("sid"),
            sa.func.sum(sa.case((Enrolment.status == "enrolled", 1), else_=0)).label("enrolled"),
            sa.func.sum(sa.case((Enrolment.status == "waitlisted", 1), else_=0)).label(
                "waitlisted"
            ),
        )
        .group_by(Enrolment.session_id)
        .subquery()
    )


def search_sessions(
    *,
    when: str = "upcoming",
    program_id: int | None = None,
    instructor_id: int | None = None,
    status: str | None = None,
    now: datetime | None = None,
):
    """Sessions with their enrolled and waitlisted counts: rows (session, enrolled, waitlisted)."""
    now = now or utcnow()
    c = _counts_subquery()
    stmt = (
        sa.select(
            TrainingSession,
            sa.func.coalesce(c.c.enrolled, 0).label("enrolled"),
            sa.func.coalesce(c.c.waitlisted, 0).label("waitlisted"),
        )
        .outerjoin(c, c.c.sid == TrainingSession.id)
        .options(
            selectinload(TrainingSession.version),
            selectinload(TrainingSession.program),
            selectinload(TrainingSession.instructor),
        )
    )
    if when == "upcoming":
        stmt = stmt.where(TrainingSession.ends_at >= now).order_by(
            TrainingSession.starts_at, TrainingSession.id
        )
    elif when == "past":
        stmt = stmt.where(TrainingSession.ends_at < now).order_by(
            TrainingSession.starts_at.desc(), TrainingSession.id.desc()
        )
    else:
        stmt = stmt.order_by(TrainingSession.starts_at.desc(), TrainingSession.id.desc())
    if program_id:
        stmt = stmt.where(TrainingSession.program_id == program_id)
    if instructor_id:
        stmt = stmt.where(TrainingSession.instructor_id == instructor_id)
    if status:
        stmt = stmt.where(TrainingSession.status == status)
    return stmt


def awaiting_signature(session, instructor_id: int, now: datetime | None = None):
    """The instructor's sessions that have started but are not yet signed as conducted."""
    now = now or utcnow()
    return list(
        session.execute(
            sa.select(TrainingSession)
            .where(
                TrainingSession.instructor_id == instructor_id,
                TrainingSession.status == "scheduled",
                TrainingSession.starts_at <= now,
            )
            .order_by(TrainingSession.starts_at)
            .options(selectinload(TrainingSession.version), selectinload(TrainingSession.program))
        ).scalars()
    )


def upcoming_for_instructor(session, instructor_id: int, limit: int = 5) -> list[TrainingSession]:
    return list(
        session.execute(
            sa.select(TrainingSession)
            .where(
                TrainingSession.instructor_id == instructor_id,
                TrainingSession.status == "scheduled",
                TrainingSession.ends_at >= utcnow(),
            )
            .order_by(TrainingSession.starts_at)
            .limit(limit)
            .options(selectinload(TrainingSession.version), selectinload(TrainingSession.program))
        ).scalars()
    )


@dataclass
class MyRow:
    ts: TrainingSession
    enrolment: Enrolment | None
    mark: AttendanceMark | None = None
    ack: Acknowledgment | None = None
    ack_due: bool = False


@dataclass
class MySessions:
    upcoming: list[MyRow]
    waitlisted: list[MyRow]
    open: list[MyRow]
    past: list[MyRow]

    @property
    def acks_due(self) -> list[MyRow]:
        return [r for r in self.upcoming + self.past if r.ack_due]


def ack_due(ts: TrainingSession, enrolment: Enrolment, mark, ack, now: datetime) -> bool:
    """Whether the person can acknowledge now: enrolled, the session has started, and they
    are not marked absent or excused."""
    return (
        ts.status != "cancelled"
        and enrolment.status == "enrolled"
        and ack is None
        and ts.starts_at <= now
        and (mark is None or mark.status in ATTENDED)
    )


def my_sessions(session, user: User, now: datetime | None = None) -> MySessions:
    """An employee's sessions: upcoming, waitlisted, open to sign up, and past."""
    now = now or utcnow()
    mk, ak = current_mark_ids(), current_ack_ids()
    rows = session.execute(
        sa.select(TrainingSession, Enrolment, AttendanceMark, Acknowledgment)
        .join(Enrolment, Enrolment.session_id == TrainingSession.id)
        .outerjoin(mk, mk.c.enrolment_id == Enrolment.id)
        .outerjoin(AttendanceMark, AttendanceMark.id == mk.c.mid)
        .outerjoin(ak, ak.c.enrolment_id == Enrolment.id)
        .outerjoin(Acknowledgment, Acknowledgment.id == ak.c.aid)
        .where(Enrolment.user_id == user.id, Enrolment.status != "cancelled")
        .order_by(TrainingSession.starts_at)
        .options(
            selectinload(TrainingSession.version),
            selectinload(TrainingSession.program),
            selectinload(TrainingSession.instructor),
        )
    ).all()
    upcoming, waitlisted, past = [], [], []
    taken = set()
    for ts, enrolment, mark, ack in rows:
        taken.add(ts.id)
        row = MyRow(ts, enrolment, mark, ack, ack_due(ts, enrolment, mark, ack, now))
        finished = ts.status == "held" or ts.ends_at < now
        if finished:
            if ts.status != "cancelled" and enrolment.status == "enrolled":
                past.append(row)
        elif enrolment.status == "waitlisted":
            waitlisted.append(row)
        else:
            upcoming.append(row)
    past.reverse()
    open_rows = []
    candidates = session.execute(
        sa.select(TrainingSession)
        .where(
            TrainingSession.status == "scheduled",
            TrainingSession.open_signup.is_(True),
            TrainingSession.starts_at > now,
            TrainingSession.instructor_id != user.id,
        )
        .order_by(TrainingSession.starts_at)
        .limit(200)
        .options(
            selectinload(TrainingSession.version),
            selectinload(TrainingSession.program),
            selectinload(TrainingSession.instructor),
        )
    ).scalars()
    versions_ok: dict[int, bool] = {}
    for ts in candidates:
        if ts.id in taken:
            continue
        if ts.version_id not in versions_ok:
            versions_ok[ts.version_id] = in_audience(session, user, ts.version)
        if versions_ok[ts.version_id]:
            open_rows.append(MyRow(ts, None))
    return MySessions(upcoming, waitlisted, open_rows, past)


def calendar_sessions(session, user: User, since: datetime) -> list[TrainingSession]:
    """Sessions for a person's calendar feed: enrolled or waitlisted in, or instructing."""
    enrolled = sa.select(Enrolment.session_id).where(
        Enrolment.user_id == user.id, Enrolment.status.in_(("enrolled", "waitlisted"))
    )
    return list(
        session.execute(
            sa.select(TrainingSession)
            .where(
                sa.or_(
                    TrainingSession.instructor_id == user.id,
                    TrainingSession.id.in_(enrolled),
                ),
                TrainingSession.ends_at >= since,
            )
            .order_by(TrainingSession.starts_at)
            .options(
                selectinload(TrainingSession.version), selectinload(TrainingSession.instructor)
            )
        ).scalars()
    )


def approved_programs(session) -> list[tuple[Program, ProgramVersion]]:
    """Programs that can be scheduled: those with a current approved version."""
    return list(
        session.execute(
            sa.select(Program, ProgramVersion)
            .join(ProgramVersion, ProgramVersion.id == Program.current_version_id)
            .order_by(Program.code)
        ).all()
    )


def active_people(session, department_ids: set[int] | None = None) -> list[tuple[int, str, str]]:
    """(id, name, job title in the reader's language) of active people by name; only those
    departments when given."""
    stmt = sa.select(User.id, User.name, User.job_title, User.job_titles).where(
        User.active.is_(True)
    )
    if department_ids is not None:
        stmt = stmt.where(User.department_id.in_(department_ids or {0}))
    return [
        (uid, name, in_locale(titles, title or ""))
        for uid, name, title, titles in session.execute(stmt.order_by(User.name))
    ]


def waitlist_place(session, enrolment: Enrolment) -> int:
    """The person's place on the session's waitlist (1: next to move up)."""
    ahead = session.execute(
        sa.select(sa.func.count())
        .select_from(Enrolment)
        .where(
            Enrolment.session_id == enrolment.session_id,
            Enrolment.status == "waitlisted",
            sa.or_(
                Enrolment.requested_at < enrolment.requested_at,
                sa.and_(
                    Enrolment.requested_at == enrolment.requested_at,
                    Enrolment.id < enrolment.id,
                ),
            ),
        )
    ).scalar_one()
    return ahead + 1


def instructors(session) -> list[User]:
    """Active instructors and administrators, by name (who may be chosen to run a session)."""
    return list(
        session.execute(
            sa.select(User)
            .where(
                User.active.is_(True),
                User.id.in_(
                    sa.select(UserRole.user_id).where(UserRole.role.in_(("instructor", "admin")))
                ),
            )
            .order_by(User.name)
        ).scalars()
    )


def due_count(session, program: Program, today: date) -> int:
    """How many people are due for the program (the "invite everyone due" button)."""
    stmt = due_stmt(session, program, today)
    if stmt is None:
        return 0
    return session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()


def calendar_owner(session, token: str) -> User | None:
    """The active person whose private calendar feed this token opens."""
    return session.execute(
        sa.select(User).where(User.calendar_token == token, User.active.is_(True))
    ).scalar_one_or_none()


def programs_with_upcoming(session) -> set[int]:
    """Programs that have a scheduled session still to come."""
    return set(
        session.execute(
            sa.select(TrainingSession.program_id)
            .where(TrainingSession.status == "scheduled", TrainingSession.starts_at > utcnow())
            .distinct()
        ).scalars()
    )


def taught_lately(session, instructor_id: int, now: datetime) -> list[TrainingSession]:
    """The sessions an instructor runs from two weeks back on, not cancelled (cascade home panel)."""
    return list(
        session.scalars(
            sa.select(TrainingSession)
            .where(
                TrainingSession.instructor_id == instructor_id,
                TrainingSession.status != "cancelled",
                TrainingSession.starts_at >= now - timedelta(days=14),
            )
            .order_by(TrainingSession.starts_at)
            .limit(10)
        )
    )
