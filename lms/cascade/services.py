"""Cascade rules: designations, who may pass training on, and lapse propagation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.accounts.models import Department, User
from lms.accounts.services import subtree_ids
from lms.cascade.models import Designation
from lms.completions import services as completions
from lms.completions.models import Completion, Revocation
from lms.core import audit, outbox, texts
from lms.core.errors import DomainError, NotFound
from lms.core.model import utcnow
from lms.programs.models import CATEGORIES, Program, ProgramVersion


@dataclass
class TeachingRight:
    allowed: bool
    reason: str | None = None
    level: int = 0  # the cascade level of the sessions this person runs
    own_completion: Completion | None = None
    designation: Designation | None = None


def designate(
    session,
    *,
    user_id: int,
    department_id: int,
    program_id: int | None,
    category: str | None,
    level: int,
    starts_on: date,
    ends_on: date | None,
    actor_id: int | None,
) -> Designation:
    """Name a responsible person for a department and a program (or a program category)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such person."))
    if not user.active:
        raise DomainError(
            _("%(name)s is deactivated and cannot be designated.", name=user.name), field="user_id"
        )
    if session.get(Department, department_id) is None:
        raise DomainError(_("Unknown department."), field="department_id")
    if program_id is None and category is None:
        raise DomainError(_("Choose a program or a program category."), field="program_id")
    max_level = 5
    if program_id is not None:
        program = session.get(Program, program_id)
        if program is None:
            raise NotFound(_("No such program."))
        version = program.current_version
        if version is None or version.delivery_mode != "cascade":
            raise DomainError(
                _("%(code)s is not a cascade program.", code=program.code), field="program_id"
            )
        max_level = version.cascade_levels
        category = None
    elif category not in CATEGORIES:
        raise DomainError(_("Unknown category."), field="category")
    if not (1 <= level <= max_level):
        raise DomainError(_("The level must be from 1 to %(max)d.", max=max_level), field="level")
    if ends_on is not None and ends_on < starts_on:
        raise DomainError(_("The end date cannot be before the start date."), field="ends_on")
    d = Designation(
        user_id=user_id,
        department_id=department_id,
        program_id=program_id,
        category=category,
        level=level,
        starts_on=starts_on,
        ends_on=ends_on,
        created_by_id=actor_id,
    )
    session.add(d)
    session.flush()
    audit.record(
        session,
        actor_id,
        "designate",
        "designation",
        d.id,
        user.name,
        department_id=department_id,
        program_id=program_id,
        category=category,
        level=level,
        starts_on=starts_on.isoformat(),
        ends_on=ends_on.isoformat() if ends_on else None,
    )
    return d


def end_designation(session, d: Designation, ends_on: date, actor_id: int | None) -> None:
    if ends_on < d.starts_on:
        raise DomainError(_("The end date cannot be before the start date."), field="ends_on")
    before = d.ends_on
    d.ends_on = ends_on
    d.ended_by_id = actor_id
    d.ended_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor_id,
        "end",
        "designation",
        d.id,
        d.user.name,
        before=before.isoformat() if before else None,
        after=ends_on.isoformat(),
    )


def _covers(session, d: Designation, department_id: int) -> bool:
    return department_id in subtree_ids(session, d.department_id)


def designations_for(session, user_id: int, program: Program, today: date) -> list[Designation]:
    return list(
        session.execute(
            sa.select(Designation)
            .where(
                Designation.user_id == user_id,
                sa.or_(
                    Designation.program_id == program.id, Designation.category == program.category
                ),
                Designation.starts_on <= today,
                sa.or_(Designation.ends_on.is_(None), Designation.ends_on >= today),
            )
            .order_by(Designation.level)
        ).scalars()
    )


def teaching_right(
    session, user: User, program: Program, department_id: int | None, today: date
) -> TeachingRight:
    """May this person schedule and run sessions of the program for the department? Why not?"""
    if user.has_role("admin") or user.has_role("instructor"):
        return TeachingRight(True, level=0)
    version = program.current_version
    if version is None or version.delivery_mode != "cascade":
        return TeachingRight(False, _("Only instructors run sessions of this program."))
    mine = designations_for(session, user.id, program, today)
    if not mine:
        return TeachingRight(
            False, _("You are not a designated responsible person for this program.")
        )
    if department_id is None:
        return TeachingRight(False, _("Choose the department you are responsible for."))
    covering = [d for d in mine if _covers(session, d, department_id)]
    if not covering:
        return TeachingRight(
            False,
            _(
                "You are responsible for another department; you may only "
                "brief the staff of your own."
            ),
        )
    d = covering[0]
    own = completions.valid_completion(session, user.id, program.id, today)
    if own is None or (own.cascade_level or 0) > d.level - 1:
        return TeachingRight(
            False,
            _(
                "Your own completion of this program is missing, expired "
                "or revoked: you may pass it on only after you are "
                "trained again."
            ),
            designation=d,
        )
    return TeachingRight(True, level=d.level, own_completion=own, designation=d)


@completions.on_revocation
def propagate_lapse(
    session, completion: Completion, revocation: Revocation, actor_id: int | None
) -> None:
    """A trainer's revoked completion flags every completion they gave for re-briefing."""
    given = (
        session.execute(
            sa.select(Completion).where(
                Completion.trainer_completion_id == completion.id,
                ~sa.exists().where(Revocation.completion_id == Completion.id),
            )
        )
        .scalars()
        .all()
    )
    trainer = session.get(User, completion.user_id)
    for child in given:
        completions.revoke(
            session,
            child,
            texts.stored("cascade.trainer_revoked", name=trainer.name),
            actor_id,
            caused_by=revocation,
        )
        _notify_lapse(session, child, trainer)


def nearest_manager(session, person: User) -> User | None:
    """The manager of the person's department, else of the nearest department above it."""
    dept = person.department
    seen: set[int] = set()
    while dept is not None and dept.id not in seen:
        seen.add(dept.id)
        if dept.manager_id and dept.manager_id != person.id:
            return session.get(User, dept.manager_id)
        dept = session.get(Department, dept.parent_id) if dept.parent_id else None
    return None


def _notify_lapse(session, child: Completion, trainer: User) -> None:
    """Tell the person, and their department's manager, that a re-briefing is needed."""
    person = session.get(User, child.user_id)
    program = session.get(Program, child.program_id)

    def for_person():
        return (
            _("Re-briefing needed: %(code)s", code=program.code),
            _(
                "Your briefing on %(code)s was given by %(trainer)s, whose own training was "
                "revoked. You need to be briefed again.",
                code=program.code,
                trainer=trainer.name,
            ),
        )

    def for_manager():
        return (
            _("Re-briefing needed in your department: %(code)s", code=program.code),
            _(
                "%(name)s needs to be briefed again on %(code)s: the trainer's own "
                "training was revoked.",
                name=person.name,
                code=program.code,
            ),
        )

    recipients = [(person, for_person, f"lapse:{child.id}")]
    manager = nearest_manager(session, person)
    if manager is not None:
        recipients.append((manager, for_manager, f"lapse-manager:{child.id}:{manager.id}"))
    for recipient, message, key in recipients:
        subject, body = outbox.in_locale(recipient, message)
        outbox.queue(
            session,
            user_id=recipient.id,
            kind="cascade_lapse",
            subject=subject,
            body=body,
            link=f"/people/{person.id}/training",
            dedupe_key=key,
        )


@dataclass
class TeachingOption:
    program: Program
    department_ids: list[int]
    allowed: bool
    reason: str | None


def teaching_options(session, user: User, today: date) -> list[TeachingOption]:
    """What a designated person may schedule now (and, where not, why not)."""
    options: dict[int, TeachingOption] = {}
    designations = (
        session.execute(
            sa.select(Designation).where(
                Designation.user_id == user.id,
                Designation.starts_on <= today,
                sa.or_(Designation.ends_on.is_(None), Designation.ends_on >= today),
            )
        )
        .scalars()
        .all()
    )
    for d in designations:
        stmt = (
            sa.select(Program)
            .join(ProgramVersion, ProgramVersion.id == Program.current_version_id)
            .where(ProgramVersion.delivery_mode == "cascade")
        )
        stmt = (
            stmt.where(Program.id == d.program_id)
            if d.program_id
            else stmt.where(Program.category == d.category)
        )
        for program in session.execute(stmt).scalars():
            right = teaching_right(session, user, program, d.department_id, today)
            opt = options.setdefault(program.id, TeachingOption(program, [], False, right.reason))
            if right.allowed:
                opt.allowed, opt.reason = True, None
                opt.department_ids = sorted(
                    set(opt.department_ids) | set(subtree_ids(session, d.department_id))
                )
    return sorted(options.values(), key=lambda o: o.program.code)
