"""A regime's register: one entry per briefing a person received (a held session's
completion, a countersigned self-paced completion, a recorded one), every column the regime
lists filled, in the language asked for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from lms.accounts.models import Department, User, in_locale
from lms.accounts.people import Absence
from lms.accounts.services import subtree_ids
from lms.completions.models import Completion
from lms.compliance.engine import department_tree_cte
from lms.compliance.models import Incident, PersonStatus, UnscheduledBriefing
from lms.compliance.regimes import Regime
from lms.core import documents, texts
from lms.core.clock import day_bounds, local_date
from lms.core.dates import fmt_date, fmt_signature_datetime
from lms.core.documents import IssuedDocument
from lms.exams.models import ExamCandidate, ExamSession
from lms.learning.models import Attempt
from lms.programs.models import Program, ProgramVersion
from lms.registers.models import Countersignature
from lms.registers.services import SELF_PACED, queue_select
from lms.sessions.labels import EVENT_TRIGGER_LABELS
from lms.sessions.models import (
    Acknowledgment,
    AttendanceMark,
    SessionSignature,
    TrainingSession,
)

NONE = "—"  # a column that does not apply to this entry (never left empty)

COLUMN_LABELS: dict[str, Any] = {
    "date": _l("Date"),
    "person": _l("Name, surname"),
    "personal_code": _l("Personal code"),
    "patronymic": _l("Patronymic"),
    "position": _l("Position or profession"),
    "department": _l("Department / workplace"),
    "briefing_type": _l("Type of briefing"),
    "reason": _l("Reason (unscheduled or targeted)"),
    "topics": _l("Topics of the instruction"),
    "program": _l("Instruction or program, version"),
    "knowledge_check": _l("Knowledge check"),
    "instructor": _l("Instructor"),
    "instructor_position": _l("Instructor's position"),
    "attendee_signature": _l("Signature of the instructed person"),
    "instructor_signature": _l("Signature of the instructor"),
}

# a program version's briefing type as the regimes that name types differently call it (in
# LV-FIRE "repeated" is the event-triggered briefing, the yearly one is the fire briefing)
_FALLBACK = {
    "LV-FIRE": {
        "introductory": "fire_briefing",
        "initial": "fire_briefing",
        "repeated": "fire_briefing",
        "fire_minimum": "fire_briefing",
        "unscheduled": "repeated",
        "targeted": "repeated",
    },
    "US-OSHA": {
        "introductory": "extinguisher_education",
        "initial": "extinguisher_education",
        "repeated": "extinguisher_education",
        "fire_minimum": "extinguisher_education",
        "unscheduled": "eap_review",
        "targeted": "eap_review",
    },
}


@dataclass
class Filters:
    department_id: int | None = None
    user_id: int | None = None
    briefing_type: str | None = None
    date_from: date | None = None
    date_to: date | None = None


@dataclass
class Entry:
    completion_id: int | None  # None: a failed knowledge check (no completion: not admitted)
    on: date
    type_key: str
    values: dict[str, str] = field(default_factory=dict)


def _type_key(regime: Regime, version_type: str, unscheduled: bool) -> str:
    key = "unscheduled" if unscheduled else version_type
    mapped = _FALLBACK.get(regime.code, {}).get(key)
    if mapped in regime.briefing_types:
        return mapped
    if key in regime.briefing_types:
        return key
    return next(iter(regime.briefing_types))


# how a signature in the register was given, in the register's language
STAMP_METHODS: dict[str, Any] = {
    "account": _l("on own account"),
    "password": _l("with password"),
    "pin": _l("with PIN"),
    "e-learning": _l("in e-learning"),
    "record": _l("recorded"),
}


def _stamp(name: str, at, how: str) -> str:
    """A signature as the register shows it: the name, the moment (to the second, in the
    organisation's time zone) and how it was given."""
    method = STAMP_METHODS.get(how)
    return f"{name}, {fmt_signature_datetime(at)} ({method if method is not None else how})"


def _in_department(column, department_id: int):
    """`column` (a department id) lies in the department or below it."""
    tree = department_tree_cte()
    return column.in_(sa.select(tree.c.id).where(tree.c.root == department_id))


def _record_columns(
    session, user: User, program: Program, version: ProgramVersion, on, lang: str
) -> dict[str, str]:
    """The columns every kind of register row fills alike: date, the person, their unit, the
    program and its topics, in the register's language."""
    dept = session.get(Department, user.department_id) if user.department_id else None
    topics = "; ".join(
        (t.title.get(lang) or next(iter(t.title.values()), "")) for t in version.topics
    )
    title = version.title.get(lang) or next(iter(version.title.values()), program.code)
    return {
        "date": fmt_date(on),  # the named style, in the register's language
        "person": user.name,
        "personal_code": user.personal_code or NONE,
        "patronymic": user.patronymic or NONE,
        "department": in_locale(dept.names, dept.name, lang) if dept else NONE,
        "topics": topics or NONE,
        "program": f"{program.code} {title}, v{version.number}",
    }


def _satisfied_unscheduled(session, c: Completion, user: User) -> UnscheduledBriefing | None:
    """The unscheduled briefing this completion answered (pending for the person when it was
    earned), if any."""
    previous = session.execute(
        sa.select(sa.func.max(Completion.completed_on)).where(
            Completion.user_id == c.user_id,
            Completion.program_id == c.program_id,
            Completion.completed_on < c.completed_on,
        )
    ).scalar()
    ub = UnscheduledBriefing
    conds = [
        ub.program_id == c.program_id,
        ub.since <= c.completed_on,
        sa.or_(ub.department_id.is_(None), ub.department_id == user.department_id),
        sa.or_(ub.user_id.is_(None), ub.user_id == user.id),
    ]
    if previous is not None:
        conds.append(ub.since > previous)
    return session.execute(
        sa.select(ub).where(*conds).order_by(ub.since.desc(), ub.id.desc()).limit(1)
    ).scalar_one_or_none()


def entries(session, regime: Regime, filters: Filters, lang: str) -> list[Entry]:
    """Every register entry of the regime's programs, oldest first, filtered."""
    stmt = (
        sa.select(Completion, Program, ProgramVersion, User)
        .join(Program, Program.id == Completion.program_id)
        .join(ProgramVersion, ProgramVersion.id == Completion.version_id)
        .join(User, User.id == Completion.user_id)
        .outerjoin(Countersignature, Countersignature.completion_id == Completion.id)
        .where(
            Program.category == regime.category,
            sa.or_(Completion.earned_by.not_in(SELF_PACED), Countersignature.id.is_not(None)),
        )
        .order_by(Completion.completed_on, Completion.id)
    )
    if filters.department_id is not None:
        stmt = stmt.where(_in_department(User.department_id, filters.department_id))
    if filters.user_id is not None:
        stmt = stmt.where(Completion.user_id == filters.user_id)
    if filters.date_from is not None:
        stmt = stmt.where(Completion.completed_on >= filters.date_from)
    if filters.date_to is not None:
        stmt = stmt.where(Completion.completed_on <= filters.date_to)
    out = []
    for c, program, version, user in session.execute(stmt).all():
        entry = _entry(session, regime, c, program, version, user, lang)
        if filters.briefing_type and entry.type_key != filters.briefing_type:
            continue
        out.append(entry)
    for entry in _failed_checks(session, regime, filters, lang):
        if filters.briefing_type and entry.type_key != filters.briefing_type:
            continue
        out.append(entry)
    out.sort(key=lambda e: e.on)  # stable: completions before failed checks of one day
    return out


def _failed_checks(session, regime: Regime, filters: Filters, lang: str) -> list[Entry]:
    """Failed knowledge checks (quiz attempts) of the regime's programs: the person is not
    admitted until the briefing is repeated and passed (LV MK 749), so the register says so."""
    stmt = (
        sa.select(Attempt, Program, ProgramVersion, User)
        .join(ProgramVersion, ProgramVersion.id == Attempt.version_id)
        .join(Program, Program.id == ProgramVersion.program_id)
        .join(User, User.id == Attempt.user_id)
        .where(
            Program.category == regime.category,
            Attempt.passed.is_(False),
            Attempt.finished_at.is_not(None),
        )
        .order_by(Attempt.finished_at, Attempt.id)
    )
    if filters.department_id is not None:
        stmt = stmt.where(_in_department(User.department_id, filters.department_id))
    if filters.user_id is not None:
        stmt = stmt.where(Attempt.user_id == filters.user_id)
    since, until = day_bounds(filters.date_from, filters.date_to)
    if since is not None:
        stmt = stmt.where(Attempt.finished_at >= since)
    if until is not None:
        stmt = stmt.where(Attempt.finished_at < until)
    out = []
    for attempt, program, version, user in session.execute(stmt).all():
        key = _type_key(regime, version.briefing_type, False)
        assert attempt.finished_at is not None
        on = local_date(attempt.finished_at)
        values = {
            **_record_columns(session, user, program, version, on, lang),
            "position": in_locale(user.job_titles, user.job_title, lang) or NONE,
            "briefing_type": regime.type_name(key, lang),
            "reason": str(_l("Not admitted: the briefing is to be repeated and passed")),
            "knowledge_check": str(
                _l(
                    "%(score)d%% (pass mark %(mark)d%%): %(result)s",
                    score=attempt.score_percent or 0,
                    mark=attempt.pass_mark,
                    result=_l("failed: not admitted"),
                )
            ),
            "instructor": NONE,
            "instructor_position": NONE,
            "attendee_signature": _stamp(user.name, attempt.finished_at, "e-learning"),
            "instructor_signature": NONE,
        }
        out.append(Entry(None, on, key, {col: values[col] for col in regime.columns}))
    return out + _failed_at_briefings(session, regime, filters, lang)


def _failed_at_briefings(session, regime: Regime, filters: Filters, lang: str) -> list[Entry]:
    """People marked "knowledge check failed" (present, check failed) in a held session (the current mark):
    the instructor's signature covers it; the person is not admitted."""
    later = sa.orm.aliased(AttendanceMark)
    stmt = (
        sa.select(AttendanceMark, TrainingSession, Program, ProgramVersion, User)
        .join(TrainingSession, TrainingSession.id == AttendanceMark.session_id)
        .join(ProgramVersion, ProgramVersion.id == TrainingSession.version_id)
        .join(Program, Program.id == ProgramVersion.program_id)
        .join(User, User.id == AttendanceMark.user_id)
        .where(
            AttendanceMark.status == "failed",
            TrainingSession.status == "held",
            Program.category == regime.category,
            ~sa.exists().where(later.supersedes_id == AttendanceMark.id),
        )
        .order_by(TrainingSession.starts_at, AttendanceMark.id)
    )
    if filters.department_id is not None:
        stmt = stmt.where(_in_department(User.department_id, filters.department_id))
    if filters.user_id is not None:
        stmt = stmt.where(AttendanceMark.user_id == filters.user_id)
    since, until = day_bounds(filters.date_from, filters.date_to)
    if since is not None:
        stmt = stmt.where(TrainingSession.starts_at >= since)
    if until is not None:
        stmt = stmt.where(TrainingSession.starts_at < until)
    out = []
    for _mark, ts, program, version, user in session.execute(stmt).all():
        if ts.briefing_type and ts.briefing_type in regime.briefing_types:
            key = ts.briefing_type
        else:
            key = _type_key(regime, ts.briefing_type or version.briefing_type, False)
        on = local_date(ts.starts_at)
        instructor = session.get(User, ts.instructor_id)
        sig = session.execute(
            sa.select(SessionSignature)
            .where(SessionSignature.session_id == ts.id)
            .order_by(SessionSignature.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        values = {
            **_record_columns(session, user, program, version, on, lang),
            "position": in_locale(user.job_titles, user.job_title, lang) or NONE,
            "briefing_type": regime.type_name(key, lang),
            "reason": str(_l("Not admitted: the briefing is to be repeated and passed")),
            "knowledge_check": str(_l("Failed at the briefing: not admitted")),
            "instructor": instructor.name if instructor else NONE,
            "instructor_position": (instructor.job_title or NONE) if instructor else NONE,
            "attendee_signature": NONE,
            "instructor_signature": _stamp(sig.printed_name, sig.signed_at, sig.method)
            if sig
            else NONE,
        }
        out.append(Entry(None, on, key, {col: values[col] for col in regime.columns}))
    return out


def _entry(
    session,
    regime: Regime,
    c: Completion,
    program: Program,
    version: ProgramVersion,
    user: User,
    lang: str,
) -> Entry:
    ts = session.get(TrainingSession, c.session_id) if c.session_id else None
    if ts is not None and ts.briefing_type:
        # the event's own type and reason (the program's type only when the event has none)
        key = (
            ts.briefing_type
            if ts.briefing_type in regime.briefing_types
            else _type_key(regime, ts.briefing_type, ts.briefing_type == "unscheduled")
        )
        parts = [ts.briefing_reason]
        if ts.briefing_trigger:
            parts.append(str(EVENT_TRIGGER_LABELS.get(ts.briefing_trigger, ts.briefing_trigger)))
        if ts.permit:
            parts.append(str(_l("permit or task: %(p)s", p=ts.permit)))
        reason = " · ".join(p for p in parts if p)
    else:
        ub = _satisfied_unscheduled(session, c, user)
        key = _type_key(regime, version.briefing_type, ub is not None)
        reason = texts.render(ub.reason) if ub is not None else ""
    needs_reason = regime.briefing_types[key].needs_reason
    if c.revocation is not None:
        reason = f"{reason} · " if reason else ""
        reason += str(_l("Revoked: %(why)s", why=texts.render(c.revocation.reason)))
    if c.supersedes_id:
        reason = (reason + " · " if reason else "") + str(
            _l("Corrects entry %(n)s", n=c.supersedes_id)
        )
    if needs_reason and not reason:
        reason = (version.source or "") or str(_l("Not given"))

    def position_of(person: User) -> str:  # the job title in the register's language
        return in_locale(person.job_titles, person.job_title or "", lang)

    position = position_of(user)
    instructor_name = instructor_pos = NONE
    attendee_sig = instructor_sig = NONE
    check = NONE
    attempt = session.get(Attempt, c.attempt_id) if c.attempt_id else None
    if ts is not None:
        instructor = session.get(User, ts.instructor_id)
        if instructor is not None:
            instructor_name, instructor_pos = instructor.name, position_of(instructor) or NONE
        ack = session.execute(
            sa.select(Acknowledgment)
            .where(Acknowledgment.session_id == ts.id, Acknowledgment.user_id == user.id)
            .order_by(Acknowledgment.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if ack is not None:
            attendee_sig = _stamp(ack.printed_name, ack.acknowledged_at, ack.method)
            # the title held when acknowledging; the same title reads in the language
            if ack.job_title and ack.job_title != user.job_title:
                position = ack.job_title
        sig = session.execute(
            sa.select(SessionSignature)
            .where(SessionSignature.session_id == ts.id)
            .order_by(SessionSignature.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if sig is not None:
            instructor_sig = _stamp(sig.printed_name, sig.signed_at, sig.method)
        check = str(_l("Understood: confirmed by the instructor's signature"))
    counter = session.execute(
        sa.select(Countersignature).where(Countersignature.completion_id == c.id)
    ).scalar_one_or_none()
    if counter is not None:
        instructor_name, instructor_pos = counter.printed_name, counter.position or NONE
        instructor_sig = _stamp(counter.printed_name, counter.signed_at, counter.method)
        if attempt is not None and attempt.finished_at is not None:
            attendee_sig = _stamp(user.name, attempt.finished_at, "e-learning")
    elif ts is None and c.trainer_id:
        trainer = session.get(User, c.trainer_id)
        if trainer is not None:
            instructor_name, instructor_pos = trainer.name, position_of(trainer) or NONE
    elif ts is None and c.recorded_by_id:
        recorder = session.get(User, c.recorded_by_id)
        if recorder is not None:
            instructor_name, instructor_pos = recorder.name, position_of(recorder) or NONE
            instructor_sig = _stamp(recorder.name, c.created_at, "record")
    if attempt is not None and attempt.score_percent is not None:
        check = str(
            _l(
                "%(score)d%% (pass mark %(mark)d%%): %(result)s",
                score=attempt.score_percent,
                mark=attempt.pass_mark,
                result=_l("passed") if attempt.passed else _l("failed"),
            )
        )
    values = {
        **_record_columns(session, user, program, version, c.completed_on, lang),
        "position": position or NONE,
        "briefing_type": regime.type_name(key, lang),
        "reason": reason or NONE,
        "knowledge_check": check,
        "instructor": instructor_name,
        "instructor_position": instructor_pos,
        "attendee_signature": attendee_sig,
        "instructor_signature": instructor_sig,
    }
    return Entry(c.id, c.completed_on, key, {col: values[col] for col in regime.columns})


def departments(session) -> list[Department]:
    return list(session.execute(sa.select(Department).order_by(Department.name)).scalars())


def exam_sessions(session, filters: Filters) -> list[ExamSession]:
    """The exams of the period whose candidates include the person, or someone of the unit
    (its sub-units included): their access journals belong in the evidence pack."""
    stmt = sa.select(ExamSession).order_by(ExamSession.starts_at, ExamSession.id)
    since, until = day_bounds(filters.date_from, filters.date_to)
    if since is not None:
        stmt = stmt.where(ExamSession.starts_at >= since)
    if until is not None:
        stmt = stmt.where(ExamSession.starts_at < until)
    if filters.user_id is not None or filters.department_id is not None:
        who = sa.select(ExamCandidate.exam_id).join(User, User.id == ExamCandidate.user_id)
        if filters.user_id is not None:
            who = who.where(ExamCandidate.user_id == filters.user_id)
        if filters.department_id is not None:
            who = who.where(_in_department(User.department_id, filters.department_id))
        stmt = stmt.where(ExamSession.id.in_(who))
    return list(session.execute(stmt).scalars())


# ----- what the register pages read (no SQL in lms/registers/routes.py) ----------------------


def waiting(session) -> list[Completion]:
    """The self-paced completions awaiting a countersignature, oldest first."""
    return list(session.execute(queue_select()).scalars())


def waiting_count(session) -> int:
    sub = queue_select().subquery()
    return int(session.execute(sa.select(sa.func.count()).select_from(sub)).scalar_one())


def completion(session, completion_id: int) -> Completion | None:
    return session.get(Completion, completion_id)


def people(session) -> list[User]:
    return list(
        session.execute(sa.select(User).where(User.active.is_(True)).order_by(User.name)).scalars()
    )


def programs(session) -> list[Program]:
    return list(session.execute(sa.select(Program).order_by(Program.code)).scalars())


def incidents(session, limit: int = 50) -> list[Incident]:
    return list(
        session.execute(
            sa.select(Incident)
            .order_by(Incident.occurred_on.desc(), Incident.id.desc())
            .limit(limit)
        ).scalars()
    )


def recent_absences(session, limit: int = 50) -> list[tuple[Absence, User]]:
    return [
        (a, u)
        for a, u in session.execute(
            sa.select(Absence, User)
            .join(User, User.id == Absence.user_id)
            .order_by(Absence.created_at.desc(), Absence.id.desc())
            .limit(limit)
        ).all()
    ]


@dataclass
class Due:
    person: User
    program: Program
    due_on: date | None
    trigger: str
    reason: str


def due_unscheduled(session, department_id: int | None = None) -> list[Due]:
    """Everyone due for an unscheduled briefing and why (the trigger and its reason), from
    the stored status: a failed knowledge check shows as "not admitted"."""
    ub = UnscheduledBriefing
    failed_first = sa.exists().where(  # never trained, and failed the check of the first one
        ub.user_id == PersonStatus.user_id,
        ub.program_id == PersonStatus.program_id,
        ub.trigger == "knowledge_check_failed",
    )
    stmt = (
        sa.select(PersonStatus, User, Program)
        .join(User, User.id == PersonStatus.user_id)
        .join(Program, Program.id == PersonStatus.program_id)
        .where(
            sa.or_(
                PersonStatus.basis == "pending",
                sa.and_(PersonStatus.basis == "never_trained", failed_first),
            )
        )
        .order_by(PersonStatus.due_on, User.name, Program.code)
    )
    if department_id is not None:
        stmt = stmt.where(_in_department(PersonStatus.department_id, department_id))
    out = []
    for ps, user, program in session.execute(stmt).all():
        found = session.execute(
            sa.select(ub.trigger, ub.reason)
            .where(
                ub.program_id == ps.program_id,
                sa.or_(ub.reason == ps.reason, ps.basis == "never_trained"),
                sa.or_(ub.user_id.is_(None), ub.user_id == ps.user_id),
            )
            .order_by(ub.id.desc())
            .limit(1)
        ).first()
        trigger, reason = (found.trigger, found.reason) if found else ("manual", ps.reason)
        out.append(Due(user, program, ps.due_on, trigger, texts.render(reason)))
    return out


def units_of(session, user: User) -> set[int] | None:
    """The units whose incidents and absences the person may record: an administrator all
    (None), a manager their own department and everything below it."""
    if user.can("compliance.manage"):
        return None
    if not user.department_id:
        return set()
    return set(subtree_ids(session, user.department_id))


@dataclass
class IssuedCopy:
    doc: IssuedDocument
    issued_by: str


def issued_copies(session, kind: str, subject: str | None = None) -> list[IssuedCopy]:
    """The latest copies of registers (or evidence packs) kept as issued, with who issued them."""
    docs = documents.issued(session, kind, subject)
    ids = {d.issued_by_id for d in docs if d.issued_by_id}
    names = dict(session.execute(sa.select(User.id, User.name).where(User.id.in_(ids))).all())
    return [IssuedCopy(d, names.get(d.issued_by_id, "") if d.issued_by_id else "") for d in docs]
