from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lms.core import nav
from lms.core.errors import DomainError
from lms.core.forms import apply_domain_error
from lms.core.http import id_arg, page_arg
from lms.core.i18n import pick
from lms.core.pagination import paginate
from lms.core.permissions import requires
from lms.extensions import db
from lms.programs import labels, queries, services
from lms.programs.forms import ActionForm, ProgramMetaForm, SignForm, TopicForm

bp = Blueprint("programs", __name__, url_prefix="/programs")

LANG_CODES = ("en", "lv", "ru")


def _texts(form, prefix: str) -> dict[str, str]:
    return {
        lang: getattr(form, f"{prefix}_{lang}").data.strip()
        for lang in LANG_CODES
        if (getattr(form, f"{prefix}_{lang}").data or "").strip()
    }


def _set_texts(form, prefix: str, texts: dict[str, str]) -> None:
    for lang in LANG_CODES:
        getattr(form, f"{prefix}_{lang}").data = (texts or {}).get(lang, "")


def _meta_from(form) -> services.VersionMeta:
    titles = [t.strip() for t in (form.audience_job_titles.data or "").split(",") if t.strip()]
    return services.VersionMeta(
        title=_texts(form, "title"),
        description=_texts(form, "description"),
        briefing_type=form.briefing_type.data,
        delivery_mode=form.delivery_mode.data,
        refresher_months=form.refresher_months.data,
        certificate_validity_months=form.certificate_validity_months.data,
        audience_departments=sorted(form.audience_departments.data or []),
        audience_job_titles=titles,
        languages=sorted(form.languages.data or []) or ["en"],
        cascade_levels=form.cascade_levels.data or 1,
    )


def _prepare_meta_form(form) -> None:
    form.head_id.choices = [(0, _("Not named yet")), *queries.head_choices(db.session)]
    form.audience_departments.choices = queries.department_choices(db.session)


def _lang() -> str:
    return str(get_locale() or "en")


@bp.route("/")
@requires("programs.view")
def index():
    q = request.args.get("q", "")
    category = request.args.get("category") or None
    briefing = request.args.get("briefing_type") or None
    status = request.args.get("status") or None
    stmt = queries.search_programs(q, category, briefing, status)
    page = paginate(db.session, stmt, page_arg(), 50, scalars=False)
    return render_template(
        "programs/index.html",
        page=page,
        q=q,
        category=category,
        briefing=briefing,
        status=status,
        labels=labels,
        pick=pick,
        lang=_lang(),
    )


@bp.route("/new", methods=["GET", "POST"])
@requires("programs.edit")
def new():
    form = ProgramMetaForm()
    _prepare_meta_form(form)
    if request.method == "GET":
        form.languages.data = ["en", "lv", "ru"]
    status = 200
    if form.validate_on_submit():
        try:
            program = services.create_program(
                db.session,
                code=form.code.data,
                category=form.category.data,
                meta=_meta_from(form),
                head_id=form.head_id.data or None,
                actor_id=current_user.id,
            )
        except DomainError as err:
            if not apply_domain_error(form, err):
                flash(err.message, "error")
            status = 400
        else:
            flash(
                _("Program %(code)s was created as a draft. Add its topics.", code=program.code),
                "success",
            )
            return redirect(url_for("programs.version", program_id=program.id, number=1))
    elif request.method == "POST":
        status = 400
    return render_template("programs/meta_form.html", form=form, program=None, version=None), status


@bp.route("/<int:program_id>")
@requires("programs.view")
def show(program_id: int):
    program = services.get_program(db.session, program_id)
    latest = services.latest_version(db.session, program)
    assert latest is not None  # a program is created with its first version
    return redirect(url_for("programs.version", program_id=program.id, number=latest.number))


@bp.route("/<int:program_id>/v/<int:number>")
@requires("programs.view")
def version(program_id: int, number: int):
    v = services.get_version(db.session, program_id, number)
    lang = request.args.get("content_lang") or _lang()
    if lang not in LANG_CODES:
        lang = _lang()
    is_head = v.program.head_id == current_user.id
    return render_template(
        "programs/version.html",
        v=v,
        program=v.program,
        lang=lang,
        pick=pick,
        labels=labels,
        action=ActionForm(),
        is_head=is_head,
        open_version=services.open_version(db.session, v.program),
        can_edit=current_user.can("programs.edit"),
    )


@bp.route("/<int:program_id>/v/<int:number>/edit", methods=["GET", "POST"])
@requires("programs.edit")
def edit(program_id: int, number: int):
    v = services.get_version(db.session, program_id, number)
    program = v.program
    form = ProgramMetaForm(obj=v)
    _prepare_meta_form(form)
    if request.method == "GET":
        form.code.data = program.code
        form.category.data = program.category
        form.head_id.data = program.head_id or 0
        _set_texts(form, "title", v.title)
        _set_texts(form, "description", v.description)
        form.audience_job_titles.data = ", ".join(v.audience_job_titles or [])
    status = 200
    if form.validate_on_submit():
        try:
            services.update_meta(db.session, v, _meta_from(form), current_user.id)
            services.update_program(
                db.session,
                program,
                category=form.category.data,
                head_id=form.head_id.data or None,
                actor_id=current_user.id,
            )
        except DomainError as err:
            if not apply_domain_error(form, err):
                flash(err.message, "error")
            status = err.status_code if err.status_code != 404 else 400
        else:
            flash(_("The draft was saved."), "success")
            return redirect(url_for("programs.version", program_id=program.id, number=v.number))
    elif request.method == "POST":
        status = 400
    form.code.render_kw = {"readonly": True}
    return render_template("programs/meta_form.html", form=form, program=program, version=v), status


@bp.route("/<int:program_id>/v/<int:number>/topics/new", methods=["GET", "POST"])
@bp.route("/<int:program_id>/v/<int:number>/topics/<int:topic_id>", methods=["GET", "POST"])
@requires("programs.edit")
def topic_form(program_id: int, number: int, topic_id: int | None = None):
    v = services.get_version(db.session, program_id, number)
    topic = queries.version_topic(db.session, v, topic_id) if topic_id else None
    form = TopicForm(obj=topic)
    if request.method == "GET" and topic is not None:
        _set_texts(form, "title", topic.title)
        _set_texts(form, "body", topic.body)
    status = 200
    if form.validate_on_submit():
        values = dict(
            title=_texts(form, "title"),
            body=_texts(form, "body"),
            minutes=form.minutes.data,
            kind=form.kind.data,
            actor_id=current_user.id,
        )
        try:
            if topic is None:
                topic = services.add_topic(db.session, v, **values)
            else:
                services.update_topic(db.session, topic, **values)
            upload = form.attachment.data
            if upload and getattr(upload, "filename", ""):
                services.add_attachment(
                    db.session, topic, upload.filename, upload.read(), current_user.id
                )
        except DomainError as err:
            db.session.rollback()
            if err.field == "file":
                form.attachment.errors = [err.message]
            else:
                if not apply_domain_error(form, err):
                    flash(err.message, "error")
            status = 400 if err.status_code == 400 else err.status_code
        else:
            flash(_("The topic was saved."), "success")
            return redirect(url_for("programs.version", program_id=program_id, number=number))
    elif request.method == "POST":
        status = 400
    return render_template("programs/topic_form.html", form=form, v=v, topic=topic), status


@bp.route("/<int:program_id>/v/<int:number>/topics/<int:topic_id>/delete", methods=["POST"])
@requires("programs.edit")
def topic_delete(program_id: int, number: int, topic_id: int):
    v = services.get_version(db.session, program_id, number)
    services.delete_topic(
        db.session, queries.version_topic(db.session, v, topic_id), current_user.id
    )
    flash(_("The topic was removed from the draft."), "success")
    return redirect(url_for("programs.version", program_id=program_id, number=number))


@bp.route("/<int:program_id>/v/<int:number>/topics/<int:topic_id>/move", methods=["POST"])
@requires("programs.edit")
def topic_move(program_id: int, number: int, topic_id: int):
    v = services.get_version(db.session, program_id, number)
    direction = -1 if request.form.get("direction") == "up" else 1
    services.move_topic(
        db.session, queries.version_topic(db.session, v, topic_id), direction, current_user.id
    )
    return redirect(url_for("programs.version", program_id=program_id, number=number))


@bp.route("/<int:program_id>/v/<int:number>/submit", methods=["POST"])
@requires("programs.edit")
def submit(program_id: int, number: int):
    v = services.get_version(db.session, program_id, number)
    services.submit(db.session, v, current_user.id)
    flash(
        _("Version %(n)d was submitted to the program head and is now frozen.", n=v.number),
        "success",
    )
    return redirect(url_for("programs.version", program_id=program_id, number=number))


@bp.route("/<int:program_id>/drafts", methods=["POST"])
@requires("programs.edit")
def new_draft(program_id: int):
    program = services.get_program(db.session, program_id)
    draft = services.new_draft(db.session, program, current_user.id)
    flash(_("Draft version %(n)d was created from the latest version.", n=draft.number), "success")
    return redirect(url_for("programs.version", program_id=program_id, number=draft.number))


@bp.route("/<int:program_id>/v/<int:number>/sign", methods=["GET", "POST"])
@requires("programs.sign")
def sign(program_id: int, number: int):
    v = services.get_version(db.session, program_id, number)
    form = SignForm()
    status = 200
    if form.validate_on_submit():
        rebrief = bool(form.needs_rebriefing.data)
        seen = form.effects_rebrief.data if rebrief else form.effects_plain.data
        try:
            sig = services.sign(
                db.session,
                v,
                current_user,
                form.password.data,
                form.meaning.data,
                form.comment.data or "",
                needs_rebriefing=rebrief,
                effects_seen=seen or "",
            )
        except DomainError as err:
            db.session.rollback()  # a wrong password is already in the audit log (record_apart)
            if not apply_domain_error(form, err):
                flash(err.message, "error")
            status = err.status_code
        else:
            flash(
                _(
                    "You signed version %(n)d: %(meaning)s.",
                    n=v.number,
                    meaning=labels.MEANING_LABELS[sig.meaning],
                ),
                "success",
            )
            return redirect(url_for("programs.version", program_id=program_id, number=number))
    elif request.method == "POST":
        status = 400
    plain = services.approval_effects(db.session, v, False)
    rebrief_effects = services.approval_effects(db.session, v, True)
    form.effects_plain.data = services.effects_fingerprint(plain, False)
    form.effects_rebrief.data = services.effects_fingerprint(rebrief_effects, True)
    return render_template(
        "programs/sign.html",
        form=form,
        v=v,
        pick=pick,
        lang=_lang(),
        labels=labels,
        effects_plain=plain,
        effects_rebrief=rebrief_effects,
    ), status


@bp.route("/<int:program_id>/diff")
@requires("programs.view")
def diff(program_id: int):
    program = services.get_program(db.session, program_id)
    numbers = [v.number for v in program.versions]
    a = id_arg("a") or (numbers[-2] if len(numbers) > 1 else numbers[-1])
    b = id_arg("b") or numbers[-1]
    va = services.get_version(db.session, program_id, a)
    vb = services.get_version(db.session, program_id, b)
    sections = services.diff_versions(va, vb, _lang())
    return render_template(
        "programs/diff.html",
        program=program,
        va=va,
        vb=vb,
        sections=sections,
        numbers=numbers,
        pick=pick,
        lang=_lang(),
    )


@bp.route("/awaiting")
@requires("programs.sign")
def awaiting():
    versions = queries.awaiting_signature(db.session, current_user.id)
    return render_template(
        "programs/awaiting.html", versions=versions, pick=pick, lang=_lang(), labels=labels
    )


@bp.route("/attachments/<int:attachment_id>")
@requires("programs.view")
def attachment(attachment_id: int):
    att = queries.get_attachment(db.session, attachment_id)
    return Response(
        att.data,
        mimetype=att.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{att.filename}"',
            "Cache-Control": "private, max-age=3600",
        },
    )


nav.register(_l("Programs"), "programs.index", "programs.view", order=10)
nav.register(_l("Awaiting my signature"), "programs.awaiting", "programs.sign", order=11)
nav.register_home_panel("programs/_home_awaiting.html", "programs.sign", order=10)


@bp.app_context_processor
def _home_context():
    def awaiting_signature():
        if not current_user.is_authenticated:
            return []
        return queries.awaiting_signature(db.session, current_user.id)

    return {"awaiting_signature": awaiting_signature, "pick_text": pick}
