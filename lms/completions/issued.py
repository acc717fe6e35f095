"""Issued certificates are kept as issued.

A certificate's PDF is rendered once (by a background job right after the completion, or on
its first request when the job has not run yet), sealed with the organisation's seal, stored
with its SHA-256 in the database (``CertificatePdf``), and served from there ever after: a new
WeasyPrint, new fonts or a new template never change a certificate already issued. At most one
PDF is stored per certificate (its primary key), so a retried render stores nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, has_request_context
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from lms.completions import certificates
from lms.completions.certificates import version_of
from lms.completions.models import Certificate, CertificatePdf
from lms.core import ledger, pdf, seal
from lms.core.afterwork import after_commit
from lms.core.model import utcnow
from lms.extensions import db

PDF_KIND = "certificate_pdf"


def stored(session, cert_id: int) -> CertificatePdf | None:
    return session.get(CertificatePdf, cert_id)


def stored_ids(session, cert_ids: Sequence[int]) -> set[int]:
    """Which of these certificates have their PDF stored already."""
    if not cert_ids:
        return set()
    return set(
        session.execute(
            sa.select(CertificatePdf.certificate_id).where(
                CertificatePdf.certificate_id.in_(list(cert_ids))
            )
        ).scalars()
    )


def render(certs: Sequence, head: str | None) -> list[bytes]:
    """The sealed PDFs of certificates not issued yet, laid out in one pass."""
    current = seal.current()
    with pdf.few_collections():
        pdfs = certificates.render_many(certs, head=head)
        return [
            seal.seal_pdf(p, current, reason=_reason(c)) for c, p in zip(certs, pdfs, strict=True)
        ]


def prepare() -> None:
    """Do once in this process what each render batch would otherwise do in every worker
    process forked from it: WeasyPrint's type declarations, pyHanko's import and the seal's
    first signature (the CMS container later seals reuse)."""
    pdf.prepare()
    current = seal.current()
    if current is not None:
        seal.seal_pdf(pdf.render("<p>.</p>"), current)


def _reason(cert) -> str:
    return f"Certificate {cert.number}"


def store(session, cert: Certificate, pdf: bytes, sealed: bool | None = None) -> bytes:
    """Keep ``pdf`` as the issued PDF of ``cert`` (once; the ledger records its SHA-256).

    When another worker stored one first, that one is kept and returned.
    """
    existing = stored(session, cert.id)
    if existing is not None:
        return existing.data
    sha = ledger.sha256(pdf)
    row = CertificatePdf(
        certificate_id=cert.id,
        sha256=sha,
        data=pdf,
        template_version=version_of(cert),
        sealed=seal.current() is not None if sealed is None else sealed,
        created_at=utcnow().replace(microsecond=0),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # stored meanwhile by another worker: keep theirs
        session.expunge(row) if row in session else None
        existing = stored(session, cert.id)
        if existing is None:
            raise
        return existing.data
    if cert.pdf_sha256 == sha:
        return pdf  # issued before PDFs were stored: its hash is in the ledger already
    if cert.pdf_sha256 is None:
        cert.pdf_sha256 = sha  # set once
        session.flush()
    ledger.append(session, PDF_KIND, cert.id, sha, None)
    return pdf


def store_many(session, pairs: Sequence[tuple[Certificate, bytes]]) -> dict[int, bytes]:
    """``store`` for a batch of freshly rendered certificates: one insert of the PDFs, one
    update of the recorded hashes and one append of their ledger entries, instead of a round
    of statements per certificate. {certificate id: issued PDF}; a certificate stored
    meanwhile by another worker keeps that PDF (then the batch is stored one by one)."""
    if not pairs:
        return {}
    out: dict[int, bytes] = dict(
        session.execute(
            sa.select(CertificatePdf.certificate_id, CertificatePdf.data).where(
                CertificatePdf.certificate_id.in_([c.id for c, _ in pairs])
            )
        ).all()
    )
    todo = [(c, p, ledger.sha256(p)) for c, p in pairs if c.id not in out]
    if not todo:
        return out
    sealed = seal.current() is not None
    now = utcnow().replace(microsecond=0)
    try:
        with session.begin_nested():
            session.execute(
                sa.insert(CertificatePdf),
                [
                    {
                        "certificate_id": c.id,
                        "sha256": sha,
                        "data": p,
                        "template_version": version_of(c),
                        "sealed": sealed,
                        "created_at": now,
                    }
                    for c, p, sha in todo
                ],
            )
    except IntegrityError:  # some stored meanwhile by another worker: keep theirs
        out.update((c.id, store(session, c, p)) for c, p, _sha in todo)
        return out
    # a PDF issued before PDFs were stored, with this very hash, is in the ledger already
    entries = [(c.id, sha, None) for c, _p, sha in todo if c.pdf_sha256 != sha]
    first = [(c, sha) for c, _p, sha in todo if c.pdf_sha256 is None]
    if first:
        session.execute(
            sa.update(Certificate), [{"id": c.id, "pdf_sha256": sha} for c, sha in first]
        )
        for c, sha in first:
            set_committed_value(c, "pdf_sha256", sha)  # as written (set once)
    ledger.append_many(session, PDF_KIND, entries)
    out.update((c.id, p) for c, p, _sha in todo)
    return out


def issued_pdf(session, cert: Certificate) -> bytes:
    """The certificate's PDF as issued: from storage, else rendered now and stored."""
    row = stored(session, cert.id)
    if row is not None:
        return row.data
    pdf = render([cert], ledger.head_text(session))[0]
    return store(session, cert, pdf)


def ensure_stored(
    session,
    certs: Sequence[Certificate],
    render_batch: Callable[[Sequence, str | None], list[bytes]] | None = None,
) -> dict[int, bytes]:
    """{certificate id: issued PDF} for these certificates, rendering and storing the missing
    ones in one layout pass."""
    ids = [c.id for c in certs]
    out: dict[int, bytes] = dict(
        session.execute(
            sa.select(CertificatePdf.certificate_id, CertificatePdf.data).where(
                CertificatePdf.certificate_id.in_(ids)
            )
        ).all()
    )
    missing = [c for c in certs if c.id not in out]
    if missing:
        pdfs = (render_batch or render)(missing, ledger.head_text(session))
        out.update(store_many(session, list(zip(missing, pdfs, strict=True))))
    return out


# certificates issued this close together (one session's signature issues a certificate per
# person) are laid out by the first of their jobs in one pass; the others find theirs stored
ISSUED_TOGETHER = timedelta(minutes=2)
JOB_BATCH = 50


def render_job(cert_id: int) -> None:
    """The background job run after a certificate is issued (idempotent): renders it, and in
    the same layout pass the other certificates issued with it that wait for their PDF."""
    session = db.session
    cert = session.get(Certificate, cert_id)
    if cert is None or stored(session, cert_id) is not None:
        return
    together = list(
        session.execute(
            sa.select(Certificate)
            .where(
                Certificate.id != cert.id,
                Certificate.issued_at >= cert.issued_at - ISSUED_TOGETHER,
                Certificate.issued_at <= cert.issued_at + ISSUED_TOGETHER,
                ~sa.exists().where(CertificatePdf.certificate_id == Certificate.id),
            )
            .order_by(Certificate.id)
            .limit(JOB_BATCH - 1)
        ).scalars()
    )
    ensure_stored(session, [cert, *together])
    session.commit()


def queue_render(cert: Certificate) -> None:
    """Render the new certificate in the background once the request commits."""
    if not has_request_context() or not current_app.config.get("LMS_RENDER_ON_ISSUE", True):
        return  # the first request renders it (history loaded in bulk, the command line)
    task = _render_task
    if task is None:
        return  # no job queue in this process: the first request renders it
    cert_id = cert.id
    after_commit(lambda: task(cert_id))


# The job queue (lms.jobs, a layer above completions) hands over its render task at import.
_render_task: Callable[[int], object] | None = None


def use_render_task(task: Callable[[int], object]) -> None:
    global _render_task
    _render_task = task


def find_by_sha(session, sha: str) -> Certificate | None:
    """The certificate whose issued PDF has this SHA-256 (stored, or recorded before PDFs were
    stored)."""
    cert_id = session.execute(
        sa.select(CertificatePdf.certificate_id).where(CertificatePdf.sha256 == sha)
    ).scalar()
    if cert_id is not None:
        return session.get(Certificate, cert_id)
    return session.execute(sa.select(Certificate).where(Certificate.pdf_sha256 == sha)).scalar()


def _resolve_pdfs(session, ids: list[str]) -> dict[str, str]:
    """For verification: the SHA-256 of each stored PDF, recomputed from its bytes (or the
    recorded hash of a certificate whose PDF predates storage)."""
    wanted = [int(i) for i in ids]
    out: dict[str, str] = {}
    conn = session.connection()
    for i in range(0, len(wanted), 500):
        part = wanted[i : i + 500]
        for cid, data in conn.execute(
            sa.select(CertificatePdf.certificate_id, CertificatePdf.data).where(
                CertificatePdf.certificate_id.in_(part)
            )
        ):
            out[str(cid)] = ledger.sha256(bytes(data))
        for cid, sha in conn.execute(
            sa.select(Certificate.id, Certificate.pdf_sha256).where(
                Certificate.id.in_(part), Certificate.pdf_sha256.is_not(None)
            )
        ):
            out.setdefault(str(cid), sha)
    return out


ledger.register_kind(
    PDF_KIND,
    _resolve_pdfs,
    every=sa.select(Certificate.id).where(Certificate.pdf_sha256.is_not(None)),
)


def store_already_issued(bind, echo: Callable[[str], object] | None = None) -> tuple[int, int]:
    """The data step of the migration to stored PDFs: render each certificate that was issued
    (has a recorded PDF hash) but has no stored PDF, exactly as it was made (its template
    version, unsealed, no ledger head), and store it when it matches the recorded SHA-256.

    A rendering that no longer matches (other fonts or WeasyPrint) is stored as a reissue: a
    new ledger entry records its hash; the recorded hash stays and still identifies the copy
    the holder has. Returns (matched, reissued).
    """
    matched = reissued = 0
    with Session(bind=bind) as session:
        todo = list(
            session.execute(
                sa.select(Certificate.id)
                .where(Certificate.pdf_sha256.is_not(None))
                .where(~sa.exists().where(CertificatePdf.certificate_id == Certificate.id))
                .order_by(Certificate.id)
            ).scalars()
        )
        for i in range(0, len(todo), 50):
            certs = list(
                session.execute(
                    sa.select(Certificate).where(Certificate.id.in_(todo[i : i + 50]))
                ).scalars()
            )
            for cert, pdf in zip(certs, certificates.render_many(certs), strict=True):
                same = ledger.sha256(pdf) == cert.pdf_sha256
                store(session, cert, pdf, sealed=False)
                if same:
                    matched += 1
                else:
                    reissued += 1
                    if echo:
                        echo(f"certificate {cert.number}: rendered PDF differs from its record")
            session.flush()
        session.commit()
    return matched, reissued
