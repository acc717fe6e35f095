"""Versions of a program: the canonical content a signature covers, what approving a
version changes for people (effects, reported by the domains that hold them), and the
comparison of two versions field by field."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from flask_babel import gettext as _

from lms.core import ledger
from lms.core.i18n import pick
from lms.programs.content import canonical_content, content_hash
from lms.programs.models import ProgramVersion

# ----- what an approval changes ----------------------------------------------------------


@dataclass(frozen=True)
class Effect:
    """One consequence of approving a version, for the sign page: what happens, to whom."""

    text: str
    people: tuple[str, ...]  # names, for the page
    ids: tuple[int, ...]  # who exactly: part of the fingerprint


# func(session, version, needs_rebriefing) -> list[Effect]; registered by the domains that hold
# what an approval changes (completions held, reading progress), which programs does not import
_EFFECT_SOURCES: list = []


def on_effects(func):
    """Register a source of approval effects (see Effect)."""
    _EFFECT_SOURCES.append(func)
    return func


def approval_effects(session, version: ProgramVersion, needs_rebriefing: bool) -> list[Effect]:
    """Whom approving this version affects and how, as the sign page shows it."""
    effects: list[Effect] = []
    for source in _EFFECT_SOURCES:
        effects.extend(source(session, version, needs_rebriefing))
    return effects


def effects_fingerprint(effects: list[Effect], needs_rebriefing: bool) -> str:
    """A short hash of the effects shown: signing is refused when they changed since."""
    data = {"rebrief": needs_rebriefing, "effects": [[e.text, list(e.ids)] for e in effects]}
    return ledger.sha256(data)[:32]


# ----- comparing versions -----------------------------------------------------------------


@dataclass
class DiffLine:
    kind: str  # "same", "added", "removed"
    text: str


@dataclass
class DiffSection:
    label: str
    lines: list[DiffLine]


def diff_versions(a: ProgramVersion, b: ProgramVersion, locale: str) -> list[DiffSection]:
    """A readable, line-based comparison of two versions in one language.

    Every field the signature covers is compared: details (title, description, briefing type,
    delivery, intervals, audience, languages, cascade levels), each topic (minutes, kind, text,
    attachments), the quiz settings and every question with its answers. A difference in
    another language only is listed too, so two versions with different content never read
    as the same.
    """

    def answers(q) -> str:
        return "; ".join(
            f"{'✓' if ans.get('correct') else '✗'} {pick(ans.get('text', {}), locale)[0]}"
            for ans in q.answers
        )

    def as_lines(v: ProgramVersion) -> dict[str, list[str]]:
        quiz = v.quiz or {}
        out = {
            "meta": [
                f"{_('Title')}: {pick(v.title, locale)[0]}",
                *[
                    f"{_('Description')}: {line}"
                    for line in pick(v.description or {}, locale)[0].splitlines()
                ],
                f"{_('Briefing type')}: {v.briefing_type}",
                f"{_('Delivery mode')}: {v.delivery_mode}",
                f"{_('Refresher interval (months)')}: {v.refresher_months or '-'}",
                f"{_('Certificate validity (months)')}: {v.certificate_validity_months or '-'}",
                f"{_('Audience')}: {', '.join(v.audience_departments or []) or '*'} / "
                f"{', '.join(v.audience_job_titles or []) or '*'}",
                f"{_('Languages')}: {', '.join(sorted(v.languages or []))}",
                f"{_('Cascade levels')}: {v.cascade_levels or 1}",
            ]
        }
        for t in v.topics:
            key = f"{t.position}. {pick(t.title, locale)[0]}"
            out[key] = [
                f"{_('Minutes')}: {t.minutes} ({t.kind})",
                *pick(t.body or {}, locale)[0].splitlines(),
                *[f"{_('Attachment')}: {x.filename} ({x.sha256[:12]})" for x in t.attachments],
            ]
        out["quiz"] = [
            *[f"{k}: {quiz[k]}" for k in sorted(quiz)],
            *[f"{q.key} ({q.type}): {pick(q.text, locale)[0]} | {answers(q)}" for q in v.questions],
        ]
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
    if not sections and content_hash(a) != content_hash(b):
        sections.append(_other_languages(a, b))
    return sections


def _other_languages(a: ProgramVersion, b: ProgramVersion) -> DiffSection:
    """The canonical fields that differ when nothing differs in the language shown."""
    left, right = canonical_content(a), canonical_content(b)
    lines = [
        DiffLine("added", _("Changed in another language: %(field)s", field=key))
        for key in left
        if key != "number" and left[key] != right.get(key)
    ]
    return DiffSection(_("Other languages"), lines)
