"""What a program version says, as signed: its canonical content and hashes.

The canonical content is what a signature covers (and what ``flask lms verify`` recomputes
through the ledger kind registered here); ``diff_versions`` shows what changed between two.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from lms.core import ledger
from lms.core.model import DbSession
from lms.programs.models import ProgramVersion, Signature, Topic

LEDGER_KIND = "program_signature"


def canonical_content(version: ProgramVersion) -> dict[str, Any]:
    """Everything a signature on this version vouches for, in a stable shape."""
    return {
        "program": version.program.code,
        "category": version.program.category,
        "number": version.number,
        "title": version.title,
        "description": version.description or {},
        "briefing_type": version.briefing_type,
        "delivery_mode": version.delivery_mode,
        "refresher_months": version.refresher_months,
        "certificate_validity_months": version.certificate_validity_months,
        "audience": {
            "departments": sorted(version.audience_departments or []),
            "job_titles": sorted(version.audience_job_titles or []),
        },
        "languages": sorted(version.languages or []),
        "cascade_levels": version.cascade_levels or 1,
        "topics": [
            {
                "title": t.title,
                "body": t.body or {},
                "minutes": t.minutes,
                "kind": t.kind,
                "attachments": [[a.filename, a.sha256] for a in t.attachments],
            }
            for t in sorted(version.topics, key=lambda t: t.position)
        ],
        "quiz": version.quiz or {},
        "questions": [
            {"key": q.key, "type": q.type, "text": q.text, "answers": q.answers}
            for q in sorted(version.questions, key=lambda q: q.position)
        ],
    }


def content_hash(version: ProgramVersion) -> str:
    return ledger.sha256(canonical_content(version))


def signature_hash(sig: Signature, version_hash: str) -> str:
    return ledger.sha256(
        {
            "signature": sig.id,
            "version": sig.version_id,
            "signer": sig.signer_id,
            "printed_name": sig.printed_name,
            "meaning": sig.meaning,
            "comment": sig.comment,
            "signed_at": sig.signed_at.isoformat(),
            "content_hash": sig.content_hash,
            "version_hash_now": version_hash,
        }
    )


def _resolve_signatures(session: DbSession, ids: list[str]) -> dict[str, str]:
    """Recompute signature hashes from the rows as they are now (for ledger.verify)."""
    sigs = (
        session.execute(sa.select(Signature).where(Signature.id.in_([int(i) for i in ids])))
        .scalars()
        .all()
    )
    version_ids = {s.version_id for s in sigs}
    versions = {
        v.id: v
        for v in session.execute(
            sa.select(ProgramVersion)
            .where(ProgramVersion.id.in_(version_ids))
            .options(
                sa.orm.selectinload(ProgramVersion.topics).selectinload(Topic.attachments),
                sa.orm.selectinload(ProgramVersion.questions),
                sa.orm.joinedload(ProgramVersion.program),
            )
        ).scalars()
    }
    hashes = {vid: content_hash(v) for vid, v in versions.items()}
    return {str(s.id): signature_hash(s, hashes[s.version_id]) for s in sigs}


ledger.register_kind(LEDGER_KIND, _resolve_signatures, every=sa.select(Signature.id))
