"""Rules for exam sessions: exam points and their checklists, appointments, the pre-exam
software check and the chair's override, the access journal, results and the protocol.

Every tick, access-journal line, result, opening, closing and protocol signature is appended
to the ledger. Nothing signed or journalled is updated: corrections are new rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from lms.accounts.models import User
from lms.accounts.services import verify_password
from lms.completions import services as completions
from lms.core import audit, ledger
from lms.core.errors import Conflict, DomainError, NotAllowed, NotFound
from lms.core.model import utcnow
from lms.exams.models import (
    ACCESS_AREAS,
    ACCESS_ROLES,
    APPOINTMENT_ROLES,
    MAX_WORKSTATIONS,
    PHASES,
    TEST_KINDS,
    AccessEntry,
    ChecklistItem,
    ChecklistTick,
    ExamAppointment,
    ExamCandidate,
    ExamPoint,
    ExamResult,
    ExamSession,
    ProtocolSignature,
)
from lms.programs.models import Program

TICK_KIND = "exam_checklist_tick"
ACCESS_KIND = "exam_access"
RESULT_KIND = "exam_result"
SIGNATURE_KIND = "exam_protocol_signature"
OPENING_KIND = "exam_opening"
CLOSING_KIND = "exam_closing"
# how far in the future an access-journal time may lie (clocks differ a little)
CLOCK_SLACK = timedelta(minutes=5)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


# ----- hashes (the same function for the object and for verification) -------------------------

TICK_FIELDS = ("id", "exam_id", "item_id", "ticked_by_id", "printed_name", "ticked_at", "note")
ACCESS_FIELDS = (
    "id",
    "exam_id",
    "person_id",
    "person_name",
    "role",
    "area",
    "time_in",
    "time_out",
    "reason",
    "recorded_by_id",
    "recorded_by_name",
    "recorded_at",
    "supersedes_id",
    "correction",
    "self_sign_in",
)
RESULT_FIELDS = (
    "id",
    "exam_id",
    "user_id",
    "score",
    "passed",
    "recorded_by_id",
    "recorded_at",
    "supersedes_id",
)
SIGNATURE_FIELDS = (
    "id",
    "exam_id",
    "signer_id",
    "printed_name",
    "role",
    "meaning",
    "signed_at",
    "content_hash",
    "method",
)
OPENING_FIELDS = ("id", "opened_at", "opened_by_id", "override_reason")
CLOSING_FIELDS = ("id", "closed_at", "closed_by_id")


def _row_hash(kind: str, names: tuple[str, ...], row: tuple) -> str:
    data: dict[str, Any] = {"kind": kind}
    for name, value in zip(names, row, strict=True):
        data[name] = value.isoformat() if isinstance(value, datetime) else value
    return ledger.sha256(data)


def _hash(kind: str, names: tuple[str, ...], obj: Any) -> str:
    return _row_hash(kind, names, ledger.values(obj, names))


def _resolver(kind: str, model: Any, names: tuple[str, ...]):
    def resolve(session, ids: list[str]) -> dict[str, str]:
        cols = ledger.values(model, names)
        return {
            str(row[0]): _row_hash(kind, names, tuple(row))
            for row in ledger.rows_by_id(session, cols, ids)
        }

    return resolve


ledger.register_kind(TICK_KIND, _resolver(TICK_KIND, ChecklistTick, TICK_FIELDS))
ledger.register_kind(ACCESS_KIND, _resolver(ACCESS_KIND, AccessEntry, ACCESS_FIELDS))
ledger.register_kind(RESULT_KIND, _resolver(RESULT_KIND, ExamResult, RESULT_FIELDS))
ledger.register_kind(SIGNATURE_KIND, _resolver(SIGNATURE_KIND, ProtocolSignature, SIGNATURE_FIELDS))
ledger.register_kind(OPENING_KIND, _resolver(OPENING_KIND, ExamSession, OPENING_FIELDS))
ledger.register_kind(CLOSING_KIND, _resolver(CLOSING_KIND, ExamSession, CLOSING_FIELDS))


def _append(session, kind: str, names: tuple[str, ...], obj: Any, actor_id: int | None) -> None:
    ledger.append(session, kind, obj.id, _hash(kind, names, obj), actor_id)


# ----- loaders and who may do what -------------------------------------------------------------


def get_point(session, point_id: int) -> ExamPoint:
    point = session.get(ExamPoint, point_id)
    if point is None:
        raise NotFound(_("There is no such exam point."))
    return point


def get_exam(session, exam_id: int) -> ExamSession:
    exam = session.get(ExamSession, exam_id)
    if exam is None:
        raise NotFound(_("There is no such exam session."))
    return exam


def roles_in(exam: ExamSession, user_id: int) -> set[str]:
    """The person's appointments in this exam (chair, member, technician) and 'candidate'."""
    roles = {a.role for a in exam.appointments if a.user_id == user_id}
    if any(c.user_id == user_id for c in exam.candidates):
        roles.add("candidate")
    return roles


def chair_of(exam: ExamSession) -> User | None:
    return next((a.user for a in exam.appointments if a.role == "chair"), None)


def _is_chair(exam: ExamSession, user: User) -> bool:
    chair = chair_of(exam)
    return chair is not None and chair.id == user.id


def commission(exam: ExamSession) -> list[ExamAppointment]:
    """The chair first, then the members, in the order appointed."""
    found = [a for a in exam.appointments if a.role == "chair"]
    return found + [a for a in exam.appointments if a.role == "member"]


def may_see(exam: ExamSession, user: User) -> bool:
    return user.can("exams.view_all") or bool(roles_in(exam, user.id))


def may_see_everyone(exam: ExamSession, user: User) -> bool:
    """The whole journal and every candidate's result: those who see all exams, the
    commission and the technicians. A candidate sees only their own row and lines."""
    return user.can("exams.view_all") or bool(
        roles_in(exam, user.id) & {"chair", "member", "technician"}
    )


def may_keep_journal(exam: ExamSession, user: User) -> bool:
    """Technicians, the commission and exam managers record access."""
    return user.can("exams.manage") or bool(
        roles_in(exam, user.id) & {"chair", "member", "technician"}
    )


def load_exam_for(session, exam_id: int, user: User) -> ExamSession:
    """The exam session if the person may see it (404 otherwise: no hint that it exists)."""
    exam = get_exam(session, exam_id)
    if not may_see(exam, user):
        raise NotFound(_("There is no such exam session."))
    return exam


# ----- exam points and their checklists --------------------------------------------------------


def default_items() -> list[tuple[str, str, bool, bool]]:
    """A starting checklist for a new exam point (phase, label, software check, asks where)."""
    return [
        ("pre", _("Workstations checked"), False, False),
        ("pre", _("Exam software checked"), True, False),
        ("pre", _("Cameras on"), False, False),
        ("pre", _("Candidates' identity documents checked"), False, False),
        ("post", _("Cameras stopped"), False, False),
        ("post", _("Recordings copied (say where to)"), False, True),
    ]


def create_point(
    session, *, name: str, room: str, workstations: int, actor_id: int | None, defaults: bool = True
) -> ExamPoint:
    name, room = name.strip(), room.strip()
    if not name:
        raise DomainError(_("Give the exam point a name."), field="name")
    if not room:
        raise DomainError(_("Say which room the exam point is in."), field="room")
    if not 0 <= workstations <= MAX_WORKSTATIONS:
        raise DomainError(_("Enter a number in the allowed range."), field="workstations")
    if session.execute(sa.select(ExamPoint.id).where(ExamPoint.name == name)).scalar():
        raise Conflict(_("An exam point with this name already exists."), field="name")
    point = ExamPoint(name=name, room=room, workstations=workstations)
    session.add(point)
    session.flush()
    if defaults:
        for phase, label, software, where in default_items():
            add_item(
                session,
                point,
                phase=phase,
                label=label,
                software_check=software,
                asks_where=where,
                actor_id=actor_id,
            )
    audit.record(session, actor_id, "create", "exam_point", point.id, name)
    return point


def add_item(
    session,
    point: ExamPoint,
    *,
    phase: str,
    label: str,
    software_check: bool = False,
    asks_where: bool = False,
    actor_id: int | None,
) -> ChecklistItem:
    label = label.strip()
    if phase not in PHASES:
        raise DomainError(_("Choose before or after the exam."), field="phase")
    if not label:
        raise DomainError(_("Describe the checklist item."), field="label")
    if software_check and phase != "pre":
        raise DomainError(_("The software check is a pre-exam item."), field="software_check")
    if software_check and any(i.software_check and not i.retired for i in point.items):
        raise Conflict(
            _("This exam point already has a software check item."), field="software_check"
        )
    position = 1 + max((i.position for i in point.items if i.phase == phase), default=0)
    item = ChecklistItem(
        point_id=point.id,
        phase=phase,
        position=position,
        label=label[:300],
        software_check=software_check,
        asks_where=asks_where,
    )
    session.add(item)
    session.flush()
    session.refresh(point, ["items"])
    audit.record(session, actor_id, "create", "exam_checklist_item", item.id, label[:200])
    return item


def retire_item(session, point: ExamPoint, item_id: int, actor_id: int | None) -> ChecklistItem:
    """Take an item off the point's checklist; ticks already given keep pointing at it."""
    item = session.get(ChecklistItem, item_id)
    if item is None or item.point_id != point.id:
        raise NotFound(_("This checklist item is not on this exam point."))
    if item.retired:
        raise Conflict(_("This checklist item is already retired."))
    item.retired = True
    session.flush()
    audit.record(session, actor_id, "retire", "exam_checklist_item", item.id, item.label[:200])
    return item


def active_items(point: ExamPoint, phase: str) -> list[ChecklistItem]:
    return [i for i in point.items if i.phase == phase and not i.retired]


# ----- exam sessions, appointments, candidates -------------------------------------------------


def lead_hours() -> int:
    return int(current_app.config["LMS_CONFIG"].exam_software_check_hours)


def create_exam(
    session,
    *,
    point: ExamPoint,
    program: Program,
    test_kind: str,
    paper_title: str,
    starts_at: datetime,
    ends_at: datetime,
    actor_id: int | None,
) -> ExamSession:
    """An exam session for the program's approved version, at an exam point."""
    if test_kind not in TEST_KINDS:
        raise DomainError(_("Choose the test."), field="test_kind")
    version = program.current_version
    if version is None or version.status != "approved":
        raise DomainError(_("The program has no approved version."), field="program_id")
    paper_title = paper_title.strip()
    if test_kind == "paper" and not paper_title:
        raise DomainError(_("Name the exam paper."), field="paper_title")
    if test_kind == "quiz" and not version.questions:
        raise DomainError(_("This program version has no quiz."), field="test_kind")
    if ends_at <= starts_at:
        raise DomainError(_("The end must be after the start."), field="ends_at")
    exam = ExamSession(
        point_id=point.id,
        program_id=program.id,
        version_id=version.id,
        test_kind=test_kind,
        paper_title=paper_title if test_kind == "paper" else "",
        starts_at=starts_at,
        ends_at=ends_at,
        software_lead_hours=lead_hours(),
        created_by_id=actor_id,
    )
    session.add(exam)
    session.flush()
    audit.record(session, actor_id, "create", "exam_session", exam.id, program.code)
    return exam


def _not_closed(exam: ExamSession) -> None:
    if exam.state == "closed":
        raise Conflict(_("This exam session is closed."))


def appoint(
    session, exam: ExamSession, user: User, role: str, actor_id: int | None
) -> ExamAppointment:
    """Appoint a person by name as chair, commission member or technician."""
    _not_closed(exam)
    if role not in APPOINTMENT_ROLES:
        raise DomainError(_("Choose the appointment."), field="role")
    if not user.active:
        raise DomainError(_("This person's account is not active."), field="user_id")
    held = roles_in(exam, user.id)
    if role in held:
        raise Conflict(_("%(name)s already holds this appointment.", name=user.name))
    if "candidate" in held:
        raise Conflict(_("A candidate cannot be appointed to their own exam."), field="user_id")
    if role == "chair" and chair_of(exam) is not None:
        raise Conflict(_("This exam already has a chair."), field="role")
    if {role, *held} >= {"chair", "member"}:
        raise Conflict(_("The chair is not also a member of the commission."), field="role")
    a = ExamAppointment(exam_id=exam.id, user_id=user.id, role=role, appointed_by_id=actor_id)
    session.add(a)
    session.flush()
    session.refresh(exam, ["appointments"])
    audit.record(session, actor_id, "appoint", "exam_session", exam.id, user.name, role=role)
    return a


def add_candidate(session, exam: ExamSession, user: User, actor_id: int | None) -> ExamCandidate:
    _not_closed(exam)
    if not user.active:
        raise DomainError(_("This person's account is not active."), field="user_id")
    held = roles_in(exam, user.id)
    if "candidate" in held:
        raise Conflict(_("%(name)s is already a candidate.", name=user.name), field="user_id")
    if held:
        raise Conflict(
            _("A person appointed to this exam cannot also be a candidate."), field="user_id"
        )
    c = ExamCandidate(exam_id=exam.id, user_id=user.id, added_by_id=actor_id)
    session.add(c)
    session.flush()
    session.refresh(exam, ["candidates"])
    audit.record(session, actor_id, "add_candidate", "exam_session", exam.id, user.name)
    return c


def withdraw(session, exam: ExamSession, kind: str, row_id: int, actor_id: int | None) -> str:
    """Take back an appointment or a candidate while the exam is still planned; returns the
    person's name. Nothing signed is touched: a planned exam has no results or signatures."""
    if exam.state != "planned":
        raise Conflict(_("Appointments and candidates change only before the exam is opened."))
    model = ExamAppointment if kind == "appointment" else ExamCandidate
    row = session.get(model, row_id)
    if row is None or row.exam_id != exam.id:
        raise NotFound(_("This person is not on this exam."))
    if kind == "appointment" and row.role == "technician":
        ticked = session.execute(
            sa.select(ChecklistTick.id).where(
                ChecklistTick.exam_id == exam.id, ChecklistTick.ticked_by_id == row.user_id
            )
        ).first()
        if ticked is not None:
            raise Conflict(_("This technician has already ticked the checklist of this exam."))
    name = row.user.name
    session.delete(row)
    session.flush()
    session.refresh(exam, ["appointments", "candidates"])
    audit.record(session, actor_id, "withdraw", "exam_session", exam.id, name, kind=kind)
    return name


# ----- the checklists and the software check ---------------------------------------------------


def ticks(session, exam_id: int) -> dict[int, ChecklistTick]:
    """{item id: tick} for this exam."""
    rows = session.execute(
        sa.select(ChecklistTick).where(ChecklistTick.exam_id == exam_id)
    ).scalars()
    return {t.item_id: t for t in rows}


def tick(
    session, exam: ExamSession, item_id: int, technician: User, note: str = ""
) -> ChecklistTick:
    """A technician ticks one checklist item of this exam's point, at the current time."""
    item = session.get(ChecklistItem, item_id)
    if item is None:
        raise NotFound(_("There is no such checklist item."))
    if item.point_id != exam.point_id:
        raise DomainError(
            _("This item is on the checklist of another exam point. Nothing was ticked.")
        )
    if item.retired:
        raise DomainError(_("This checklist item is retired. Nothing was ticked."))
    if "technician" not in roles_in(exam, technician.id):
        raise NotAllowed(_("Only a technician appointed to this exam ticks its checklist."))
    if item.phase == "pre" and exam.state != "planned":
        raise Conflict(_("The exam has started: the pre-exam checklist is closed."))
    if item.phase == "post" and exam.state == "planned":
        raise Conflict(_("The post-exam items are ticked after the exam has been opened."))
    note = note.strip()
    if item.asks_where and not note:
        raise DomainError(_("Say where (for example, where the recordings were copied)."), "note")
    existing = ticks(session, exam.id).get(item.id)
    if existing is not None:
        raise Conflict(
            _(
                "%(item)s was already ticked by %(name)s.",
                item=item.label,
                name=existing.printed_name,
            )
        )
    t = ChecklistTick(
        exam_id=exam.id,
        item_id=item.id,
        ticked_by_id=technician.id,
        printed_name=technician.name,
        ticked_at=utcnow().replace(microsecond=0),
        note=note[:500],
    )
    session.add(t)
    session.flush()
    _append(session, TICK_KIND, TICK_FIELDS, t, technician.id)
    audit.record(session, technician.id, "tick", "exam_session", exam.id, item.label[:200])
    return t


@dataclass
class SoftwareCheck:
    state: str  # ok, pending, late, missing, no_item
    deadline: datetime
    item: ChecklistItem | None
    tick: ChecklistTick | None

    @property
    def warning(self) -> bool:
        """The chair must override to open the exam."""
        return self.state in ("late", "missing", "no_item")


def software_check(session, exam: ExamSession, now: datetime | None = None) -> SoftwareCheck:
    """Was the software checked at least the configured hours before the start?"""
    now = now or utcnow()
    deadline = exam.starts_at - timedelta(hours=exam.software_lead_hours)
    item = next((i for i in active_items(exam.point, "pre") if i.software_check), None)
    done = ticks(session, exam.id)
    if item is None:
        given = next((t for t in done.values() if t.item.software_check), None)
        if given is None:
            return SoftwareCheck("no_item", deadline, None, None)
        item = given.item
    t = done.get(item.id)
    if t is not None:
        return SoftwareCheck("ok" if t.ticked_at <= deadline else "late", deadline, item, t)
    return SoftwareCheck("pending" if now < deadline else "missing", deadline, item, None)


def open_exam(session, exam: ExamSession, chair: User, override_reason: str = "") -> ExamSession:
    """The chair opens the exam: every pre-exam item ticked, and the software checked in time
    (or the chair overrides with a reason)."""
    if not _is_chair(exam, chair):
        raise NotAllowed(_("Only the chair of the commission opens the exam."))
    if exam.state != "planned":
        raise Conflict(_("This exam session has already been opened."))
    done = ticks(session, exam.id)
    missing = [
        i.label
        for i in active_items(exam.point, "pre")
        if i.id not in done and not i.software_check
    ]
    if missing:
        raise DomainError(
            _("Not ticked yet: %(items)s. The exam was not opened.", items="; ".join(missing))
        )
    check = software_check(session, exam)
    if check.state == "pending":
        raise DomainError(_("The software has not been checked yet. The exam was not opened."))
    override_reason = override_reason.strip()
    if check.warning and not override_reason:
        raise DomainError(
            _(
                "The software was not checked %(hours)d hours before the start. "
                "Give the reason for opening the exam anyway.",
                hours=exam.software_lead_hours,
            ),
            field="override_reason",
        )
    exam.opened_at = utcnow().replace(microsecond=0)
    exam.opened_by_id = chair.id
    exam.override_reason = override_reason[:1000] if check.warning else ""
    session.flush()
    ledger.append(
        session, OPENING_KIND, exam.id, _hash(OPENING_KIND, OPENING_FIELDS, exam), chair.id
    )
    audit.record(session, chair.id, "open", "exam_session", exam.id, exam.override_reason[:200])
    return exam


def close_exam(session, exam: ExamSession, chair: User) -> ExamSession:
    if not _is_chair(exam, chair):
        raise NotAllowed(_("Only the chair of the commission closes the exam."))
    if exam.state != "open":
        raise Conflict(_("Only an open exam can be closed."))
    exam.closed_at = utcnow().replace(microsecond=0)
    exam.closed_by_id = chair.id
    session.flush()
    ledger.append(
        session, CLOSING_KIND, exam.id, _hash(CLOSING_KIND, CLOSING_FIELDS, exam), chair.id
    )
    audit.record(session, chair.id, "close", "exam_session", exam.id)
    return exam


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


# ----- results and the protocol ----------------------------------------------------------------


def current_results(session, exam_id: int) -> dict[int, ExamResult]:
    """{candidate's user id: result} not superseded."""
    newer = sa.orm.aliased(ExamResult)
    rows = session.execute(
        sa.select(ExamResult).where(
            ExamResult.exam_id == exam_id,
            ~sa.exists().where(newer.supersedes_id == ExamResult.id),
        )
    ).scalars()
    return {r.user_id: r for r in rows}


def signatures(session, exam_id: int) -> list[ProtocolSignature]:
    return list(
        session.execute(
            sa.select(ProtocolSignature)
            .where(ProtocolSignature.exam_id == exam_id)
            .order_by(ProtocolSignature.id)
        ).scalars()
    )


def _commission_member(exam: ExamSession, user: User) -> str | None:
    held = roles_in(exam, user.id)
    return "chair" if "chair" in held else ("member" if "member" in held else None)


def record_results(
    session,
    exam: ExamSession,
    recorder: User,
    results: dict[int, tuple[int | None, bool]],
) -> int:
    """The commission records each candidate's result ({user id: (score, passed)}).

    Allowed after the exam is closed and until the first signature. A changed result is a new
    row superseding the old one. Returns the number of rows written.
    """
    if _commission_member(exam, recorder) is None:
        raise NotAllowed(_("Only the exam commission records the results."))
    if exam.state != "closed":
        raise Conflict(_("Results are recorded after the exam is closed."))
    if signatures(session, exam.id):
        raise Conflict(_("The protocol has been signed: its results can no longer change."))
    candidates = {c.user_id for c in exam.candidates}
    current = current_results(session, exam.id)
    written = 0
    for user_id, (score, passed) in results.items():
        if user_id not in candidates:
            raise DomainError(_("This person is not a candidate in this exam."))
        if score is not None and not 0 <= score <= 100:
            raise DomainError(_("A score is between 0 and 100."), field="score")
        old = current.get(user_id)
        if old is not None and old.score == score and old.passed == passed:
            continue
        r = ExamResult(
            exam_id=exam.id,
            user_id=user_id,
            score=score,
            passed=passed,
            recorded_by_id=recorder.id,
            recorded_at=utcnow().replace(microsecond=0),
            supersedes_id=old.id if old else None,
        )
        session.add(r)
        session.flush()
        _append(session, RESULT_KIND, RESULT_FIELDS, r, recorder.id)
        written += 1
    if written:
        audit.record(session, recorder.id, "results", "exam_session", exam.id, str(written))
    return written


def protocol_content(session, exam: ExamSession) -> dict[str, Any]:
    """What a protocol signature vouches for."""
    results = current_results(session, exam.id)
    return {
        "exam": exam.id,
        "program": exam.program_id,
        "version": exam.version_id,
        "test": exam.test_kind,
        "paper": exam.paper_title,
        "starts_at": exam.starts_at.isoformat(),
        "commission": [[a.user_id, a.role] for a in commission(exam)],
        "results": [
            [r.id, r.user_id, r.score, r.passed]
            for r in sorted(results.values(), key=lambda r: r.user_id)
        ],
    }


def protocol_hash(session, exam: ExamSession) -> str:
    return ledger.sha256(protocol_content(session, exam))


def protocol_blockers(session, exam: ExamSession) -> list[str]:
    """What must happen before the protocol can be signed (empty: ready)."""
    out = []
    if exam.state != "closed":
        out.append(_("The exam must be closed."))
    done = ticks(session, exam.id)
    for item in active_items(exam.point, "post"):
        if item.id not in done:
            out.append(_("Post-exam item not ticked: %(item)s", item=item.label))
    results = current_results(session, exam.id)
    if not exam.candidates:
        out.append(_("The exam has no candidates."))
    for c in exam.candidates:
        if c.user_id not in results:
            out.append(_("No result for %(name)s.", name=c.user.name))
    return out


def protocol_complete(session, exam: ExamSession) -> bool:
    signed = {s.signer_id for s in signatures(session, exam.id)}
    members = {a.user_id for a in commission(exam)}
    return bool(members) and members <= signed


def sign_protocol(session, exam: ExamSession, signer: User, password: str) -> ProtocolSignature:
    """A commission member signs the protocol, re-authenticated by password. When the last
    member has signed, each candidate who passed receives a completion with the exam as its
    source."""
    role = _commission_member(exam, signer)
    if role is None:
        raise NotAllowed(_("Only the exam commission signs the protocol."))
    if not verify_password(signer, password):
        audit.record(session, signer.id, "sign_failed", "exam_session", exam.id, "wrong password")
        raise DomainError(_("The password is wrong. Nothing was signed."), field="password")
    already = session.execute(
        sa.select(ProtocolSignature.id).where(
            ProtocolSignature.exam_id == exam.id, ProtocolSignature.signer_id == signer.id
        )
    ).scalar()
    if already is not None:
        raise Conflict(_("You have already signed this protocol. Nothing was signed again."))
    blockers = protocol_blockers(session, exam)
    if blockers:
        raise DomainError(" ".join(blockers))
    sig = ProtocolSignature(
        exam_id=exam.id,
        signer_id=signer.id,
        printed_name=signer.name,
        role=role,
        meaning="protocol",
        signed_at=utcnow().replace(microsecond=0),
        content_hash=protocol_hash(session, exam),
        method="password",
    )
    session.add(sig)
    session.flush()
    _append(session, SIGNATURE_KIND, SIGNATURE_FIELDS, sig, signer.id)
    audit.record(session, signer.id, "sign", "exam_protocol", exam.id, signer.name, role=role)
    if protocol_complete(session, exam):
        _grant_completions(session, exam, signer.id)
    return sig


def _grant_completions(session, exam: ExamSession, actor_id: int) -> None:
    """Completions for the candidates who passed, through the completions domain."""
    zone = ZoneInfo(current_app.config["LMS_CONFIG"].timezone)
    on = exam.starts_at.astimezone(zone).date()
    chair = chair_of(exam)
    results = current_results(session, exam.id)
    for c in exam.candidates:
        r = results.get(c.user_id)
        if r is None or not r.passed or c.completion_id is not None:
            continue
        completion = completions.record_completion(
            session,
            user_id=c.user_id,
            version=exam.version,
            completed_on=on,
            earned_by="exam",
            actor_id=actor_id,
            trainer_id=chair.id if chair else None,
            note=f"exam session {exam.id}",
        )
        c.completion_id = completion.id
    session.flush()


# ----- admission -------------------------------------------------------------------------------


def admission(session, program_id: int, user_ids: list[int]) -> dict[int, tuple[str, int]]:
    """{user id: (admitted | not_admitted, exam id)} from each person's latest exam of the
    program with a fully signed protocol. A failed candidate stays "not admitted" until they
    pass a repeat exam. People without such an exam are absent from the result."""
    if not user_ids:
        return {}
    exams = session.execute(
        sa.select(ExamSession)
        .join(ExamCandidate, ExamCandidate.exam_id == ExamSession.id)
        .where(ExamSession.program_id == program_id, ExamCandidate.user_id.in_(user_ids))
        .where(ExamSession.closed_at.is_not(None))
        .order_by(ExamSession.starts_at.desc(), ExamSession.id.desc())
        .distinct()
    ).scalars()
    out: dict[int, tuple[str, int]] = {}
    wanted = set(user_ids)
    for exam in exams:
        if not protocol_complete(session, exam):
            continue
        for user_id, r in current_results(session, exam.id).items():
            if user_id in wanted and user_id not in out:
                out[user_id] = ("admitted" if r.passed else "not_admitted", exam.id)
        if wanted <= set(out):
            break
    return out
