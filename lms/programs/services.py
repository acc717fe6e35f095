"""Rules for programs and their versions: drafts, freezing, sign-off, the ledger link."""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.accounts.models import User
from lms.accounts.services import verify_password
from lms.core import audit, ledger
from lms.core.errors import Conflict, DomainError, NotAllowed, NotFound
from lms.core.model import utcnow
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

# the editing of drafts and the versions' content, effects and comparison live in their own
# modules; callers keep using services.X for them
from lms.programs.topics import ALLOWED_UPLOADS as ALLOWED_UPLOADS
from lms.programs.topics import MAX_ATTACHMENT as MAX_ATTACHMENT
from lms.programs.topics import add_attachment as add_attachment
from lms.programs.topics import add_topic as add_topic
from lms.programs.topics import delete_topic as delete_topic
from lms.programs.topics import move_topic as move_topic
from lms.programs.topics import update_topic as update_topic
from lms.programs.topics import validate_question as validate_question
from lms.programs.versions import DiffLine as DiffLine
from lms.programs.versions import DiffSection as DiffSection
from lms.programs.versions import Effect as Effect
from lms.programs.versions import Frozen as Frozen
from lms.programs.versions import _require_draft
from lms.programs.versions import approval_effects as approval_effects
from lms.programs.versions import canonical_content as canonical_content
from lms.programs.versions import content_hash as content_hash
from lms.programs.versions import diff_versions as diff_versions
from lms.programs.versions import effects_fingerprint as effects_fingerprint
from lms.programs.versions import on_effects as on_effects

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,39}$")
LEDGER_KIND = "program_signature"
_APPROVAL_LISTENERS: list = []


def on_approval(func):
    """Register func(session, version, actor_id), called when a version is approved."""
    _APPROVAL_LISTENERS.append(func)
    return func


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
