"""Rules for programs and their versions: loaders, drafts, freezing, sign-off.

The programs room, by what each module holds: ``content`` (canonical content, hashes,
differences), ``drafts`` (topics and attachments of a draft), ``quiz`` (questions and quiz
settings), ``queries`` (reads for pages), ``packs`` (course-pack import). This module keeps
the loaders and the life of a version: create, change, new draft, submit, sign. It also names
the draft-editing functions, so callers may keep using ``services.add_topic`` and the like.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.accounts.models import User
from lms.accounts.services import verify_password
from lms.core import audit, ledger, texts
from lms.core.errors import Conflict, DomainError, NotAllowed, NotFound
from lms.core.model import utcnow
from lms.programs.content import (
    LEDGER_KIND,
    canonical_content,
    content_hash,
    signature_hash,
)
from lms.programs.drafts import (
    ALLOWED_UPLOADS,
    MAX_ATTACHMENT,
    Frozen,
    add_attachment,
    add_topic,
    delete_topic,
    move_topic,
    require_draft,
    update_topic,
)
from lms.programs.models import (
    BRIEFING_TYPES,
    CATEGORIES,
    DELIVERY_MODES,
    Attachment,
    Program,
    ProgramVersion,
    Question,
    Signature,
    Topic,
)
from lms.programs.quiz import validate_question
from lms.programs.versions import (
    DiffLine,
    DiffSection,
    Effect,
    approval_effects,
    diff_versions,
    effects_fingerprint,
    on_effects,
)

__all__ = [  # the names other rooms use, wherever they are defined
    "ALLOWED_UPLOADS",
    "CODE_RE",
    "LEDGER_KIND",
    "MAX_ATTACHMENT",
    "DiffLine",
    "DiffSection",
    "Effect",
    "Frozen",
    "VersionMeta",
    "add_attachment",
    "add_topic",
    "approval_effects",
    "approved_version",
    "canonical_content",
    "content_hash",
    "copy_version",
    "create_program",
    "delete_topic",
    "diff_versions",
    "effects_fingerprint",
    "get_program",
    "get_version",
    "latest_version",
    "move_topic",
    "new_draft",
    "on_approval",
    "on_effects",
    "open_version",
    "require_draft",
    "sign",
    "signature_hash",
    "submit",
    "update_meta",
    "update_program",
    "update_topic",
    "validate_meta",
    "validate_question",
]

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,39}$")
ApprovalListener = Callable[[Any, ProgramVersion, "int | None"], object]
_APPROVAL_LISTENERS: list[ApprovalListener] = []


def on_approval(func: ApprovalListener) -> ApprovalListener:
    """Register func(session, version, actor_id), called when a version is approved."""
    _APPROVAL_LISTENERS.append(func)
    return func


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
    require_draft(version)
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
            texts.stored("programs.version", code=version.program.code, n=version.number),
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
        texts.stored("programs.version", code=program.code, n=draft.number),
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
    require_draft(version)
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
        texts.stored("programs.version", code=version.program.code, n=version.number),
        content_hash=version.content_hash,
    )
    return version


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
        # kept although the request rolls back: committed on a connection of its own
        audit.record_apart(
            session,
            signer.id,
            "sign_failed",
            "program_version",
            version.id,
            texts.stored("core.wrong_password"),
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
        texts.stored("programs.version", code=version.program.code, n=version.number),
        meaning=meaning,
        content_hash=current,
        comment=comment.strip(),
        needs_rebriefing=bool(needs_rebriefing) if meaning == "approved" else None,
    )
    return sig
