"""The cascade's reads: per department, the responsible persons and how far they got (the
dashboard in lms/compliance/cascade_routes.py adds the compliance counts of the stored status)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from lms.accounts.models import Department, User
from lms.accounts.services import department_tree
from lms.cascade.models import Designation
from lms.completions.models import Completion, Revocation
from lms.programs.models import Program, ProgramVersion


@dataclass
class Responsible:
    user: User
    designation: Designation
    own_valid_until: date | None
    own_state: str  # valid, expired, missing
    briefed: int = 0


@dataclass
class UnitRow:
    department: Department
    depth: int
    staff: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    responsible: list[Responsible] = field(default_factory=list)

    @property
    def coverage(self) -> float | None:
        total = sum(self.counts.values())
        return self.counts.get("compliant", 0) / total if total else None


def cascade_programs(session) -> list[Program]:
    return list(
        session.execute(
            sa.select(Program)
            .join(ProgramVersion, ProgramVersion.id == Program.current_version_id)
            .where(ProgramVersion.delivery_mode == "cascade")
            .order_by(Program.code)
        ).scalars()
    )


def dashboard(
    session,
    program: Program,
    today: date,
    department_ids: list[int] | None = None,
    counts: Mapping[int | None, dict[str, int]] | None = None,
) -> list[UnitRow]:
    """One row per department: staff, statuses, responsible persons, briefed counts.

    `counts`: {department id: {status: number of people}} for the program, read by the caller
    from the stored status (compliance stands above the cascade). A fixed number of queries
    whatever the size of the organisation.
    """
    rows = {
        d.id: UnitRow(d, depth)
        for d, depth in department_tree(session)
        if department_ids is None or d.id in department_ids
    }
    staff = session.execute(
        sa.select(User.department_id, sa.func.count())
        .where(User.active.is_(True))
        .group_by(User.department_id)
    ).all()
    for dept, n in staff:
        if dept in rows:
            rows[dept].staff = n
    for dept, by_status in (counts or {}).items():
        if dept in rows:
            rows[dept].counts = dict(by_status)
    designations = session.execute(
        sa.select(Designation, User)
        .join(User, User.id == Designation.user_id)
        .where(
            sa.or_(Designation.program_id == program.id, Designation.category == program.category),
            Designation.starts_on <= today,
            sa.or_(Designation.ends_on.is_(None), Designation.ends_on >= today),
        )
    ).all()
    person_ids = [u.id for _d, u in designations]
    own = {}
    if person_ids:
        for uid, expires, completed in session.execute(
            sa.select(
                Completion.user_id,
                sa.func.max(Completion.expires_on),
                sa.func.max(Completion.completed_on),
            )
            .where(
                Completion.user_id.in_(person_ids),
                Completion.program_id == program.id,
                ~sa.exists().where(Revocation.completion_id == Completion.id),
            )
            .group_by(Completion.user_id)
        ):
            own[uid] = (expires, completed)
    briefed = dict(
        session.execute(
            sa.select(Completion.trainer_id, sa.func.count())
            .where(
                Completion.trainer_id.in_(person_ids or [0]),
                Completion.program_id == program.id,
                sa.or_(Completion.expires_on.is_(None), Completion.expires_on >= today),
                ~sa.exists().where(Revocation.completion_id == Completion.id),
            )
            .group_by(Completion.trainer_id)
        ).all()
    )
    for d, user in designations:
        if d.department_id not in rows:
            continue
        expires, completed = own.get(user.id, (None, None))
        if completed is None:
            state = "missing"
        elif expires is not None and expires < today:
            state = "expired"
        else:
            state = "valid"
        rows[d.department_id].responsible.append(
            Responsible(user, d, expires, state, briefed.get(user.id, 0))
        )
    return list(rows.values())


def active_people(session) -> list[User]:
    """Everyone who can sign in, by name (whom a manager may designate)."""
    return list(
        session.execute(sa.select(User).where(User.active.is_(True)).order_by(User.name)).scalars()
    )


def designations(session, department_ids: list[int] | None) -> list[Designation]:
    """Designations, newest first; only those of the given departments unless None (admins)."""
    stmt = sa.select(Designation).order_by(Designation.starts_on.desc(), Designation.id.desc())
    if department_ids is not None:
        stmt = stmt.where(Designation.department_id.in_(department_ids or [0]))
    return list(session.execute(stmt).scalars())
