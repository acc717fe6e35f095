"""Requirements, unscheduled briefings and the figures the compliance pages show."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from lms.accounts.models import Department, User
from lms.completions.models import Completion, Revocation
from lms.compliance import regimes, status
from lms.compliance.models import (
    ChosenRegime,
    Requirement,
    UnscheduledBriefing,
)
from lms.core import audit, texts
from lms.core.clock import local_today
from lms.core.dates import fmt_date
from lms.core.errors import Conflict, DomainError, NotFound
from lms.core.model import utcnow
from lms.programs.models import Program, ProgramVersion
from lms.programs.services import Effect, on_approval, on_effects
from lms.sessions import scheduling


def add_requirement(
    session,
    *,
    program_id: int,
    department_id: int | None,
    job_title: str | None,
    interval_months: int | None,
    actor_id: int | None,
) -> Requirement:
    program = session.get(Program, program_id)
    if program is None:
        raise NotFound(_("No such program."))
    if department_id is not None and session.get(Department, department_id) is None:
        raise DomainError(_("Unknown department."), field="department_id")
    if interval_months is not None and not (1 <= interval_months <= 120):
        raise DomainError(
            _("Enter a number of months from 1 to %(max)d, or leave it empty.", max=120),
            field="interval_months",
        )
    job_title = (job_title or "").strip() or None
    duplicate = session.execute(
        sa.select(Requirement.id).where(
            Requirement.program_id == program_id,
            Requirement.active.is_(True),
            Requirement.department_id.is_(None)
            if department_id is None
            else Requirement.department_id == department_id,
            Requirement.job_title.is_(None)
            if job_title is None
            else sa.func.lower(Requirement.job_title) == job_title.lower(),
        )
    ).scalar()
    if duplicate:
        raise Conflict(_("This requirement already exists."))
    req = Requirement(
        program_id=program_id,
        department_id=department_id,
        job_title=job_title,
        interval_months=interval_months,
        created_by_id=actor_id,
    )
    session.add(req)
    session.flush()
    audit.record(
        session,
        actor_id,
        "create",
        "requirement",
        req.id,
        program.code,
        department_id=department_id,
        job_title=job_title,
        interval=interval_months,
    )
    status.refresh(session, program_ids=[program_id])
    return req


def end_requirement(session, req: Requirement, actor_id: int | None) -> None:
    req.active = False
    session.flush()
    audit.record(session, actor_id, "deactivate", "requirement", req.id, req.program.code)
    status.refresh(session, program_ids=[req.program_id])


def requirements_from_audience(session, program: Program, actor_id: int | None) -> int:
    """Create the requirements a program's approved audience implies; returns how many."""
    version = program.current_version
    if version is None:
        raise DomainError(_("Only an approved program version can be scheduled or taken."))
    created = 0
    codes: list[str | None] = [*(version.audience_departments or [])] or [None]
    titles: list[str | None] = [*(version.audience_job_titles or [])] or [None]
    for code in codes:
        dept_id = None
        if code:
            dept_id = session.execute(
                sa.select(Department.id).where(Department.code == code)
            ).scalar()
            if dept_id is None:
                continue
        for title in titles:
            try:
                add_requirement(
                    session,
                    program_id=program.id,
                    department_id=dept_id,
                    job_title=title,
                    interval_months=None,
                    actor_id=actor_id,
                )
                created += 1
            except Conflict:
                pass
    return created


def trigger_unscheduled(
    session,
    *,
    program_id: int,
    reason: str,
    due_on: date,
    department_id: int | None,
    actor_id: int | None,
    version_id: int | None = None,
    since: date | None = None,
    trigger: str = "manual",
) -> UnscheduledBriefing:
    """Make an unscheduled briefing required for everyone in scope (with a reason); `trigger`
    names what made it due (manual: set by hand)."""
    if not reason.strip():
        raise DomainError(_("Give the reason for the unscheduled briefing."), field="reason")
    today = since or local_today()
    if due_on < today:
        raise DomainError(_("The due date cannot be in the past."), field="due_on")
    if session.get(Program, program_id) is None:
        raise NotFound(_("No such program."))
    if department_id is not None and session.get(Department, department_id) is None:
        raise DomainError(_("Unknown department."), field="department_id")
    ub = UnscheduledBriefing(
        program_id=program_id,
        department_id=department_id,
        reason=reason.strip()[:1000],
        since=today,
        due_on=due_on,
        triggered_by_id=actor_id,
        triggered_at=utcnow(),
        version_id=version_id,
        trigger=trigger,
    )
    session.add(ub)
    session.flush()
    audit.record(
        session,
        actor_id,
        "trigger",
        "unscheduled_briefing",
        ub.id,
        reason[:200],
        program_id=program_id,
        department_id=department_id,
        due_on=due_on.isoformat(),
    )
    status.refresh(session, program_ids=[program_id])
    return ub


REBRIEFING_DAYS = 30


@on_approval
def on_version_approved(session, version, actor_id: int | None) -> None:
    """A new approved version of a program.

    Completions of earlier versions stay valid until their own due dates. Only when the program
    head marked the change as needing re-briefing (an amended instruction) is an unscheduled
    briefing made due for the people who hold an earlier version, with that reason.
    """
    status.refresh(session, program_ids=[version.program_id])
    if version.number <= 1 or not version.needs_rebriefing:
        return
    if not earlier_holders(session, version):
        return
    today = local_today()
    trigger_unscheduled(
        session,
        program_id=version.program_id,
        department_id=None,
        actor_id=actor_id,
        reason=texts.stored("compliance.instruction_amended", n=version.number),
        due_on=today + timedelta(days=REBRIEFING_DAYS),
        version_id=version.id,
        since=today,
        trigger="instruction_amended",
    )


def earlier_holders(session, version) -> list[tuple[int, str]]:
    """(id, name) of active people whose newest valid completion of the program is of an
    earlier version than this one."""
    today = local_today()
    rows = session.execute(
        sa.select(User.id, User.name)
        .join(Completion, Completion.user_id == User.id)
        .join(ProgramVersion, ProgramVersion.id == Completion.version_id)
        .where(
            Completion.program_id == version.program_id,
            ProgramVersion.number < version.number,
            User.active.is_(True),
            sa.or_(Completion.expires_on.is_(None), Completion.expires_on >= today),
            ~sa.exists().where(Revocation.completion_id == Completion.id),
        )
        .group_by(User.id, User.name)
        .order_by(User.name)
    ).all()
    return [(uid, name) for uid, name in rows]


@on_effects
def holder_effects(session, version, needs_rebriefing: bool) -> list[Effect]:
    """For the sign page: what approving means for the holders of earlier versions."""
    if version.number <= 1:
        return []
    holders = earlier_holders(session, version)
    if not holders:
        return []
    if needs_rebriefing:
        text = _(
            "%(n)d people hold an earlier version: each needs an unscheduled briefing by "
            "%(due)s (reason: instruction amended).",
            n=len(holders),
            due=fmt_date(local_today() + timedelta(days=REBRIEFING_DAYS)),
        )
    else:
        text = _(
            "%(n)d people hold an earlier version: their completions stay valid until their "
            "own due dates.",
            n=len(holders),
        )
    return [Effect(text, tuple(n for _i, n in holders), tuple(i for i, _n in holders))]


# ----- briefing events: the types the organisation's regimes allow --------------------------


@scheduling.register_allowed_types
def event_types(program: Program) -> dict[str, bool]:
    """{event type: needs a reason} for the chosen regimes of the program's category."""
    out: dict[str, bool] = {}
    for regime in regimes.for_category(current_app.config, program.category):
        for key, bt in regime.briefing_types.items():
            if key in scheduling.EVENT_TYPES:
                out[key] = out.get(key, False) or bt.needs_reason
    return out


def choose_regimes(session, codes: list[str], actor_id: int | None) -> list[str]:
    """The regimes the organisation works under, chosen by an administrator (stored; the
    configuration's LMS_REGIMES stays the default)."""
    known = regimes.all_regimes()
    clean = [c for c in dict.fromkeys(codes) if c]
    unknown = [c for c in clean if c not in known]
    if unknown:
        raise DomainError(_("Unknown regime: %(codes)s", codes=", ".join(unknown)), field="codes")
    if not clean:
        raise DomainError(_("Choose at least one regime."), field="codes")
    before = regimes.stored_choice()
    session.execute(sa.delete(ChosenRegime))
    for i, code in enumerate(clean):
        session.add(ChosenRegime(code=code, position=i))
    session.flush()
    chosen = ", ".join(clean)  # the regimes' codes (data, the same in every language)
    audit.record(session, actor_id, "change", "regimes", "*", chosen, before=before, after=clean)
    return clean
