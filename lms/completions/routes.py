from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lms.completions import issued, queries, services
from lms.completions.forms import TEMPLATE_NAMES, ActionForm, RevokeForm, VerifyForm
from lms.completions.models import CERTIFICATE_LANGUAGES
from lms.core import nav, seal
from lms.core.clock import local_today
from lms.core.errors import DomainError
from lms.core.forms import apply_domain_error
from lms.core.i18n import pick
from lms.core.permissions import public, requires
from lms.extensions import db, limiter
from lms.programs.labels import CATEGORY_LABELS

MAX_CHECK = 5 * 1024 * 1024
MAX_PACK_CHECK = 10 * 1024 * 1024  # an evidence pack (ZIP) may be larger than a PDF

bp = Blueprint("completions", __name__)


@bp.route("/people/<int:user_id>/training")
@requires("login")
def person(user_id: int):
    person = queries.visible_person(db.session, current_user, user_id)
    records = queries.records_of(db.session, person)
    return render_template(
        "completions/person.html",
        person=person,
        completions=records.completions,
        today=local_today(),
        superseded=records.superseded,
        chains=records.chains,
        pick=pick,
        certificates=records.certificates,
        stored=issued.stored_ids(db.session, [c.id for c in records.certificates.values()]),
    )


@bp.route("/my/records")
@requires("login")
def mine():
    return person(current_user.id)


@bp.route("/certificates/<int:cert_id>.pdf")
@requires("login")
def certificate_pdf(cert_id: int):
    cert = queries.visible_certificate(db.session, current_user, cert_id)
    lang = request.args.get("lang") or None
    if lang and lang not in CERTIFICATE_LANGUAGES:
        lang = None
    pdf = services.certificate_pdf(db.session, cert, lang)
    name = f"{cert.number}{'-' + lang if lang and lang != cert.language else ''}.pdf"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


@bp.route("/certificates/<int:cert_id>/revoke", methods=["GET", "POST"])
@requires("certificates.revoke")
def revoke(cert_id: int):
    cert = queries.visible_certificate(db.session, current_user, cert_id)
    form = RevokeForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.revoke_certificate(
                db.session, cert, form.reason.data, current_user, form.password.data
            )
        except DomainError as err:
            if not apply_domain_error(form, err):
                flash(err.message, "error")
            status = err.status_code
        else:
            flash(_("Certificate %(n)s was revoked.", n=cert.number), "success")
            return redirect(url_for("completions.person", user_id=cert.completion.user_id))
    elif request.method == "POST":
        status = 400
    return render_template("completions/revoke.html", form=form, cert=cert), status


def _verify_limit() -> str:
    return "30 per minute"


@bp.route("/verify", methods=["GET", "POST"])
@public
@limiter.limit(_verify_limit)
def verify_form():
    form = VerifyForm()
    status, match, document, checked, sealcheck = 200, None, None, False, None
    if request.method == "POST":
        upload = request.files.get("file")
        code = (request.form.get("code") or "").strip()
        if code and not upload:
            return redirect(url_for("completions.verify", code=code))
        if upload is None or not upload.filename:
            flash(_("Enter a verification code or choose a PDF file."), "error")
            status = 400
        else:
            data = upload.read(MAX_PACK_CHECK + 1)
            if len(data) > (MAX_CHECK if data.startswith(b"%PDF-") else MAX_PACK_CHECK):
                abort(413)
            try:
                match, document = services.find_issued_file(db.session, data)
            except DomainError as err:
                form.file.errors = [err.message]
                status = 400
            else:
                checked = True
                sealcheck = seal.check(data) if data.startswith(b"%PDF-") else None
    return render_template(
        "completions/verify_form.html",
        form=form,
        match=match,
        document=document,
        checked=checked,
        sealcheck=sealcheck,
        today=local_today(),
    ), status


@bp.route("/verify/<code>")
@public
@limiter.limit(_verify_limit)
def verify(code: str):
    cert = services.find_by_code(db.session, code)
    return render_template(
        "completions/verify.html",
        cert=cert,
        today=local_today(),
        state=services.certificate_state(cert, local_today()),
        pick=pick,
    )


@bp.route("/certificates/templates", methods=["GET", "POST"])
@requires("accounts.admin")
def templates():
    form = ActionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        for category in CATEGORY_LABELS:
            chosen = request.form.get(f"template-{category}")
            if chosen is not None:
                services.set_template(db.session, category, chosen, current_user.id)
        flash(_("The certificate templates were saved."), "success")
        return redirect(url_for("completions.templates"))
    current = {c: services.template_for(db.session, c) for c in CATEGORY_LABELS}
    return render_template(
        "completions/templates.html",
        form=form,
        current=current,
        categories=CATEGORY_LABELS,
        names=TEMPLATE_NAMES,
    )


nav.register(_l("My records"), "completions.mine", "login", order=5)
nav.register(
    _l("Certificate templates"), "completions.templates", "accounts.admin", order=92, group="admin"
)
