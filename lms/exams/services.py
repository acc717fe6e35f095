"""Rules for exam sessions: exam points and their checklists, appointments, the pre-exam
software check and the chair's override, the access journal, results and the protocol.

Every tick, access-journal line, result, opening, closing and protocol signature is appended
to the ledger. Nothing signed or journalled is updated: corrections are new rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from lms.accounts.models import User
from lms.core import audit, ledger
from lms.core.errors import Conflict, DomainError, NotAllowed, NotFound
from lms.core.model import utcnow
from lms.exams.models import (
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
