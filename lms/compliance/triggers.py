"""Triggers that make an unscheduled briefing due for exactly the people concerned: a return
after a long break, a transfer, an incident, new rules in force, a failed knowledge check
(not admitted until the briefing is repeated and passed)."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext
from flask_babel import gettext as _

from lms.accounts import people
from lms.accounts.models import Department, User
from lms.accounts.people import Absence, Transfer
from lms.compliance import engine, regimes, status
from lms.compliance.models import (
    INCIDENT_KINDS,
    Incident,
    PersonStatus,
    UnscheduledBriefing,
)
from lms.compliance.services import REBRIEFING_DAYS
from lms.core import audit, texts
from lms.core.clock import local_date, local_today
from lms.core.dates import fmt_date
from lms.core.errors import Conflict, DomainError
from lms.core.model import utcnow
from lms.learning import attempts
from lms.learning.models import Attempt
from lms.programs.models import Program, ProgramVersion
from lms.sessions import signing
from lms.sessions.models import TrainingSession

# ----- triggers: a return after a long break -----------------------------------------------


@people.on_absence_recorded
def _absence_recorded(session, absence: Absence) -> None:
    back_from_absence(session, absence)


def back_from_absence(session, absence: Absence) -> list[UnscheduledBriefing]:
    """A person back from an absence at least as long as a chosen regime's break threshold
    (LV-OHS: 61 calendar days, 45 with the hazardous-work flag) is due for an unscheduled
    briefing of each required program of that regime's category, on the day of return, with
    the reason. The stored status carries the reason (every page shows it)."""
    if absence.ends_on is None:
        return []
    user = session.get(User, absence.user_id)
    if user is None:
        return []
    days = (absence.ends_on - absence.starts_on).days + 1
    back_on = absence.ends_on + timedelta(days=1)
    made: list[UnscheduledBriefing] = []
    for regime in regimes.chosen(current_app.config):
        threshold = regime.break_threshold(user.hazardous_work)
        if threshold is None or days < threshold:
            continue
        program_ids = session.scalars(
            sa.select(PersonStatus.program_id)
            .join(Program, Program.id == PersonStatus.program_id)
            .where(PersonStatus.user_id == user.id, Program.category == regime.category)
        ).all()
        for pid in program_ids:
            already = session.scalar(
                sa.select(UnscheduledBriefing.id).where(
                    UnscheduledBriefing.user_id == user.id,
                    UnscheduledBriefing.program_id == pid,
                    UnscheduledBriefing.trigger == "break",
                    UnscheduledBriefing.since == back_on,
                )
            )
            if already:
                continue
            reason = texts.stored(
                "compliance.back_from_absence",
                back=back_on.isoformat(),
                days=days,
                regime=regime.code,
                threshold=threshold,
            )
            ub = UnscheduledBriefing(
                program_id=pid,
                department_id=None,
                user_id=user.id,
                trigger="break",
                reason=reason[:1000],
                since=back_on,
                due_on=back_on,
                triggered_by_id=None,
                triggered_at=utcnow(),
            )
            session.add(ub)
            session.flush()
            audit.record(
                session,
                None,
                "trigger",
                "unscheduled_briefing",
                ub.id,
                reason[:200],
                program_id=pid,
                user_id=user.id,
                trigger="break",
            )
            made.append(ub)
    if made:
        status.refresh(session, user_ids=[user.id])
    return made


def _day_style(params: dict) -> dict:
    """A stored message's ISO date (``day``) in the reader's date style."""
    out = dict(params)
    if isinstance(out.get("day"), str):
        with contextlib.suppress(ValueError):
            out["day"] = fmt_date(date.fromisoformat(out["day"]))
    return out


texts.register(
    "compliance.transferred",
    lambda **p: gettext("Transferred on %(day)s: %(old)s → %(new)s", **_day_style(p)),
)
texts.register(
    "compliance.incident_accident",
    lambda **p: gettext("Accident at work on %(day)s in %(unit)s", **_day_style(p)),
)
texts.register(
    "compliance.incident_fire", lambda **p: gettext("Fire on %(day)s in %(unit)s", **_day_style(p))
)
texts.register(
    "compliance.incident_rule_breach",
    lambda **p: gettext("Breach of the fire rules on %(day)s in %(unit)s", **_day_style(p)),
)
texts.register(
    "compliance.new_rules",
    lambda **p: gettext("New rules in force from %(day)s (%(regime)s): %(note)s", **_day_style(p)),
)
texts.register(
    "compliance.not_admitted_briefing",
    lambda **p: gettext(
        "Not admitted: the knowledge check at the briefing on %(day)s failed; the briefing "
        "must be repeated and passed",
        **_day_style(p),
    ),
)
texts.register(
    "compliance.not_admitted",
    lambda **p: gettext(
        "Not admitted: the knowledge check failed on %(day)s (%(score)d%%); the briefing "
        "must be repeated and passed",
        **_day_style(p),
    ),
)


# ----- triggers: transfer, incident, new rules, a failed knowledge check --------------------


def _regime_programs(session, user_ids: list[int] | None, trigger: str) -> dict[int, list[int]]:
    """{program id: [user id]} of the stored statuses of these people (None: everyone) for
    programs of a category whose chosen regime names the trigger. Only people who already
    hold a completion (one never trained needs their first briefing, not an unscheduled one)."""
    categories = {r.category for r in regimes.chosen(current_app.config) if trigger in r.triggers}
    if not categories:
        return {}
    stmt = (
        sa.select(PersonStatus.program_id, PersonStatus.user_id)
        .join(Program, Program.id == PersonStatus.program_id)
        .where(Program.category.in_(categories), PersonStatus.completion_id.is_not(None))
        .order_by(PersonStatus.program_id, PersonStatus.user_id)
    )
    if user_ids is not None:
        stmt = stmt.where(PersonStatus.user_id.in_(user_ids))
    out: dict[int, list[int]] = {}
    for pid, uid in session.execute(stmt):
        out.setdefault(pid, []).append(uid)
    return out


def _due_for_people(
    session,
    found: dict[int, list[int]],
    *,
    trigger: str,
    reason: str,
    since: date,
    due_on: date,
    actor_id: int | None,
) -> list[UnscheduledBriefing]:
    """One unscheduled briefing per person and program (exactly the people concerned)."""
    made = []
    for pid, uids in found.items():
        for uid in uids:
            ub = UnscheduledBriefing(
                program_id=pid,
                department_id=None,
                user_id=uid,
                trigger=trigger,
                reason=reason[:1000],
                since=since,
                due_on=due_on,
                triggered_by_id=actor_id,
                triggered_at=utcnow(),
            )
            session.add(ub)
            made.append(ub)
    if made:
        session.flush()
        audit.record(
            session,
            actor_id,
            "trigger",
            "unscheduled_briefing",
            made[0].id,
            reason[:200],
            trigger=trigger,
            people=len({ub.user_id for ub in made}),
            programs=sorted(found),
        )
        status.refresh(
            session,
            user_ids={ub.user_id for ub in made if ub.user_id is not None},
            program_ids=set(found),
        )
    return made


@people.on_transfer_recorded
def after_transfer(session, transfer: Transfer) -> list[UnscheduledBriefing]:
    """A transfer to another job or unit makes an unscheduled briefing due for that person
    (regimes naming the transfer trigger: LV-OHS, RU-OHS, US-OSHA), on the day of the move."""
    user = session.get(User, transfer.user_id)
    if user is None or not user.active:
        return []
    # every caller told the status owner about the move first (people_changed), so the stored
    # rows already follow the new unit and job
    found = _regime_programs(session, [user.id], "transfer")
    before = (
        session.get(Department, transfer.from_department_id)
        if transfer.from_department_id
        else None
    )
    after = (
        session.get(Department, transfer.to_department_id) if transfer.to_department_id else None
    )
    reason = texts.stored(
        "compliance.transferred",
        day=transfer.effective_on.isoformat(),
        old=", ".join(x for x in (transfer.from_job_title, before.name if before else "") if x)
        or "—",
        new=", ".join(x for x in (transfer.to_job_title, after.name if after else "") if x) or "—",
    )
    return _due_for_people(
        session,
        found,
        trigger="transfer",
        reason=reason,
        since=transfer.effective_on,
        due_on=transfer.effective_on,
        actor_id=None,
    )


INCIDENT_TRIGGER = {"accident": "accident", "fire": "fire", "rule_breach": "rule_breach"}


def record_incident(
    session,
    *,
    occurred_on: date | None,
    department_id: int | None,
    kind: str,
    note: str,
    actor_id: int | None,
) -> tuple[Incident, list[UnscheduledBriefing]]:
    """An accident, a fire or a breach of the rules in a unit: an unscheduled briefing is due
    (by REBRIEFING_DAYS) for each person of the unit and the units below it who holds a program
    of a regime naming that trigger. The incident is kept even when it matches nobody."""
    if kind not in INCIDENT_KINDS:
        raise DomainError(_("Choose what happened."), field="kind")
    if occurred_on is None:
        raise DomainError(_("Give the date."), field="occurred_on")
    today = local_today()
    if occurred_on > today:
        raise DomainError(_("The date cannot be in the future."), field="occurred_on")
    dept = session.get(Department, department_id) if department_id else None
    if dept is None:
        raise DomainError(_("Choose the unit."), field="department_id")
    tree = engine.department_tree_cte()
    members = list(
        session.scalars(
            sa.select(User.id).where(
                User.active.is_(True),
                User.department_id.in_(sa.select(tree.c.id).where(tree.c.root == dept.id)),
            )
        )
    )
    found = _regime_programs(session, members, INCIDENT_TRIGGER[kind]) if members else {}
    incident = Incident(
        occurred_on=occurred_on,
        department_id=dept.id,
        kind=kind,
        note=note.strip()[:1000],
        recorded_by_id=actor_id,
        people_due=len({u for uids in found.values() for u in uids}),
    )
    session.add(incident)
    session.flush()
    audit.record(session, actor_id, "create", "incident", incident.id, kind, department_id=dept.id)
    reason = texts.stored(
        f"compliance.incident_{kind}", day=occurred_on.isoformat(), unit=dept.name
    )
    made = _due_for_people(
        session,
        found,
        trigger=INCIDENT_TRIGGER[kind],
        reason=reason,
        since=today,
        due_on=today + timedelta(days=REBRIEFING_DAYS),
        actor_id=actor_id,
    )
    return incident, made


def new_rules_in_force(
    session,
    *,
    regime_code: str,
    program_id: int | None,
    in_force_on: date | None,
    note: str,
    actor_id: int | None,
) -> list[UnscheduledBriefing]:
    """New rules in force (e.g. RU: MChS letter ИГ-19-14-1263): an unscheduled briefing is due
    for everyone holding the regime's programs (or the one program named). Refused, nothing
    recorded, when the regime has no such trigger or the rules concern nobody."""
    chosen = {r.code: r for r in regimes.chosen(current_app.config)}
    regime = chosen.get(regime_code)
    if regime is None:
        raise DomainError(_("Choose one of the organisation's regimes."), field="regime")
    if "new_rules" not in regime.triggers:
        raise DomainError(
            _("%(regime)s does not make new rules a trigger.", regime=regime.code),
            field="regime",
        )
    if in_force_on is None:
        raise DomainError(_("Give the date the rules come into force."), field="in_force_on")
    if not note.strip():
        raise DomainError(_("Name the new rules."), field="note")
    found = _regime_programs(session, None, "new_rules")
    category_programs = set(
        session.scalars(sa.select(Program.id).where(Program.category == regime.category))
    )
    found = {pid: uids for pid, uids in found.items() if pid in category_programs}
    if program_id:
        program = session.get(Program, program_id)
        if program is None or program.category != regime.category:
            raise DomainError(_("This program does not belong to the regime."), field="program_id")
        found = {pid: uids for pid, uids in found.items() if pid == program_id}
    if not found:
        raise Conflict(
            _(
                "These rules concern nobody: no one holds a program of this regime. Nothing was recorded."
            )
        )
    reason = texts.stored(
        "compliance.new_rules",
        day=in_force_on.isoformat(),
        regime=regime.code,
        note=note.strip(),
    )
    since = max(in_force_on, local_today())
    return _due_for_people(
        session,
        found,
        trigger="new_rules",
        reason=reason,
        since=since,
        due_on=since + timedelta(days=REBRIEFING_DAYS),
        actor_id=actor_id,
    )


def _not_admitted(
    session, user_id: int, program: Program | None, on: date, reason: str
) -> list[UnscheduledBriefing]:
    """The person is not admitted until the briefing is repeated and passed: an unscheduled
    briefing due at once (for regimes naming the failed check as a trigger; once per day)."""
    if program is None or not any(
        "knowledge_check_failed" in r.triggers
        for r in regimes.for_category(current_app.config, program.category)
    ):
        return []
    if session.get(PersonStatus, (user_id, program.id)) is None:
        return []  # not required of this person
    ub = UnscheduledBriefing
    if session.scalar(
        sa.select(ub.id).where(
            ub.user_id == user_id,
            ub.program_id == program.id,
            ub.trigger == "knowledge_check_failed",
            ub.since == on,
        )
    ):
        return []
    return _due_for_people(
        session,
        {program.id: [user_id]},
        trigger="knowledge_check_failed",
        reason=reason,
        since=on,
        due_on=on,
        actor_id=None,
    )


@signing.on_check_failed
def failed_at_briefing(session, ts: TrainingSession, user_ids: list[int]) -> None:
    """People marked "knowledge check failed" (present, check failed) in a signed session: not admitted."""
    on = local_date(ts.starts_at)
    program = session.get(Program, ts.program_id)
    for uid in user_ids:
        _not_admitted(
            session,
            uid,
            program,
            on,
            texts.stored("compliance.not_admitted_briefing", day=on.isoformat()),
        )


@attempts.on_quiz_failed
def not_admitted(session, attempt: Attempt) -> list[UnscheduledBriefing]:
    """A failed knowledge check (LV MK 749: the person must not start work; RU 2464: every
    briefing ends with a check): the person is not admitted until the briefing is repeated and
    passed: an unscheduled briefing due at once, the reason saying "not admitted"."""
    if attempt.passed or attempt.user_id is None:
        return []
    version = session.get(ProgramVersion, attempt.version_id)
    if version is None:
        return []
    on = local_today()
    reason = texts.stored(
        "compliance.not_admitted", day=on.isoformat(), score=attempt.score_percent or 0
    )
    return _not_admitted(
        session, attempt.user_id, session.get(Program, version.program_id), on, reason
    )
