"""Admin pages of the integrations: the HR import (dry run, then apply) and API tokens."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lms.accounts import hr, hr_uploads
from lms.accounts import services as accounts
from lms.accounts.forms import ConfirmForm
from lms.accounts.people import HrImport
from lms.api import tokens
from lms.api.forms import SCOPE_LABELS, HrUploadForm, TokenForm
from lms.api.models import ApiToken
from lms.core import nav
from lms.core.afterwork import after_commit
from lms.core.errors import DomainError
from lms.core.forms import apply_domain_error
from lms.core.model import load_or_404
from lms.core.permissions import requires
from lms.extensions import db
from lms.jobs import apply_hr_import

bp = Blueprint("integration", __name__, url_prefix="/admin")

STATUS_LABELS = {
    "planned": _l("Checked, not applied"),
    "queued": _l("Waiting to be applied"),
    "running": _l("Being applied"),
    "applied": _l("Applied"),
    "failed": _l("Failed"),
    "refused": _l("Refused"),
}
FIELD_LABELS = {
    "employee_number": _l("Employee number"),
    "name": _l("Full name"),
    "patronymic": _l("Patronymic"),
    "email": _l("E-mail"),
    "personal_code": _l("Personal code"),
    "job_title": _l("Job title"),
    "department": _l("Department"),
    "hire_date": _l("Hire date"),
    "leaving_date": _l("Leaving date"),
    "manager": _l("Manager"),
    "worker_category": _l("Worker category"),
    "hazardous_work": _l("Hazardous work"),
}


@bp.context_processor
def _labels() -> dict:
    return {"status_labels": STATUS_LABELS, "field_labels": FIELD_LABELS}


@bp.route("/hr-import", methods=["GET", "POST"])
@requires("accounts.admin")
def hr_import():
    form = HrUploadForm()
    errors: list[hr.RowError] = []
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        try:
            row, report = hr_uploads.upload(
                db.session, data, upload.filename or "", current_user.id
            )
        except DomainError as err:
            if not apply_domain_error(form, err):
                flash(err.message, "error")
            status = 400
        else:
            if not report.errors:
                return redirect(url_for("integration.hr_import_detail", import_id=row.id))
            errors, status = report.errors, 400
    elif form.is_submitted():
        status = 400
    return (
        render_template(
            "api/hr_import.html",
            form=form,
            errors=errors,
            imports=hr_uploads.recent_imports(db.session),
        ),
        status,
    )


@bp.route("/hr-import/template.xlsx")
@requires("accounts.admin")
def hr_template():
    return Response(
        hr.template_xlsx(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="brigade-hr-template.xlsx"'},
    )


def _import(import_id: int) -> HrImport:
    return load_or_404(db.session, HrImport, import_id)


@bp.route("/hr-import/<int:import_id>")
@requires("accounts.admin")
def hr_import_detail(import_id: int):
    row = _import(import_id)
    return render_template(
        "api/hr_import_detail.html",
        row=row,
        report=row.report,
        confirm=ConfirmForm(),
        refresh=row.status in ("queued", "running"),
    )


@bp.route("/hr-import/<int:import_id>/apply", methods=["POST"])
@requires("accounts.admin")
def hr_import_apply(import_id: int):
    row = _import(import_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    hr_uploads.queue_apply(db.session, row)
    after_commit(lambda: apply_hr_import(row.id))
    flash(_("The file is being applied."), "info")
    return redirect(url_for("integration.hr_import_detail", import_id=row.id))


@bp.route("/api-tokens", methods=["GET", "POST"])
@requires("accounts.admin")
def api_tokens():
    form = TokenForm()
    secret = None
    status = 200
    if form.validate_on_submit():
        person = accounts.find_by_email(db.session, form.email.data or "")
        try:
            if person is None:
                raise DomainError(_("No person has this e-mail address."), field="email")
            _token, secret = tokens.create_token(
                db.session,
                name=form.name.data or "",
                user=person,
                scopes=form.scopes.data or [],
                actor_id=current_user.id,
            )
        except DomainError as err:
            if not apply_domain_error(form, err):
                flash(err.message, "error")
            status = 400
    elif form.is_submitted():
        status = 400
    return (
        render_template(
            "api/tokens.html",
            form=form,
            secret=secret,
            tokens=tokens.all_tokens(db.session),
            scope_labels=SCOPE_LABELS,
            revoke=ConfirmForm(),
        ),
        status,
    )


@bp.route("/api-tokens/<int:token_id>/revoke", methods=["POST"])
@requires("accounts.admin")
def api_token_revoke(token_id: int):
    token = load_or_404(db.session, ApiToken, token_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    tokens.revoke_token(db.session, token, current_user.id)
    flash(_("The token was revoked."), "success")
    return redirect(url_for("integration.api_tokens"))


nav.register(_l("HR import"), "integration.hr_import", "accounts.admin", order=92, group="admin")
nav.register(_l("API tokens"), "integration.api_tokens", "accounts.admin", order=93, group="admin")
nav.register(_l("API documentation"), "api.docs", "accounts.admin", order=94, group="admin")
