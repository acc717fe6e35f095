"""Reads for the auditor's pages: the audit log's filters, certificate search, export jobs."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.accounts.models import Department, User, in_locale
from lms.completions.exports import certificate_query, numbers_matching, people_matching
from lms.completions.models import Certificate, ExportJob
from lms.core.audit import AuditEntry
from lms.core.errors import NotAllowed, NotFound
from lms.core.model import DbSession
from lms.programs.models import Program


def actor_names(session: DbSession, actor_ids: set[int]) -> dict[int, str]:
    """Names of the people who acted in the shown audit entries."""
    if not actor_ids:
        return {}
    rows = session.execute(sa.select(User.id, User.name).where(User.id.in_(actor_ids)))
    return {user_id: name for user_id, name in rows}


def audit_entries(session: DbSession, stmt: sa.Select[Any], limit: int) -> list[AuditEntry]:
    """The first `limit` audit entries the filtered statement selects (the CSV export)."""
    return list(session.execute(stmt.limit(limit)).scalars().all())


def audit_actors(session: DbSession) -> list[Any]:
    """(id, name) of everyone who appears in the audit log as an actor, by name."""
    return list(
        session.execute(
            sa.select(User.id, User.name)
            .where(User.id.in_(sa.select(AuditEntry.actor_id).distinct()))
            .order_by(User.name)
        ).all()
    )


def audit_object_types(session: DbSession) -> list[str]:
    return list(
        session.scalars(
            sa.select(AuditEntry.object_type).distinct().order_by(AuditEntry.object_type)
        ).all()
    )


def department_options(session: DbSession, locale: str | None) -> list[tuple[int, str, int]]:
    """(id, name in the reader's language, depth) of every department in tree order: the
    department filter, read as columns (the names as ``Department.local_name`` gives them)."""
    rows = session.execute(
        sa.select(Department.id, Department.parent_id, Department.name, Department.names).order_by(
            Department.name
        )
    ).all()
    children: dict[int | None, list[Any]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    out: list[tuple[int, str, int]] = []
    stack: list[tuple[Any, int]] = [(r, 0) for r in reversed(children.get(None, []))]
    seen: set[int] = set()
    while stack:
        row, depth = stack.pop()
        if row.id in seen:
            continue
        seen.add(row.id)
        out.append((row.id, in_locale(row.names, row.name, locale), depth))
        stack.extend((r, depth + 1) for r in reversed(children.get(row.id, [])))
    return out


def program_codes(session: DbSession) -> list[Any]:
    """(id, code) of every program, by code: the program filter."""
    return list(session.execute(sa.select(Program.id, Program.code).order_by(Program.code)).all())


def certificate_search(session: DbSession, *, today: date, **filters: Any) -> sa.Select[Any]:
    """The portal's certificates (``certificate_query``'s filters); the people a typed name
    finds are looked up first, so that a few of them are read through the person index."""
    q = filters.get("q") or ""
    people = people_matching(session, q)
    numbers = numbers_matching(session, q)
    return certificate_query(**filters, today=today, people=people, numbers=numbers)


def page_cursor(session: DbSession, value: str) -> Certificate | None:
    """The certificate a page link continues after (``after=<id>``), or None when the value
    is not the id of a certificate."""
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return session.get(Certificate, int(value))


def reread(session: DbSession, job: ExportJob) -> ExportJob:
    """The job as the database holds it now (a conditional update in SQL may have changed it)."""
    session.refresh(job)
    return job


def export_job(session: DbSession, viewer: User, job_id: int) -> ExportJob:
    """An export job: one's own, or anyone's with "certificates.exports_of_others"."""
    job = session.get(ExportJob, job_id)
    if job is None:
        raise NotFound(_("There is no such page."))
    if job.user_id != viewer.id and not viewer.can("certificates.exports_of_others"):
        raise NotAllowed(_("You do not have permission to see this page."))
    return job
