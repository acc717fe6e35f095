"""Rules for programs and their versions: drafts, freezing, sign-off, the ledger link."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.accounts.models import User
from lms.accounts.services import verify_password
from lms.core import audit, ledger
from lms.core.errors import Conflict, DomainError, NotAllowed, NotFound
from lms.core.i18n import pick
from lms.core.model import utcnow
from lms.programs.models import (
    BRIEFING_TYPES,
    CATEGORIES,
    DELIVERY_MODES,
    QUESTION_TYPES,
    TOPIC_KINDS,
    Attachment,
    Program,
    ProgramVersion,
    Question,
    Signature,
    Topic,
)

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,39}$")
LEDGER_KIND = "program_signature"
_APPROVAL_LISTENERS: list = []


def on_approval(func):
    """Register func(session, version, actor_id), called when a version is approved."""
    _APPROVAL_LISTENERS.append(func)
    return func


class Frozen(Conflict):
    """The version was submitted and can no longer change."""


# ----- canonical content and hashes --------------------------------------------------------


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


def _resolve_signatures(session, ids: list[str]) -> dict[str, str]:
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


ledger.register_kind(LEDGER_KIND, _resolve_signatures)


# ----- loaders ----------------------------------------------------------------------------


def get_program(session, program_id: int) -> Program:
    program = session.get(Program, program_id)
    if program is None:
        raise NotFound(_("No such program."))
    return program


def get_version(session, program_id: int, number: int) -> ProgramVersion:
    version = session.execute(
        sa.select(ProgramVersion).where(
            ProgramVersion.program_id == program_id, ProgramVersion.number == number
        )
    ).scalar_one_or_none()
    if version is None:
        raise NotFound(_("No such program version."))
    return version


def latest_version(session, program: Program) -> ProgramVersion | None:
    return session.execute(
        sa.select(ProgramVersion)
        .where(ProgramVersion.program_id == program.id)
        .order_by(ProgramVersion.number.desc())
        .limit(1)
    ).scalar_one_or_none()


def open_version(session, program: Program) -> ProgramVersion | None:
    """The draft or submitted version of a program, if one is in progress."""
    return session.execute(
        sa.select(ProgramVersion).where(
            ProgramVersion.program_id == program.id,
            ProgramVersion.status.in_(("draft", "submitted")),
        )
    ).scalar_one_or_none()


def approved_version(session, version_id: int) -> ProgramVersion:
    """An approved version, for scheduling or taking. Anything else is refused."""
    version = session.get(ProgramVersion, version_id)
    if version is None:
        raise NotFound(_("No such program version."))
    if version.status != "approved":
        raise DomainError(_("Only an approved program version can be scheduled or taken."))
    return version


# ----- validation -------------------------------------------------------------------------


@dataclass
class VersionMeta:
    title: dict[str, str]
    description: dict[str, str]
    briefing_type: str
    delivery_mode: str
    refresher_months: int | None
    certificate_validity_months: int | None
    audience_departments: list[str]
    audience_job_titles: list[str]
    languages: list[str]
    cascade_levels: int = 1


def validate_meta(meta: VersionMeta) -> None:
    if not any((meta.title or {}).values()):
        raise DomainError(_("A program needs a title."), field="title")
    if meta.briefing_type not in BRIEFING_TYPES:
        raise DomainError(_("Unknown briefing type."), field="briefing_type")
    if meta.delivery_mode not in DELIVERY_MODES:
        raise DomainError(_("Unknown delivery mode."), field="delivery_mode")
    if not isinstance(meta.cascade_levels, int) or not (1 <= meta.cascade_levels <= 5):
        raise DomainError(
            _("A cascade has 1 to 5 levels below the instructor."), field="cascade_levels"
        )
    for name, value, top in (
        ("refresher_months", meta.refresher_months, 120),
        ("certificate_validity_months", meta.certificate_validity_months, 240),
    ):
        if value is not None and not (1 <= value <= top):
            raise DomainError(
                _("Enter a number of months from 1 to %(max)d, or leave it empty.", max=top),
                field=name,
            )


def _require_draft(version: ProgramVersion) -> None:
    if version.status != "draft":
        raise Frozen(
            _(
                "Version %(n)d was submitted and is frozen. Create a new draft to change it.",
                n=version.number,
            )
        )


# ----- programs and versions --------------------------------------------------------------


def create_program(
    session,
    *,
    code: str,
    category: str,
    meta: VersionMeta,
    head_id: int | None,
    actor_id: int | None,
    source: str = "",
) -> Program:
    """A new program with an empty draft version 1."""
    code = (code or "").strip().upper()
    if not CODE_RE.match(code):
        raise DomainError(
            _("A code is 2 to 40 capital letters, digits or dashes, e.g. FS-BASIC."), field="code"
        )
    if category not in CATEGORIES:
        raise DomainError(_("Unknown category."), field="category")
    if session.execute(sa.select(Program.id).where(Program.code == code)).scalar():
        raise Conflict(_("A program with this code already exists."), field="code")
    _check_head(session, head_id)
    validate_meta(meta)
    program = Program(code=code, category=category, head_id=head_id, created_by_id=actor_id)
    session.add(program)
    session.flush()
    version = ProgramVersion(
        program=program,
        number=1,
        status="draft",
        created_by_id=actor_id,
        source=source,
        **meta.__dict__,
    )
    session.add(version)
    session.flush()
    audit.record(session, actor_id, "create", "program", program.id, code, category=category)
    return program


def _check_head(session, head_id: int | None) -> None:
    if head_id is None:
        return
    head = session.get(User, head_id)
    if head is None or not head.active or not head.has_role("manager"):
        raise DomainError(_("The program head must be an active manager."), field="head_id")


def update_program(
    session, program: Program, *, category: str, head_id: int | None, actor_id: int | None
) -> Program:
    if category not in CATEGORIES:
        raise DomainError(_("Unknown category."), field="category")
    _check_head(session, head_id)
    before = [program.category, program.head_id]
    program.category, program.head_id = category, head_id
    session.flush()
    if before != [category, head_id]:
        audit.record(
            session,
            actor_id,
            "change",
            "program",
            program.id,
            program.code,
            before=before,
            after=[category, head_id],
        )
    return program


def update_meta(session, version: ProgramVersion, meta: VersionMeta, actor_id: int | None) -> None:
    _require_draft(version)
    validate_meta(meta)
    changed = {
        k: [getattr(version, k), v] for k, v in meta.__dict__.items() if getattr(version, k) != v
    }
    for key, value in meta.__dict__.items():
        setattr(version, key, value)
    session.flush()
    if changed:
        audit.record(
            session,
            actor_id,
            "change",
            "program_version",
            version.id,
            f"{version.program.code} v{version.number}",
            changed=list(changed),
        )


def new_draft(session, program: Program, actor_id: int | None) -> ProgramVersion:
    """A new draft copied from the latest version. One version in progress at a time."""
    if open_version(session, program) is not None:
        raise Conflict(_("This program already has a version in progress."))
    base = latest_version(session, program)
    if base is None:
        raise NotFound(_("No such program version."))
    draft = copy_version(session, base, actor_id)
    audit.record(
        session,
        actor_id,
        "create",
        "program_version",
        draft.id,
        f"{program.code} v{draft.number}",
        based_on=base.number,
    )
    return draft


def copy_version(session, base: ProgramVersion, actor_id: int | None) -> ProgramVersion:
    draft = ProgramVersion(
        program_id=base.program_id,
        number=base.number + 1,
        status="draft",
        title=dict(base.title),
        description=dict(base.description or {}),
        briefing_type=base.briefing_type,
        delivery_mode=base.delivery_mode,
        refresher_months=base.refresher_months,
        certificate_validity_months=base.certificate_validity_months,
        audience_departments=list(base.audience_departments or []),
        audience_job_titles=list(base.audience_job_titles or []),
        languages=list(base.languages or []),
        cascade_levels=base.cascade_levels or 1,
        quiz=dict(base.quiz or {}),
        created_by_id=actor_id,
        based_on_id=base.id,
        source=base.source,
    )
    for t in base.topics:
        topic = Topic(
            position=t.position,
            title=dict(t.title),
            body=dict(t.body or {}),
            minutes=t.minutes,
            kind=t.kind,
        )
        for a in t.attachments:
            topic.attachments.append(
                Attachment(
                    filename=a.filename,
                    content_type=a.content_type,
                    size=a.size,
                    sha256=a.sha256,
                    data=a.data,
                )
            )
        draft.topics.append(topic)
    for q in base.questions:
        draft.questions.append(
            Question(
                key=q.key,
                position=q.position,
                type=q.type,
                text=dict(q.text),
                answers=list(q.answers),
            )
        )
    session.add(draft)
    session.flush()
    return draft


def submit(session, version: ProgramVersion, actor_id: int | None) -> ProgramVersion:
    """Freeze a draft and hand it to the program head."""
    _require_draft(version)
    if not version.topics:
        raise DomainError(_("Add at least one topic before submitting."))
    if version.program.head_id is None:
        raise DomainError(_("Name a program head before submitting."))
    version.status = "submitted"
    version.submitted_at = utcnow()
    version.submitted_by_id = actor_id
    session.flush()
    version.content_hash = content_hash(version)
    session.flush()
    audit.record(
        session,
        actor_id,
        "submit",
        "program_version",
        version.id,
        f"{version.program.code} v{version.number}",
        content_hash=version.content_hash,
    )
    return version


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


def sign(
    session,
    version: ProgramVersion,
    signer: User,
    password: str,
    meaning: str,
    comment: str = "",
    *,
    needs_rebriefing: bool = False,
    effects_seen: str | None = None,
) -> Signature:
    """The program head signs a submitted version: approved, reviewed or rejected.

    Re-authentication by password; the signature carries the SHA-256 of the version's
    canonical content and is appended to the ledger. Approving with `needs_rebriefing` makes
    an unscheduled briefing due for the holders of earlier versions (compliance listens);
    without it their completions stay valid until their own due dates. `effects_seen`: the
    fingerprint of the effects the sign page showed; approval is refused when they changed.
    """
    if meaning not in ("approved", "reviewed", "rejected"):
        raise DomainError(_("Choose the meaning of your signature."), field="meaning")
    if version.program.head_id != signer.id:
        raise NotAllowed(_("Only the program head can sign this program."))
    if not verify_password(signer, password):
        audit.record(
            session, signer.id, "sign_failed", "program_version", version.id, "wrong password"
        )
        raise DomainError(_("The password is wrong. Nothing was signed."), field="password")
    if version.status == "draft":
        raise DomainError(_("A draft cannot be signed. Submit it first."))
    if version.status in ("approved", "rejected"):
        raise Conflict(_("This version has already been decided; it cannot be signed again."))
    if meaning == "rejected" and not comment.strip():
        raise DomainError(_("Say what must change when you reject a version."), field="comment")
    already = session.execute(
        sa.select(Signature.id).where(
            Signature.version_id == version.id,
            Signature.signer_id == signer.id,
            Signature.meaning == meaning,
        )
    ).scalar()
    if already:
        raise Conflict(_("You have already signed this version with this meaning."))
    current = content_hash(version)
    if current != version.content_hash:
        raise Conflict(_("The content of this version changed after it was submitted."))
    if meaning == "approved" and effects_seen is not None:
        now_effects = approval_effects(session, version, needs_rebriefing)
        if effects_fingerprint(now_effects, needs_rebriefing) != effects_seen:
            raise Conflict(
                _(
                    "Whom this approval affects changed since the page was shown. Nothing was "
                    "signed: review the effects below and sign again."
                )
            )
    sig = Signature(
        version_id=version.id,
        signer_id=signer.id,
        printed_name=signer.name,
        meaning=meaning,
        comment=comment.strip(),
        signed_at=utcnow().replace(microsecond=0),
        content_hash=current,
        method="password",
    )
    session.add(sig)
    session.flush()
    ledger.append(session, LEDGER_KIND, sig.id, signature_hash(sig, current), signer.id)
    if meaning == "approved":
        version.status = "approved"
        version.needs_rebriefing = bool(needs_rebriefing)
        version.program.current_version_id = version.id
        session.flush()
        for listener in _APPROVAL_LISTENERS:
            listener(session, version, signer.id)
    elif meaning == "rejected":
        version.status = "rejected"
    session.flush()
    audit.record(
        session,
        signer.id,
        "sign" if meaning != "rejected" else "reject",
        "program_version",
        version.id,
        f"{version.program.code} v{version.number}",
        meaning=meaning,
        content_hash=current,
        comment=comment.strip(),
        needs_rebriefing=bool(needs_rebriefing) if meaning == "approved" else None,
    )
    return sig


# ----- topics and questions in drafts -------------------------------------------------------


def _topic_values(title: dict[str, str], minutes: int, kind: str) -> None:
    if not any((title or {}).values()):
        raise DomainError(_("A topic needs a title."), field="title")
    if not isinstance(minutes, int) or not (1 <= minutes <= 600):
        raise DomainError(_("Allotted minutes must be from 1 to 600."), field="minutes")
    if kind not in TOPIC_KINDS:
        raise DomainError(_("Unknown topic kind."), field="kind")


def add_topic(
    session,
    version: ProgramVersion,
    *,
    title: dict[str, str],
    body: dict[str, str],
    minutes: int,
    kind: str,
    actor_id: int | None,
) -> Topic:
    _require_draft(version)
    _topic_values(title, minutes, kind)
    topic = Topic(
        position=len(version.topics) + 1, title=title, body=body, minutes=minutes, kind=kind
    )
    version.topics.append(topic)
    session.flush()
    audit.record(
        session,
        actor_id,
        "create",
        "topic",
        topic.id,
        next(iter(title.values())),
        version_id=version.id,
    )
    return topic


def update_topic(
    session,
    topic: Topic,
    *,
    title: dict[str, str],
    body: dict[str, str],
    minutes: int,
    kind: str,
    actor_id: int | None,
) -> Topic:
    _require_draft(topic.version)
    _topic_values(title, minutes, kind)
    topic.title, topic.body, topic.minutes, topic.kind = title, body, minutes, kind
    session.flush()
    audit.record(
        session,
        actor_id,
        "change",
        "topic",
        topic.id,
        next(iter(title.values())),
        version_id=topic.version_id,
    )
    return topic


def delete_topic(session, topic: Topic, actor_id: int | None) -> None:
    version = topic.version
    _require_draft(version)
    version.topics.remove(topic)
    for i, t in enumerate(version.topics, start=1):
        t.position = i
    session.flush()
    audit.record(session, actor_id, "delete", "topic", topic.id, "", version_id=version.id)


def move_topic(session, topic: Topic, direction: int, actor_id: int | None) -> None:
    version = topic.version
    _require_draft(version)
    topics = list(version.topics)
    i = topics.index(topic)
    j = i + (1 if direction > 0 else -1)
    if 0 <= j < len(topics):
        topics[i].position, topics[j].position = topics[j].position, topics[i].position
        session.flush()
        session.expire(version, ["topics"])
        audit.record(session, actor_id, "move", "topic", topic.id, "", version_id=version.id)


ALLOWED_UPLOADS = {
    b"%PDF-": ("application/pdf", ".pdf"),
    b"\x89PNG\r\n\x1a\n": ("image/png", ".png"),
    b"\xff\xd8\xff": ("image/jpeg", ".jpg"),
}
MAX_ATTACHMENT = 5 * 1024 * 1024


def add_attachment(
    session, topic: Topic, filename: str, data: bytes, actor_id: int | None
) -> Attachment:
    """A PDF, PNG or JPEG attachment, recognised by its content, not its name."""
    _require_draft(topic.version)
    if len(data) > MAX_ATTACHMENT:
        raise DomainError(_("The file is too large (at most 5 MB)."), field="file")
    kind = next((v for magic, v in ALLOWED_UPLOADS.items() if data.startswith(magic)), None)
    if kind is None:
        raise DomainError(_("Only PDF, PNG and JPEG files can be attached."), field="file")
    ctype = kind[0]
    safe = re.sub(r"[^\w.\- ]", "_", filename or "file")[:200] or "file"
    att = Attachment(
        filename=safe, content_type=ctype, size=len(data), sha256=ledger.sha256(data), data=data
    )
    topic.attachments.append(att)
    session.flush()
    audit.record(session, actor_id, "attach", "topic", topic.id, safe, sha256=att.sha256)
    return att


def validate_question(qtype: str, text: dict[str, str], answers: list[dict[str, Any]]) -> None:
    if qtype not in QUESTION_TYPES:
        raise DomainError(_("Unknown question type."), field="type")
    if not any((text or {}).values()):
        raise DomainError(_("A question needs a text."), field="text")
    if len(answers) < 2:
        raise DomainError(_("A question needs at least two answers."), field="answers")
    correct = sum(1 for a in answers if a.get("correct"))
    if qtype in ("single", "true_false") and correct != 1:
        raise DomainError(_("Mark exactly one correct answer."), field="answers")
    if qtype == "true_false" and len(answers) != 2:
        raise DomainError(_("A true-or-false question has exactly two answers."), field="answers")
    if qtype == "multiple" and correct < 1:
        raise DomainError(_("Mark at least one correct answer."), field="answers")


# ----- reading --------------------------------------------------------------------------------


def search_programs(
    q: str = "",
    category: str | None = None,
    briefing_type: str | None = None,
    status: str | None = None,
):
    """Programs with their latest version, filtered."""
    latest = (
        sa.select(ProgramVersion.program_id, sa.func.max(ProgramVersion.number).label("n"))
        .group_by(ProgramVersion.program_id)
        .subquery()
    )
    stmt = (
        sa.select(Program, ProgramVersion)
        .join(latest, latest.c.program_id == Program.id)
        .join(
            ProgramVersion,
            sa.and_(ProgramVersion.program_id == Program.id, ProgramVersion.number == latest.c.n),
        )
        .order_by(Program.code)
    )
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(Program.code).like(like),
                sa.func.lower(sa.cast(ProgramVersion.title, sa.String)).like(like),
            )
        )
    if category in CATEGORIES:
        stmt = stmt.where(Program.category == category)
    if briefing_type in BRIEFING_TYPES:
        stmt = stmt.where(ProgramVersion.briefing_type == briefing_type)
    if status == "approved":
        stmt = stmt.where(Program.current_version_id.is_not(None))
    elif status in ("draft", "submitted", "rejected"):
        stmt = stmt.where(ProgramVersion.status == status)
    return stmt


def awaiting_signature(session, signer_id: int) -> list[ProgramVersion]:
    return list(
        session.execute(
            sa.select(ProgramVersion)
            .join(Program, Program.id == ProgramVersion.program_id)
            .where(Program.head_id == signer_id, ProgramVersion.status == "submitted")
            .order_by(ProgramVersion.submitted_at)
        ).scalars()
    )


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
