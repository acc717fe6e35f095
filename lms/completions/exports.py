"""Bulk certificate export: a ZIP of the certificates matching a filter, built by a job."""

from __future__ import annotations

import multiprocessing
import os
import zipfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from lms.accounts.models import User
from lms.completions.models import (
    Certificate,
    CertificatePdf,
    Completion,
    ExportJob,
    Revocation,
)
from lms.config import INSTANCE
from lms.core import audit
from lms.core.errors import DomainError
from lms.core.model import utcnow
from lms.extensions import db

BATCH = 50  # certificates laid out in one pass (those not rendered yet)
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
        # matching people first (a few thousand rows), then their certificates by index; the
        # number is searched on its own index: no scan of every certificate row
        people = sa.select(User.id).where(
            sa.or_(sa.func.lower(User.name).like(like), sa.func.lower(User.email).like(like))
        )
        by_person = (
            sa.select(Certificate.id)
            .join(Completion, Completion.id == Certificate.completion_id)
            .where(Completion.user_id.in_(people))
        )
        by_number = sa.select(Certificate.id).where(sa.func.lower(Certificate.number).like(like))
        stmt = stmt.where(Certificate.id.in_(sa.union(by_person, by_number)))
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


_app = None  # the application, for worker processes forked by _pdf_batches


def _worker_context() -> None:
    _app.app_context().push()
    # a forked worker must never use (or close) the parent's pooled database connections
    db.engine.dispose(close=False)


def _render_apart(certs: list, head: str | None) -> list[bytes]:
    from lms.completions import issued

    return issued.render(certs, head)


def _pdf_batches(
    batches: list[list[int]], load: Callable, head: str | None
) -> Iterator[tuple[list, dict[int, bytes], list[bytes]]]:
    """(certificates, their stored PDFs, PDFs rendered now for the others) for each batch.

    Stored PDFs are read as they are. Certificates never rendered yet (history loaded in bulk)
    are laid out here, one layout pass per batch: with several cores, in worker processes
    (forked, one per core, a few batches ahead of the writer).
    """
    from lms.completions import issued

    global _app
    session = db.session
    workers = min(os.cpu_count() or 1, len(batches))
    pending: deque = deque()
    pool = None
    try:
        for batch in batches:
            chunk = load(batch)
            have: dict[int, bytes] = dict(
                session.execute(
                    sa.select(CertificatePdf.certificate_id, CertificatePdf.data).where(
                        CertificatePdf.certificate_id.in_([c.id for c in chunk])
                    )
                ).all()
            )
            missing = [c for c in chunk if c.id not in have]
            if not missing:
                pending.append((chunk, have, missing, None))
            elif workers < 2:
                pending.append((chunk, have, missing, issued.render(missing, head)))
            else:
                if pool is None:
                    _app = current_app._get_current_object()
                    pool = ProcessPoolExecutor(
                        workers,
                        mp_context=multiprocessing.get_context("fork"),
                        initializer=_worker_context,
                    )
                # what is printed is the certificate's signed content: hand the workers that,
                # as plain data, instead of database rows
                plain = [SimpleNamespace(**{k: getattr(c, k) for k in PRINTED}) for c in missing]
                pending.append((chunk, have, missing, pool.submit(_render_apart, plain, head)))
            while pending and (len(pending) > 2 * workers or not isinstance(pending[0][3], Future)):
                yield _ready(pending.popleft())
        while pending:
            yield _ready(pending.popleft())
    finally:
        if pool is not None:
            pool.shutdown()


PRINTED = ("id", "number", "language", "template", "template_version", "fields")


def _ready(item) -> tuple[list, dict[int, bytes], list[bytes]]:
    chunk, have, missing, rendered = item
    if isinstance(rendered, Future):
        rendered = rendered.result()
    return chunk, have, list(zip(missing, rendered or [], strict=True))


def run_export(job_id: int) -> None:
    """A ZIP of the issued PDFs of every matching certificate (stored bytes; certificates
    never rendered yet are rendered and stored on the way)."""
    from flask_babel import get_timezone  # noqa: F401  (needs the app context)

    from lms.completions import issued
    from lms.core import ledger

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

    def load(batch: list[int]) -> list[Certificate]:
        return list(
            session.execute(
                sa.select(Certificate).where(Certificate.id.in_(batch)).order_by(Certificate.id)
            ).scalars()
        )

    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            batches = [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]
            head = ledger.head_text(session)
            for chunk, have, rendered in _pdf_batches(batches, load, head):
                for cert, pdf in rendered:
                    have[cert.id] = issued.store(session, cert, pdf)
                for cert in chunk:
                    zf.writestr(f"{cert.number}.pdf", have[cert.id])
                job.done = min(job.total, job.done + len(chunk))
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
