"""What a program version says, as signed: its canonical content, hashes and differences.

The canonical content is what a signature covers (and what ``flask lms verify`` recomputes
through the ledger kind registered here); ``diff_versions`` shows what changed between two.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.core import ledger
from lms.core.i18n import pick
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


@dataclass
class DiffLine:
    kind: str  # "same", "added", "removed"
    text: str


@dataclass
class DiffSection:
    label: str
    lines: list[DiffLine]


def diff_versions(a: ProgramVersion, b: ProgramVersion, locale: str) -> list[DiffSection]:
    """A readable, line-based comparison of two versions in one language."""

    def as_lines(v: ProgramVersion) -> dict[str, list[str]]:
        out = {
            "meta": [
                f"{_('Title')}: {pick(v.title, locale)[0]}",
                f"{_('Briefing type')}: {v.briefing_type}",
                f"{_('Delivery mode')}: {v.delivery_mode}",
                f"{_('Refresher interval (months)')}: {v.refresher_months or '-'}",
                f"{_('Certificate validity (months)')}: {v.certificate_validity_months or '-'}",
                f"{_('Audience')}: {', '.join(v.audience_departments or []) or '*'} / "
                f"{', '.join(v.audience_job_titles or []) or '*'}",
            ]
        }
        for t in v.topics:
            key = f"{t.position}. {pick(t.title, locale)[0]}"
            out[key] = [
                f"{_('Minutes')}: {t.minutes} ({t.kind})",
                *pick(t.body, locale)[0].splitlines(),
            ]
        out["quiz"] = [f"{q.key}: {pick(q.text, locale)[0]}" for q in v.questions]
        return out

    left, right = as_lines(a), as_lines(b)
    sections = []
    for key in list(dict.fromkeys([*left, *right])):
        old, new = left.get(key, []), right.get(key, [])
        if old == new:
            continue
        lines = []
        for row in difflib.ndiff(old, new):
            tag, text = row[:2], row[2:]
            if tag == "  ":
                lines.append(DiffLine("same", text))
            elif tag == "- ":
                lines.append(DiffLine("removed", text))
            elif tag == "+ ":
                lines.append(DiffLine("added", text))
        label = {"meta": _("Program details"), "quiz": _("Quiz questions")}.get(key, key)
        sections.append(DiffSection(label, lines))
    return sections
