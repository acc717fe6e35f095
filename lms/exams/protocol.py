"""Results and the protocol of an exam session, its signatures, and admission to an exam.

Results and signatures are never updated: corrections are new rows; each goes to the ledger.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from lms.accounts.models import User
from lms.accounts.services import verify_password
from lms.completions import services as completions
from lms.core import audit, ledger, texts
from lms.core.errors import Conflict, DomainError, NotAllowed
from lms.core.model import utcnow
from lms.exams.models import (
    ExamCandidate,
    ExamResult,
    ExamSession,
    ProtocolSignature,
)
from lms.exams.services import (
    RESULT_FIELDS,
    RESULT_KIND,
    SIGNATURE_FIELDS,
    SIGNATURE_KIND,
    _append,
    active_items,
    chair_of,
    commission,
    roles_in,
    ticks,
)

# ----- results and the protocol ----------------------------------------------------------------


def current_results(session, exam_id: int) -> dict[int, ExamResult]:
    """{candidate's user id: result} not superseded."""
    newer = sa.orm.aliased(ExamResult)
    rows = session.execute(
        sa.select(ExamResult).where(
            ExamResult.exam_id == exam_id,
            ~sa.exists().where(newer.supersedes_id == ExamResult.id),
        )
    ).scalars()
    return {r.user_id: r for r in rows}


def signatures(session, exam_id: int) -> list[ProtocolSignature]:
    return list(
        session.execute(
            sa.select(ProtocolSignature)
            .where(ProtocolSignature.exam_id == exam_id)
            .order_by(ProtocolSignature.id)
        ).scalars()
    )


def _commission_member(exam: ExamSession, user: User) -> str | None:
    held = roles_in(exam, user.id)
    return "chair" if "chair" in held else ("member" if "member" in held else None)


def record_results(
    session,
    exam: ExamSession,
    recorder: User,
    results: dict[int, tuple[int | None, bool]],
) -> int:
    """The commission records each candidate's result ({user id: (score, passed)}).

    Allowed after the exam is closed and until the first signature. A changed result is a new
    row superseding the old one. Returns the number of rows written.
    """
    if _commission_member(exam, recorder) is None:
        raise NotAllowed(_("Only the exam commission records the results."))
    if exam.state != "closed":
        raise Conflict(_("Results are recorded after the exam is closed."))
    if signatures(session, exam.id):
        raise Conflict(_("The protocol has been signed: its results can no longer change."))
    candidates = {c.user_id for c in exam.candidates}
    current = current_results(session, exam.id)
    written = 0
    for user_id, (score, passed) in results.items():
        if user_id not in candidates:
            raise DomainError(_("This person is not a candidate in this exam."))
        if score is not None and not 0 <= score <= 100:
            raise DomainError(_("A score is between 0 and 100."), field="score")
        old = current.get(user_id)
        if old is not None and old.score == score and old.passed == passed:
            continue
        r = ExamResult(
            exam_id=exam.id,
            user_id=user_id,
            score=score,
            passed=passed,
            recorded_by_id=recorder.id,
            recorded_at=utcnow().replace(microsecond=0),
            supersedes_id=old.id if old else None,
        )
        session.add(r)
        session.flush()
        _append(session, RESULT_KIND, RESULT_FIELDS, r, recorder.id)
        written += 1
    if written:
        audit.record(
            session,
            recorder.id,
            "results",
            "exam_session",
            exam.id,
            texts.stored("exams.results_recorded", n=written),
        )
    return written


def protocol_content(session, exam: ExamSession) -> dict[str, Any]:
    """What a protocol signature vouches for."""
    results = current_results(session, exam.id)
    return {
        "exam": exam.id,
        "program": exam.program_id,
        "version": exam.version_id,
        "test": exam.test_kind,
        "paper": exam.paper_title,
        "starts_at": exam.starts_at.isoformat(),
        "commission": [[a.user_id, a.role] for a in commission(exam)],
        "results": [
            [r.id, r.user_id, r.score, r.passed]
            for r in sorted(results.values(), key=lambda r: r.user_id)
        ],
    }


def protocol_hash(session, exam: ExamSession) -> str:
    return ledger.sha256(protocol_content(session, exam))


def protocol_blockers(session, exam: ExamSession) -> list[str]:
    """What must happen before the protocol can be signed (empty: ready)."""
    out = []
    if exam.state != "closed":
        out.append(_("The exam must be closed."))
    done = ticks(session, exam.id)
    for item in active_items(exam.point, "post"):
        if item.id not in done:
            out.append(_("Post-exam item not ticked: %(item)s", item=item.label))
    results = current_results(session, exam.id)
    if not exam.candidates:
        out.append(_("The exam has no candidates."))
    for c in exam.candidates:
        if c.user_id not in results:
            out.append(_("No result for %(name)s.", name=c.user.name))
    return out


def protocol_complete(session, exam: ExamSession) -> bool:
    signed = {s.signer_id for s in signatures(session, exam.id)}
    members = {a.user_id for a in commission(exam)}
    return bool(members) and members <= signed


def sign_protocol(session, exam: ExamSession, signer: User, password: str) -> ProtocolSignature:
    """A commission member signs the protocol, re-authenticated by password. When the last
    member has signed, each candidate who passed receives a completion with the exam as its
    source."""
    role = _commission_member(exam, signer)
    if role is None:
        raise NotAllowed(_("Only the exam commission signs the protocol."))
    if not verify_password(signer, password):
        audit.record_apart(
            session,
            signer.id,
            "sign_failed",
            "exam_session",
            exam.id,
            texts.stored("core.wrong_password"),
        )
        raise DomainError(_("The password is wrong. Nothing was signed."), field="password")
    already = session.execute(
        sa.select(ProtocolSignature.id).where(
            ProtocolSignature.exam_id == exam.id, ProtocolSignature.signer_id == signer.id
        )
    ).scalar()
    if already is not None:
        raise Conflict(_("You have already signed this protocol. Nothing was signed again."))
    blockers = protocol_blockers(session, exam)
    if blockers:
        raise DomainError(" ".join(blockers))
    sig = ProtocolSignature(
        exam_id=exam.id,
        signer_id=signer.id,
        printed_name=signer.name,
        role=role,
        meaning="protocol",
        signed_at=utcnow().replace(microsecond=0),
        content_hash=protocol_hash(session, exam),
        method="password",
    )
    session.add(sig)
    session.flush()
    _append(session, SIGNATURE_KIND, SIGNATURE_FIELDS, sig, signer.id)
    audit.record(session, signer.id, "sign", "exam_protocol", exam.id, signer.name, role=role)
    if protocol_complete(session, exam):
        _grant_completions(session, exam, signer.id)
    return sig


def _grant_completions(session, exam: ExamSession, actor_id: int) -> None:
    """Completions for the candidates who passed, through the completions domain."""
    zone = ZoneInfo(current_app.config["LMS_CONFIG"].timezone)
    on = exam.starts_at.astimezone(zone).date()
    chair = chair_of(exam)
    results = current_results(session, exam.id)
    for c in exam.candidates:
        r = results.get(c.user_id)
        if r is None or not r.passed or c.completion_id is not None:
            continue
        completion = completions.record_completion(
            session,
            user_id=c.user_id,
            version=exam.version,
            completed_on=on,
            earned_by="exam",
            actor_id=actor_id,
            trainer_id=chair.id if chair else None,
            note=texts.stored("exams.completion_note", id=exam.id),
        )
        c.completion_id = completion.id
    session.flush()


# ----- admission -------------------------------------------------------------------------------


def admission(session, program_id: int, user_ids: list[int]) -> dict[int, tuple[str, int]]:
    """{user id: (admitted | not_admitted, exam id)} from each person's latest exam of the
    program with a fully signed protocol. A failed candidate stays "not admitted" until they
    pass a repeat exam. People without such an exam are absent from the result."""
    if not user_ids:
        return {}
    exams = session.execute(
        sa.select(ExamSession)
        .join(ExamCandidate, ExamCandidate.exam_id == ExamSession.id)
        .where(ExamSession.program_id == program_id, ExamCandidate.user_id.in_(user_ids))
        .where(ExamSession.closed_at.is_not(None))
        .order_by(ExamSession.starts_at.desc(), ExamSession.id.desc())
        .distinct()
    ).scalars()
    out: dict[int, tuple[str, int]] = {}
    wanted = set(user_ids)
    for exam in exams:
        if not protocol_complete(session, exam):
            continue
        for user_id, r in current_results(session, exam.id).items():
            if user_id in wanted and user_id not in out:
                out[user_id] = ("admitted" if r.passed else "not_admitted", exam.id)
        if wanted <= set(out):
            break
    return out
