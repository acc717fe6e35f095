"""Bulk certificate export: a ZIP of the certificates matching a filter, built by a job."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import zipfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import sqlalchemy as sa
from flask import Flask, current_app
from flask_babel import gettext as _

from lms.accounts.models import User
from lms.accounts.search import person_matches
from lms.completions import issued
from lms.completions.models import (
    Certificate,
    CertificatePdf,
    Completion,
    ExportJob,
    Revocation,
)
from lms.core import audit, ledger, texts
from lms.core.clock import local_today
from lms.core.errors import DomainError
from lms.core.model import utcnow
from lms.core.textsearch import LIKE_ESCAPE, like_pattern
from lms.extensions import db

BATCH = 50  # certificates laid out in one pass (those not rendered yet)
MAX_EXPORT = 20_000
NUMBER_MAX = getattr(Certificate.__table__.c.number.type, "length", None) or 40
# every character a certificate number can hold (BRG-<year>-<7 digits>: services.py)
NUMBER_CHARS = frozenset("brg-0123456789")


FEW_PEOPLE = 150  # at most this many people found: their certificates are read by person


def people_matching(session, q: str, few: int | None = None) -> list[int] | None:
    """The ids of the people ``q`` finds when there are at most ``few`` of them (read by the
    search column's index, at most ``few`` + 1 ids); None when nothing was typed or more
    people match. A few people: :func:`certificate_query` reads their certificates through
    the person index and sorts only those; many: it walks the certificates newest first and
    stops at the page's end, which is quick because matches are then dense."""
    matches = person_matches(q)
    if matches is None:
        return None
    few = FEW_PEOPLE if few is None else few
    ids = list(session.scalars(sa.select(User.id).where(matches).limit(few + 1)))
    return ids if len(ids) <= few else None


def number_possible(q: str) -> bool:
    """Whether a certificate number could contain the typed text."""
    text = q.strip()
    return bool(text) and len(text) <= NUMBER_MAX and set(text.lower()) <= NUMBER_CHARS


def numbers_like(q: str) -> sa.ColumnElement[bool]:
    return sa.func.lower(Certificate.number).like(
        like_pattern(q.strip().lower()), escape=LIKE_ESCAPE
    )


def numbers_matching(session, q: str, few: int | None = None) -> list[int] | None:
    """The ids of the certificates whose number contains ``q``, when a number could and at
    most ``few`` do (None otherwise), as :func:`people_matching` for people."""
    if not number_possible(q):
        return None
    few = FEW_PEOPLE if few is None else few
    ids = list(session.scalars(sa.select(Certificate.id).where(numbers_like(q)).limit(few + 1)))
    return ids if len(ids) <= few else None


def certificate_query(
    *,
    q: str = "",
    department_ids: list[int] | None = None,
    program_id: int | None = None,
    state: str | None = None,
    today=None,
    issued_since: datetime | None = None,
    issued_before: datetime | None = None,
    valid_from: date | None = None,
    valid_to: date | None = None,
    people: list[int] | None = None,
    numbers: list[int] | None = None,
):
    """Certificates matching the auditor's filter, newest issued first. Every filter combines
    with the others: the person or number typed (``q``), departments, program, state, issued
    in [``issued_since``, ``issued_before``) and valid until a day in [``valid_from``,
    ``valid_to``]. Ordered by (issued at, id), which :func:`certificates_after` pages by.
    ``people`` and ``numbers``: the ids :func:`people_matching` and :func:`numbers_matching`
    found for ``q`` when they are few (the same rows, read through the person or certificate
    index and sorted, instead of walking every certificate newest first)."""
    stmt = (
        sa.select(Certificate)
        .join(Completion, Completion.id == Certificate.completion_id)
        .join(User, User.id == Completion.user_id)
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    )
    matches = person_matches(q)
    if matches is not None:
        person = matches if people is None else Completion.user_id.in_(people)
        if not number_possible(q):
            # no number could hold it (too long, or a character numbers never have): only
            # people can match, and the numbers of every certificate are not read
            stmt = stmt.where(person)
        elif people is not None and numbers is not None:
            # few of both: the ids of each, by their indexes (an OR would walk every row)
            by_person = (
                sa.select(Certificate.id)
                .join(Completion, Completion.id == Certificate.completion_id)
                .where(Completion.user_id.in_(people))
            )
            by_number = sa.select(Certificate.id).where(Certificate.id.in_(numbers))
            stmt = stmt.where(Certificate.id.in_(sa.union(by_person, by_number)))
        else:  # many of one: matches are dense, the walk newest first stops soon
            number = numbers_like(q) if numbers is None else Certificate.id.in_(numbers)
            stmt = stmt.where(sa.or_(person, number))
    if department_ids:
        stmt = stmt.where(User.department_id.in_(department_ids))
    if program_id:
        stmt = stmt.where(Completion.program_id == program_id)
    if issued_since is not None:
        stmt = stmt.where(Certificate.issued_at >= issued_since)
    if issued_before is not None:
        stmt = stmt.where(Certificate.issued_at < issued_before)
    if valid_from is not None:
        stmt = stmt.where(Completion.expires_on >= valid_from)
    if valid_to is not None:
        stmt = stmt.where(Completion.expires_on <= valid_to)
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


def certificates_after(
    session, stmt: sa.Select, after: Certificate | None, limit: int
) -> tuple[list[Certificate], bool]:
    """One page of ``certificate_query``: the ``limit`` certificates that follow ``after``
    (None: the first), and whether more follow. Keyset pagination: nothing is counted and only
    the rows shown (plus one) are read, however many match. The page is chosen by (issued at,
    id) alone, so a sort never carries whole rows; the shown rows are then read by id, with
    their completion and revocation."""
    if after is not None:
        stmt = stmt.where(
            sa.or_(
                Certificate.issued_at < after.issued_at,
                sa.and_(Certificate.issued_at == after.issued_at, Certificate.id < after.id),
            )
        )
    ids = list(session.scalars(stmt.with_only_columns(Certificate.id).limit(limit + 1)))
    shown = ids[:limit]
    if not shown:
        return [], False
    rows = session.scalars(
        sa.select(Certificate)
        .where(Certificate.id.in_(shown))
        .options(sa.orm.joinedload(Certificate.completion).joinedload(Completion.revocation))
    ).unique()
    by_id = {c.id: c for c in rows}
    return [by_id[i] for i in shown], len(ids) > limit


def filters_to_json(filters: dict) -> dict:
    """An export's filters as stored on its job (dates and times as ISO text)."""
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in filters.items()}


def filters_from_json(stored: dict) -> dict:
    """The keyword arguments of :func:`certificate_query` from a job's stored filters."""
    out = {k: stored.get(k) for k in ("q", "department_ids", "program_id", "state")}
    out["q"] = out["q"] or ""
    for key in ("issued_since", "issued_before"):
        out[key] = datetime.fromisoformat(stored[key]) if stored.get(key) else None
    for key in ("valid_from", "valid_to"):
        out[key] = date.fromisoformat(stored[key]) if stored.get(key) else None
    return out


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
    filters = filters_to_json(filters)
    job = ExportJob(user_id=user_id, filters=filters, total=total, status="queued")
    session.add(job)
    session.flush()
    audit.record(
        session,
        user_id,
        "export",
        "certificates",
        job.id,
        texts.stored("completions.certificates_exported", n=total),
        filters=filters,
    )
    return job


LOST_WORKER = "lost-worker"  # ExportJob.error: the workers running it kept disappearing


def export_path(job_id: int) -> Path:
    return Path(current_app.config["LMS_CONFIG"].export_dir) / f"certificates-{job_id}.zip"


def _lease_expired_before():
    lease = current_app.config["LMS_CONFIG"].job_lease_seconds
    return utcnow() - timedelta(seconds=lease)


def recover_stalled(session, job_ids: list[int] | None = None) -> list[tuple[int, int]]:
    """Exports whose worker died (running, lease expired): back to the queue, or failed for
    good after ``LMS_JOB_MAX_ATTEMPTS``. An export still queued a lease after it was queued
    (its task was lost: the queue was away when it was sent) is sent again. Returns (job id,
    next attempt) to enqueue after the commit. Each change is a conditional update, so two
    sweeps at once requeue a job once; a task delivered twice is claimed once (run_export)."""
    config = current_app.config["LMS_CONFIG"]
    cutoff = _lease_expired_before()
    stmt = sa.select(ExportJob.id, ExportJob.status, ExportJob.attempts).where(
        sa.or_(
            sa.and_(ExportJob.status == "running", ExportJob.heartbeat_at < cutoff),
            sa.and_(
                ExportJob.status == "queued",
                sa.func.coalesce(ExportJob.heartbeat_at, ExportJob.created_at) < cutoff,
            ),
        )
    )
    if job_ids is not None:
        stmt = stmt.where(ExportJob.id.in_(job_ids))
    requeue: list[tuple[int, int]] = []
    for job_id, status, attempts in session.execute(stmt).all():
        owned = (
            sa.update(ExportJob)
            .where(
                ExportJob.id == job_id,
                ExportJob.status == status,
                ExportJob.attempts == attempts,
                sa.func.coalesce(ExportJob.heartbeat_at, ExportJob.created_at) < cutoff,
            )
            .execution_options(synchronize_session=False)
        )
        if status == "running" and attempts >= config.job_max_attempts:
            session.execute(owned.values(status="failed", error=LOST_WORKER, finished_at=utcnow()))
            current_app.logger.error(
                "export #%s failed: its worker stopped %s times", job_id, attempts
            )
            continue
        # heartbeat_at marks when it was queued again: the next sweep waits another lease
        if session.execute(owned.values(status="queued", heartbeat_at=utcnow())).rowcount:
            current_app.logger.warning(
                "export #%s: %s, queued again",
                job_id,
                f"worker lost during attempt {attempts}" if status == "running" else "task lost",
            )
            requeue.append((job_id, attempts + 1))
    session.flush()
    return requeue


class _Lease:
    """Renews the job's lease from a thread while the export runs; ``lost`` is set when
    another attempt took the job over (this worker was presumed dead)."""

    def __init__(self, job_id: int, attempt: int) -> None:
        self.job_id, self.attempt = job_id, attempt
        self.lost = False
        self.interval = max(1.0, current_app.config["LMS_CONFIG"].job_lease_seconds / 4)
        self._stop = threading.Event()
        self._engine = db.engine
        self._thread = threading.Thread(target=self._run, name=f"lease-{job_id}", daemon=True)

    def renew(self) -> bool:
        with self._engine.begin() as conn:
            taken = conn.execute(
                sa.update(ExportJob)
                .where(
                    ExportJob.id == self.job_id,
                    ExportJob.attempts == self.attempt,
                    ExportJob.status == "running",
                )
                .values(heartbeat_at=utcnow())
            )
        if not taken.rowcount:
            self.lost = True
        return not self.lost

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(Exception):  # a database hiccup: try again next time
                if not self.renew():
                    return

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


class _Superseded(Exception):
    """Another attempt owns the job now; this one stops without touching it."""


_app: Flask | None = None  # the application, for worker processes forked by _pdf_batches


def _worker_context() -> None:
    assert _app is not None  # set before the pool forks
    _app.app_context().push()
    # a forked worker must never use (or close) the parent's pooled database connections
    db.engine.dispose(close=False)


def _render_apart(certs: list, head: str | None) -> list[bytes]:
    return issued.render(certs, head)


def _pdf_batches(
    batches: list[list[int]], load: Callable, head: str | None
) -> Iterator[tuple[list, dict[int, bytes], list[tuple[Certificate, bytes]]]]:
    """(certificates, their stored PDFs, PDFs rendered now for the others) for each batch.

    Stored PDFs are read as they are. Certificates never rendered yet (history loaded in bulk)
    are laid out here, one layout pass per batch: with several cores, in worker processes
    (forked, one per core, a few batches ahead of the writer).
    """
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
                    _app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy
                    issued.prepare()  # once here rather than in every worker
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


def _ready(item) -> tuple[list, dict[int, bytes], list[tuple[Certificate, bytes]]]:
    chunk, have, missing, rendered = item
    if isinstance(rendered, Future):
        rendered = rendered.result()
    return chunk, have, list(zip(missing, rendered or [], strict=True))


def run_export(job_id: int, attempt: int = 1) -> None:
    """A ZIP of the issued PDFs of every matching certificate: stored bytes; certificates never
    rendered yet (history loaded in bulk) are rendered and stored on the way, once.

    Crash-safe and idempotent: attempt ``n`` claims the job only while it is queued after
    ``n - 1`` attempts; the ZIP is written under a temporary name and renamed into place
    (atomic) only when complete, so nobody ever sees half a ZIP, and a retry replaces nothing
    but that one file. A worker that loses its lease (presumed dead, the job handed to another)
    stops without writing anything more.
    """
    session = db.session
    claimed = cast(
        "sa.CursorResult[Any]",
        session.execute(
            sa.update(ExportJob)
            .where(
                ExportJob.id == job_id,
                ExportJob.status == "queued",
                ExportJob.attempts == attempt - 1,
            )
            .values(status="running", attempts=attempt, done=0, error="", heartbeat_at=utcnow())
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    session.commit()
    if not claimed:
        return
    job = session.get(ExportJob, job_id)
    assert job is not None  # claimed above
    session.refresh(job)
    f = job.filters
    stmt = certificate_query(**filters_from_json(f), today=local_today())
    ids: list[int] = list(session.execute(stmt.with_only_columns(Certificate.id)).scalars())
    path = export_path(job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f"certificates-{job_id}.*.part"):  # left by a dead worker
        stale.unlink(missing_ok=True)
    tmp = path.with_name(f"certificates-{job_id}.{attempt}.{os.getpid()}.part")

    def load(batch: list[int]) -> list[Certificate]:
        return list(
            session.execute(
                sa.select(Certificate).where(Certificate.id.in_(batch)).order_by(Certificate.id)
            ).scalars()
        )

    def still_mine() -> sa.ColumnElement[bool]:
        return sa.and_(ExportJob.id == job_id, ExportJob.attempts == attempt)

    try:
        with _Lease(job_id, attempt) as lease:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
                batches = [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]
                head = ledger.head_text(session)
                done = 0
                for chunk, have, rendered in _pdf_batches(batches, load, head):
                    if lease.lost:
                        raise _Superseded
                    have.update(issued.store_many(session, rendered))
                    for cert in chunk:
                        zf.writestr(f"{cert.number}.pdf", have[cert.id])
                    done = min(len(ids), done + len(chunk))
                    session.execute(
                        sa.update(ExportJob)
                        .where(still_mine())
                        .values(done=done, heartbeat_at=utcnow())
                        .execution_options(synchronize_session=False)
                    )
                    session.commit()
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            if lease.lost or not lease.renew():
                raise _Superseded
            tmp.replace(path)
            session.execute(
                sa.update(ExportJob)
                .where(still_mine())
                .values(
                    status="done",
                    path=str(path),
                    finished_at=utcnow(),
                    done=len(ids),
                    total=len(ids),
                )
                .execution_options(synchronize_session=False)
            )
            session.commit()
    except _Superseded:
        session.rollback()
        tmp.unlink(missing_ok=True)
        current_app.logger.warning("export #%s attempt %s superseded; stopped", job_id, attempt)
    except Exception as err:  # the job records the failure for the person waiting on it
        session.rollback()
        tmp.unlink(missing_ok=True)
        session.execute(
            sa.update(ExportJob)
            .where(still_mine())
            .values(
                status="failed", error=f"{type(err).__name__}: {err}"[:500], finished_at=utcnow()
            )
            .execution_options(synchronize_session=False)
        )
        session.commit()
        raise
