"""Bulk certificate export: a ZIP of the certificates matching a filter, built by a job."""

from __future__ import annotations

import zipfile
from pathlib import Path

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.accounts.models import User
from lms.completions.models import Certificate, Completion, ExportJob, Revocation
from lms.config import INSTANCE
from lms.core import audit
from lms.core.errors import DomainError
from lms.core.model import utcnow
from lms.extensions import db

BATCH = 50
MAX_EXPORT = 20_000


def certificate_query(
    *,
    q: str = "",
    department_ids: list[int] | None = None,
    program_id: int | None = None,
    state: str | None = None,
    today=None,
):
    """Certificates matching the auditor's filter, joined to what the list shows."""
    stmt = (
        sa.select(Certificate)
        .join(Completion, Completion.id == Certificate.completion_id)
        .join(User, User.id == Completion.user_id)
        .order_by(Completion.completed_on.desc(), Certificate.id.desc())
    )
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(User.name).like(like),
                sa.func.lower(User.email).like(like),
                sa.func.lower(Certificate.number).like(like),
            )
        )
    if department_ids:
        stmt = stmt.where(User.department_id.in_(department_ids))
    if program_id:
        stmt = stmt.where(Completion.program_id == program_id)
    revoked = sa.exists().where(Revocation.completion_id == Completion.id)
    if state == "revoked":
        stmt = stmt.where(revoked)
    elif state == "valid":
        stmt = stmt.where(
            ~revoked, sa.or_(Completion.expires_on.is_(None), Completion.expires_on >= today)
        )
    elif state == "expired":
        stmt = stmt.where(~revoked, Completion.expires_on < today)
    return stmt


def start_export(session, user_id: int, filters: dict, stmt) -> ExportJob:
    total = session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    if total == 0:
        raise DomainError(_("No certificates match this filter."))
    if total > MAX_EXPORT:
        raise DomainError(
            _(
                "At most %(n)d certificates can be exported at once; narrow the filter.",
                n=MAX_EXPORT,
            )
        )
    job = ExportJob(user_id=user_id, filters=filters, total=total, status="queued")
    session.add(job)
    session.flush()
    audit.record(
        session, user_id, "export", "certificates", job.id, f"{total} certificates", filters=filters
    )
    return job


def export_path(job_id: int) -> Path:
    return INSTANCE / "exports" / f"certificates-{job_id}.zip"


def run_export(job_id: int) -> None:
    """Render every matching certificate in batches (one layout pass per batch) into a ZIP."""
    from flask_babel import get_timezone  # noqa: F401  (needs the app context)

    from lms.completions import certificates, services

    session = db.session
    job = session.get(ExportJob, job_id)
    if job is None or job.status not in ("queued", "failed"):
        return
    job.status = "running"
    job.done = 0
    session.commit()
    f = job.filters
    stmt = certificate_query(
        q=f.get("q", ""),
        department_ids=f.get("department_ids"),
        program_id=f.get("program_id"),
        state=f.get("state"),
        today=utcnow().date(),
    )
    ids = list(session.execute(stmt.with_only_columns(Certificate.id)).scalars())
    path = export_path(job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            for start in range(0, len(ids), BATCH):
                chunk = (
                    session.execute(
                        sa.select(Certificate)
                        .where(Certificate.id.in_(ids[start : start + BATCH]))
                        .order_by(Certificate.id)
                    )
                    .scalars()
                    .all()
                )
                pdfs = certificates.render_many(chunk)
                for cert, pdf in zip(chunk, pdfs, strict=True):
                    services.record_pdf_hash(session, cert, pdf)
                    zf.writestr(f"{cert.number}.pdf", pdf)
                job.done = min(job.total, start + len(chunk))
                session.commit()
        tmp.replace(path)
        job.status = "done"
        job.path = str(path)
        job.finished_at = utcnow()
        session.commit()
    except Exception as err:  # the job records the failure for the person waiting on it
        session.rollback()
        job = session.get(ExportJob, job_id)
        job.status = "failed"
        job.error = str(err)[:500]
        session.commit()
        raise
