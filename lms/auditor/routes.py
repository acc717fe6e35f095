from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lms import jobs
from lms.accounts.forms import ConfirmForm
from lms.accounts.services import subtree_ids
from lms.auditor import queries
from lms.completions.exports import (
    certificate_query,
    certificates_after,
    recover_stalled,
    start_export,
)
from lms.core import audit, nav, spreadsheet, texts
from lms.core.afterwork import after_commit
from lms.core.audit_labels import action_label, object_label
from lms.core.clock import local_today
from lms.core.dates import fmt_datetime, fmt_stamps
from lms.core.errors import DomainError
from lms.core.http import id_arg, id_links, page_arg
from lms.core.pagination import paginate
from lms.core.permissions import requires
from lms.extensions import db

bp = Blueprint("auditor", __name__)
STATES = ("valid", "expired", "revoked")


def _date(name: str):
    value = request.args.get(name, "")
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None


def _audit_filters() -> tuple[Any, dict[str, Any]]:
    """The audit log's filters from the query string: the select and the values to show."""
    tz = get_timezone()
    person = id_arg("person")
    object_type = request.args.get("object_type") or None
    object_id = request.args.get("object_id") or None
    since, until = _date("from"), _date("to")
    stmt = audit.query(
        actor_id=person,
        object_type=object_type,
        object_id=object_id,
        since=datetime.combine(since, time.min, tz) if since else None,
        until=datetime.combine(until + timedelta(days=1), time.min, tz) if until else None,
    )
    shown = {
        "person": person,
        "object_type": object_type,
        "object_id": object_id or "",
        "since": request.args.get("from", ""),
        "until": request.args.get("to", ""),
    }
    return stmt, shown


@bp.route("/audit")
@requires("audit.view")
def audit_log():
    stmt, shown = _audit_filters()
    page = paginate(db.session, stmt, page_arg(), 100)
    names = queries.actor_names(db.session, {e.actor_id for e in page.items if e.actor_id})
    people = queries.audit_actors(db.session)
    types = queries.audit_object_types(db.session)
    return render_template(
        "auditor/audit_log.html", page=page, names=names, people=people, types=types, **shown
    )


AUDIT_EXPORT_LIMIT = 50_000


@bp.route("/audit.csv")
@requires("audit.view")
def audit_csv():
    """The filtered audit log as CSV, actions and object kinds in the reader's language."""
    stmt, _shown = _audit_filters()
    entries = queries.audit_entries(db.session, stmt, AUDIT_EXPORT_LIMIT)
    names = queries.actor_names(db.session, {e.actor_id for e in entries if e.actor_id})
    header = [_("Time"), _("Person"), _("Action"), _("Object"), _("Object number"), _("Summary")]
    rows = (
        [
            fmt_datetime(e.at),
            names.get(e.actor_id, "") if e.actor_id else "",
            action_label(e.action),
            object_label(e.object_type),
            e.object_id,
            fmt_stamps(texts.render(e.summary)),
        ]
        for e in entries
    )
    return Response(
        spreadsheet.csv_bytes(header, rows),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )


nav.register(_l("Audit log"), "auditor.audit_log", "audit.view", order=80)


PER_PAGE = 50
DATE_FILTERS = {
    "issued_from": _l("Issued from"),
    "issued_to": _l("Issued until"),
    "valid_from": _l("Valid until, from"),
    "valid_to": _l("Valid until, to"),
}


def _language() -> str | None:
    """The reader's language, as names in several languages are looked up."""
    current = get_locale()
    return current.language if current is not None else None


def _id(args: Any, name: str) -> int | None:
    """A record id from ``args`` (the query string or the form): the one numeric-argument helper,
    so that an id no database column can hold is a 400 with a message."""
    return id_arg(name, form=args is request.form)


def _filters(args: Any) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """The certificate filter in ``args`` (query string or form): (keyword arguments of
    ``certificate_query``, the values as typed, messages about what could not be read)."""
    typed = {name: (args.get(name) or "").strip() for name in DATE_FILTERS}
    days: dict[str, Any] = {}
    errors = []
    for name, label in DATE_FILTERS.items():
        days[name] = None
        if typed[name]:
            try:
                day = datetime.strptime(typed[name], "%Y-%m-%d").date()
            except ValueError:
                day = None
            if day is None or not 1900 <= day.year <= 2999:
                errors.append(_("%(field)s: enter a date as YYYY-MM-DD.", field=label))
            else:
                days[name] = day
    tz = get_timezone()
    dept = _id(args, "department")
    filters: dict[str, Any] = {
        "q": args.get("q", ""),
        "department_ids": subtree_ids(db.session, dept) if dept else None,
        "program_id": _id(args, "program"),
        "state": args.get("state") if args.get("state") in STATES else None,
        "issued_since": datetime.combine(days["issued_from"], time.min, tz)
        if days["issued_from"]
        else None,
        "issued_before": datetime.combine(days["issued_to"] + timedelta(days=1), time.min, tz)
        if days["issued_to"]
        else None,
        "valid_from": days["valid_from"],
        "valid_to": days["valid_to"],
    }
    return filters, typed, errors


@bp.route("/auditor/")
@requires("certificates.view")
def portal():
    filters, typed, errors = _filters(request.args)
    after = None
    if request.args.get("after"):
        after = queries.page_cursor(db.session, request.args["after"])
        if after is None:
            errors.append(_("This page link is not valid any more: start from the first page."))
    today = local_today()
    items: list[Any] = []
    more = False
    if not errors:
        stmt = queries.certificate_search(db.session, **filters, today=today)
        items, more = certificates_after(db.session, stmt, after, PER_PAGE)
    response = make_response(
        render_template(
            "auditor/portal.html",
            items=items,
            more=more,
            next_args=dict(request.args.to_dict(), after=items[-1].id) if more else None,
            first_args={k: v for k, v in request.args.items() if k != "after"},
            after=after,
            errors=errors,
            q=filters["q"],
            department=_id(request.args, "department"),
            program_id=filters["program_id"],
            state=filters["state"],
            dates=typed,
            date_labels=DATE_FILTERS,
            departments=queries.department_options(db.session, _language()),
            programs=queries.program_codes(db.session),
            today=today,
            export_form=ConfirmForm(),
            pdf_href=id_links("completions.certificate_pdf", "cert_id"),
            person_href=id_links("completions.person", "user_id"),
        )
    )
    response.status_code = 400 if errors else 200
    return response


@bp.route("/auditor/export", methods=["POST"])
@requires("certificates.view")
def export():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    filters, _typed, errors = _filters(request.form)
    if errors:
        for message in errors:
            flash(message, "error")
        return redirect(url_for("auditor.portal")), 303
    jobs.huey.pending_count()  # the job queue is reachable (else: 503 with a message, nothing saved)
    stmt = certificate_query(**filters, today=local_today())
    try:
        job = start_export(db.session, current_user.id, filters, stmt)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("auditor.portal")), 303
    job_id = job.id
    after_commit(lambda: jobs.export_certificates(job_id))
    return redirect(url_for("auditor.export_status", job_id=job_id))


@bp.route("/auditor/exports/<int:job_id>")
@requires("certificates.view")
def export_status(job_id: int):
    job = queries.export_job(db.session, current_user, job_id)
    # the person waiting is the first to notice a worker that died: hand the job to another
    for again_id, attempt in recover_stalled(db.session, [job.id]):
        after_commit(partial(jobs.export_certificates, again_id, attempt))
    job = queries.reread(db.session, job)  # recover_stalled changed the row in SQL
    response = make_response(render_template("auditor/export_status.html", job=job))
    if job.status in ("queued", "running"):
        response.headers["Refresh"] = "2"
    return response


@bp.route("/auditor/exports/<int:job_id>/download")
@requires("certificates.view")
def export_download(job_id: int):
    job = queries.export_job(db.session, current_user, job_id)
    if job.status != "done" or not job.path or not Path(job.path).is_file():
        abort(404)
    return send_file(
        job.path,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"certificates-{job.id}.zip",
    )


nav.register(_l("Certificates"), "auditor.portal", "certificates.view", order=70)
