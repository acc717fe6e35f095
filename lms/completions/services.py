"""Completions: record, correct, revoke, and ask who holds a valid one."""

from __future__ import annotations

from copy import copy
from datetime import date

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from flask import current_app
from flask_babel import gettext as _

from lms.accounts.models import User
from lms.accounts.services import verify_password
from lms.completions import certificates, codes, issued
from lms.completions.models import (
    CERTIFICATE_LANGUAGES,
    CERTIFICATE_TEMPLATES,
    EARNED_BY,
    Certificate,
    CertificateTemplateChoice,
    Completion,
    Revocation,
)
from lms.core import audit, clock, documents, ledger, seal, texts
from lms.core.documents import IssuedDocument
from lms.core.errors import Conflict, DomainError, NotFound
from lms.core.model import utcnow
from lms.programs.models import CATEGORIES, ProgramVersion

LEDGER_KIND = "completion"
REVOCATION_KIND = "completion_revocation"


# The fields each hash covers, in order: the object-based hash and the row-based one that
# verification uses are one function over the same tuple, so they cannot drift apart.
COMPLETION_FIELDS = (
    "id",
    "user_id",
    "program_id",
    "version_id",
    "completed_on",
    "expires_on",
    "earned_by",
    "session_id",
    "attempt_id",
    "trainer_id",
    "trainer_completion_id",
    "cascade_level",
    "supersedes_id",
    "note",
)
REVOCATION_FIELDS = (
    "id",
    "completion_id",
    "reason",
    "revoked_by_id",
    "revoked_at",
    "caused_by_id",
    "meaning",
    "printed_name",
    "method",
)
REVOKE_MEANING = "revoked"


def completion_row_hash(row: tuple) -> str:
    """The completion hash from a tuple of COMPLETION_FIELDS."""
    (
        cid,
        user,
        program,
        version,
        completed_on,
        expires_on,
        earned_by,
        session_id,
        attempt,
        trainer,
        trainer_completion,
        level,
        supersedes,
        note,
    ) = row
    return ledger.sha256(
        {
            "completion": cid,
            "user": user,
            "program": program,
            "version": version,
            "completed_on": completed_on.isoformat(),
            "expires_on": expires_on.isoformat() if expires_on else None,
            "earned_by": earned_by,
            "session": session_id,
            "attempt": attempt,
            "trainer": trainer,
            "trainer_completion": trainer_completion,
            "cascade_level": level,
            "supersedes": supersedes,
            "note": note,
        }
    )


def completion_hash(c: Completion) -> str:
    return completion_row_hash(ledger.values(c, COMPLETION_FIELDS))


def revocation_row_hash(row: tuple) -> str:
    """The revocation hash from a tuple of REVOCATION_FIELDS."""
    rid, completion, reason, by, at, caused_by, meaning, printed_name, method = row
    content = {
        "revocation": rid,
        "completion": completion,
        "reason": reason,
        "by": by,
        "at": at.isoformat(),
        "caused_by": caused_by,
    }
    if method is not None:  # a signed revocation (rows from before signatures have none)
        content.update(meaning=meaning, printed_name=printed_name, method=method)
    return ledger.sha256(content)


def revocation_hash(r: Revocation) -> str:
    return revocation_row_hash(ledger.values(r, REVOCATION_FIELDS))


def _resolve_completions(session, ids: list[str]) -> dict[str, str]:
    cols = ledger.values(Completion, COMPLETION_FIELDS)
    return {str(row[0]): completion_row_hash(row) for row in ledger.rows_by_id(session, cols, ids)}


def _resolve_revocations(session, ids: list[str]) -> dict[str, str]:
    cols = ledger.values(Revocation, REVOCATION_FIELDS)
    return {str(row[0]): revocation_row_hash(row) for row in ledger.rows_by_id(session, cols, ids)}


ledger.register_kind(LEDGER_KIND, _resolve_completions, every=sa.select(Completion.id))
ledger.register_kind(REVOCATION_KIND, _resolve_revocations, every=sa.select(Revocation.id))


def expiry_for(version: ProgramVersion, completed_on: date) -> date | None:
    """Expiry from the certificate validity, else the refresher interval; None: no expiry."""
    months = version.certificate_validity_months or version.refresher_months
    return completed_on + relativedelta(months=months) if months else None


def record_completion(
    session,
    *,
    user_id: int,
    version: ProgramVersion,
    completed_on: date,
    earned_by: str,
    actor_id: int | None,
    session_id: int | None = None,
    attempt_id: int | None = None,
    trainer_id: int | None = None,
    trainer_completion_id: int | None = None,
    cascade_level: int | None = None,
    supersedes: Completion | None = None,
    note: str = "",
    issue: bool = True,
) -> Completion:
    """Record that a person completed an approved program version; appends to the ledger."""
    if earned_by not in EARNED_BY:
        raise DomainError(_("Unknown way of earning a completion."))
    if version.status != "approved":
        raise DomainError(_("Only an approved program version can be scheduled or taken."))
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such person."))
    if trainer_completion_id is not None:
        _check_lineage(session, user_id, trainer_completion_id)
    if supersedes is not None and supersedes.user_id != user_id:
        raise DomainError(_("A correction must concern the same person."))
    c = Completion(
        user_id=user_id,
        program_id=version.program_id,
        version_id=version.id,
        completed_on=completed_on,
        expires_on=expiry_for(version, completed_on),
        earned_by=earned_by,
        session_id=session_id,
        attempt_id=attempt_id,
        trainer_id=trainer_id,
        trainer_completion_id=trainer_completion_id,
        cascade_level=cascade_level,
        supersedes_id=supersedes.id if supersedes else None,
        recorded_by_id=actor_id,
        note=note[:500],
    )
    session.add(c)
    session.flush()
    ledger.append(session, LEDGER_KIND, c.id, completion_hash(c), actor_id)
    audit.record(
        session,
        actor_id,
        "complete",
        "completion",
        c.id,
        user.name,
        program_id=version.program_id,
        version=version.number,
        earned_by=earned_by,
    )
    if issue:
        issue_certificate(session, c, actor_id)
    for listener in _COMPLETION_LISTENERS:
        listener(session, c, actor_id)
    return c


def _check_lineage(session, user_id: int, trainer_completion_id: int) -> None:
    """A trainer's completion chain may not lead back to the trainee (no cycles)."""
    seen: set[int] = set()
    cursor: int | None = trainer_completion_id
    while cursor is not None:
        if cursor in seen:
            raise DomainError(_("The training lineage would form a cycle."))
        seen.add(cursor)
        row = session.execute(
            sa.select(Completion.user_id, Completion.trainer_completion_id).where(
                Completion.id == cursor
            )
        ).first()
        if row is None:
            raise NotFound(_("No such completion."))
        if row.user_id == user_id:
            raise DomainError(_("The training lineage would form a cycle."))
        cursor = row.trainer_completion_id


def revoke_signed(session, completion: Completion, signer: User, password: str, reason: str):
    """A person revokes a completion: a signature like the others (password re-entry, the
    meaning "revoked", the reason, the printed name), in the ledger. Refused, with nothing
    written: an already revoked completion, a missing reason, a wrong password."""
    session.refresh(completion, ["revocation"])
    if completion.revocation is not None:
        raise Conflict(_("This completion is already revoked."))
    if not reason.strip():
        raise DomainError(_("Give the reason for the revocation."), field="reason")
    if not verify_password(signer, password):
        audit.record_apart(
            session,
            signer.id,
            "revoke_failed",
            "completion",
            completion.id,
            texts.stored("core.wrong_password"),
        )
        raise DomainError(_("The password is wrong. Nothing was revoked."), field="password")
    return revoke(session, completion, reason, signer.id, signer=signer)


def revoke(
    session,
    completion: Completion,
    reason: str,
    actor_id: int | None,
    caused_by: Revocation | None = None,
    signer: User | None = None,
) -> Revocation:
    """Withdraw a completion with a reason (ledger entry). Listeners may react (cascade).

    `signer`: the person who re-authenticated (revoke_signed); None for a revocation the
    system makes (a cascade lapse, an attendance corrected after signing)."""
    if not reason.strip():
        raise DomainError(_("Give the reason for the revocation."), field="reason")
    if completion.revocation is not None:
        raise Conflict(_("This completion is already revoked."))
    r = Revocation(
        completion_id=completion.id,
        reason=reason.strip()[:1000],
        revoked_by_id=actor_id,
        revoked_at=utcnow().replace(microsecond=0),
        caused_by_id=caused_by.id if caused_by else None,
        meaning=REVOKE_MEANING if signer is not None else None,
        printed_name=signer.name if signer is not None else None,
        method="password" if signer is not None else None,
    )
    session.add(r)
    session.flush()
    session.refresh(completion, ["revocation"])
    ledger.append(session, REVOCATION_KIND, r.id, revocation_hash(r), actor_id)
    audit.record(session, actor_id, "revoke", "completion", completion.id, reason.strip()[:200])
    for listener in _REVOCATION_LISTENERS:
        listener(session, completion, r, actor_id)
    return r


_REVOCATION_LISTENERS: list = []
_COMPLETION_LISTENERS: list = []


def on_completion(func):
    """Register func(session, completion, actor_id), called after each completion recorded."""
    _COMPLETION_LISTENERS.append(func)
    return func


def on_revocation(func):
    """Register func(session, completion, revocation, actor_id), called after each revocation."""
    _REVOCATION_LISTENERS.append(func)
    return func


def valid_completion(session, user_id: int, program_id: int, today: date) -> Completion | None:
    """The person's newest valid (not expired, not revoked) completion of a program."""
    return valid_completions(session, user_id, [program_id], today).get(program_id)


def valid_completions(session, user_id: int, program_ids, today: date) -> dict[int, Completion]:
    """valid_completion for several programs in one query: {program id: completion}."""
    rows = session.execute(
        sa.select(Completion)
        .where(
            Completion.user_id == user_id,
            Completion.program_id.in_(list(program_ids)),
            sa.or_(Completion.expires_on.is_(None), Completion.expires_on >= today),
            ~sa.exists().where(Revocation.completion_id == Completion.id),
        )
        .order_by(Completion.program_id, Completion.completed_on.desc(), Completion.id.desc())
    ).scalars()
    newest: dict[int, Completion] = {}
    for c in rows:
        newest.setdefault(c.program_id, c)
    return newest


def completions_of(session, user_id: int) -> list[Completion]:
    return list(
        session.execute(
            sa.select(Completion)
            .where(Completion.user_id == user_id)
            .order_by(Completion.completed_on.desc(), Completion.id.desc())
        ).scalars()
    )


def lineage(session, completion: Completion) -> list[Completion]:
    """The chain of completions back to the first instructor: [own, trainer's, ...]."""
    chain = [completion]
    seen = {completion.id}
    while chain[-1].trainer_completion_id and chain[-1].trainer_completion_id not in seen:
        nxt = session.get(Completion, chain[-1].trainer_completion_id)
        if nxt is None:
            break
        seen.add(nxt.id)
        chain.append(nxt)
    return chain


# ----- certificates -----------------------------------------------------------------------

CERTIFICATE_KIND = "certificate"


CERTIFICATE_FIELDS = (
    "id",
    "completion_id",
    "number",
    "code",
    "issued_at",
    "language",
    "template",
    "fields",
)


def certificate_row_hash(row: tuple) -> str:
    """The certificate content hash from a tuple of CERTIFICATE_FIELDS (+ template version,
    which certificates issued before layouts were versioned do not have)."""
    cert_id, completion, number, code, issued_at, language, template, fields, *rest = row
    content = {
        "certificate": cert_id,
        "completion": completion,
        "number": number,
        "code": code,
        "issued_at": issued_at.isoformat(),
        "language": language,
        "template": template,
        "fields": fields,
    }
    if rest and rest[0] is not None:
        content["template_version"] = rest[0]
    return ledger.sha256(content)


def certificate_content_hash(cert) -> str:
    row = ledger.values(cert, CERTIFICATE_FIELDS)
    return certificate_row_hash((*row, getattr(cert, "template_version", None)))


def _resolve_certificates(session, ids: list[str]) -> dict[str, str]:
    cols = (*ledger.values(Certificate, CERTIFICATE_FIELDS), Certificate.template_version)
    return {str(row[0]): certificate_row_hash(row) for row in ledger.rows_by_id(session, cols, ids)}


ledger.register_kind(CERTIFICATE_KIND, _resolve_certificates, every=sa.select(Certificate.id))


def template_for(session, category: str) -> str:
    choice = session.get(CertificateTemplateChoice, category)
    return choice.template if choice else "classic"


def set_template(session, category: str, template: str, actor_id: int | None) -> None:
    if category not in CATEGORIES:
        raise DomainError(_("Unknown category."), field="category")
    if template not in CERTIFICATE_TEMPLATES:
        raise DomainError(_("Unknown certificate template."), field="template")
    choice = session.get(CertificateTemplateChoice, category)
    if choice is None:
        session.add(CertificateTemplateChoice(category=category, template=template))
    else:
        choice.template = template
    session.flush()
    audit.record(session, actor_id, "change", "certificate_template", category, template)


def _signatories(c: Completion, version) -> dict:
    """Who conducted the training and who approved the program version, as printed."""
    approval = next((s for s in reversed(version.signatures) if s.meaning == "approved"), None)
    approver = approval.signer if approval else None
    user = c.user
    return {
        "job_titles": dict(user.job_titles or {}),
        "department_names": dict(user.department.names or {}) if user.department else {},
        "instructor_position": c.trainer.job_title if c.trainer else "",
        "instructor_titles": dict(c.trainer.job_titles or {}) if c.trainer else {},
        "approver": approval.printed_name if approval else "",
        "approver_position": approver.job_title if approver else "",
        "approver_titles": dict(approver.job_titles or {}) if approver else {},
        "approved_on": clock.local_date(approval.signed_at).isoformat() if approval else None,
    }


def _snapshot(session, c: Completion, number: str, code: str) -> dict:
    cfg = current_app.config["LMS_CONFIG"]
    version = c.version
    user = c.user
    chain = lineage(session, c)[1:]
    return {
        "organisation": cfg.organisation_name,
        "person_name": user.name,
        "job_title": user.job_title,
        "department": user.department.name if user.department else "",
        "program_code": version.program.code,
        "program_title": dict(version.title),
        "category": version.program.category,
        "version": version.number,
        "briefing_type": version.briefing_type,
        "hours": f"{version.total_minutes / 60:.1f}".rstrip("0").rstrip("."),
        "completed_on": c.completed_on.isoformat(),
        "expires_on": c.expires_on.isoformat() if c.expires_on else None,
        "instructor": c.trainer.name if c.trainer else "",
        "lineage": [up.trainer.name for up in chain if up.trainer],
        **_signatories(c, version),
        "number": number,
        "code": code,
        "verify_url": f"{cfg.base_url}/verify/{code}",
    }


def issue_certificate(session, c: Completion, actor_id: int | None, language: str | None = None):
    """Create the certificate record of a completion (once) and ledger it."""

    existing = session.execute(
        sa.select(Certificate).where(Certificate.completion_id == c.id)
    ).scalar_one_or_none()
    if existing is not None:
        return existing

    # the holder's language (else the organisation's)
    language = language or c.user.locale or current_app.config["LMS_CONFIG"].default_locale
    if language not in CERTIFICATE_LANGUAGES:
        raise DomainError(_("Unknown certificate language."), field="language")
    number = f"BRG-{c.completed_on.year}-{c.id:07d}"  # its characters: exports.NUMBER_CHARS
    code = codes.new_code()
    cert = Certificate(
        completion_id=c.id,
        number=number,
        code=code,
        issued_at=utcnow().replace(microsecond=0),
        language=language,
        template=template_for(session, c.program.category),
        template_version=certificates.TEMPLATE_VERSION,
        fields=_snapshot(session, c, number, code),
    )
    session.add(cert)
    session.flush()
    ledger.append(session, CERTIFICATE_KIND, cert.id, certificate_content_hash(cert), actor_id)
    issued.queue_render(cert)
    return cert


def certificate_pdf(session, cert, language: str | None = None) -> bytes:
    """The PDF of a certificate as issued (stored; rendered and stored on the first request).

    ``language``: a courtesy copy in another language, laid out afresh with the current
    layout and sealed, but neither stored nor the issued document.
    """
    if language and language != cert.language:
        variant = copy(cert)
        variant.language = language
        variant.template_version = certificates.TEMPLATE_VERSION
        pdf = certificates.render_pdf(variant, ledger.head_text(session))
        return seal.seal_pdf(pdf, reason=f"Certificate {cert.number} ({language})")
    return issued.issued_pdf(session, cert)


def certificate_state(cert, today: date) -> str:
    return cert.completion.state(today)


def find_by_code(session, code: str):
    """The certificate for a verification code (new codes: Crockford base32, any case, with or
    without hyphens; old codes as printed); malformed -> DomainError, unknown -> NotFound."""
    candidates = codes.lookup_forms(code or "")
    if not candidates:
        raise DomainError(_("This is not a valid verification code."))
    cert = session.execute(
        sa.select(Certificate).where(Certificate.code.in_(candidates)).limit(1)
    ).scalar()
    if cert is None:
        raise NotFound(_("No certificate has this verification code."))
    return cert


def find_issued_file(session, data: bytes) -> tuple[Certificate | None, IssuedDocument | None]:
    """What we issued that is exactly this file: a certificate, or a register PDF or evidence
    pack kept as issued ((None, None): nothing we issued, or it was changed)."""
    if not (data.startswith(b"%PDF-") or data.startswith(b"PK\x03\x04")):
        raise DomainError(_("This file is neither a PDF nor a ZIP file."), field="file")
    sha = ledger.sha256(data)
    cert = issued.find_by_sha(session, sha) if data.startswith(b"%PDF-") else None
    if cert is not None:
        return cert, None
    return None, documents.find_by_sha(session, sha)


def revoke_certificate(session, cert, reason: str, signer: User, password: str) -> Revocation:
    """Revoking a certificate withdraws its completion (and, in the cascade, what it passed on);
    the revoker signs it with their password."""
    return revoke_signed(session, cert.completion, signer, password, reason)
