"""Registers per regime (HTML, CSV, XLSX, sealed PDF) and the countersignature queue."""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lms.completions.models import Completion
from lms.compliance import regimes
from lms.core import nav
from lms.core.clock import local_today
from lms.core.errors import DomainError
from lms.core.forms import apply_domain_error
from lms.core.http import id_arg
from lms.core.permissions import requires
from lms.extensions import db
from lms.registers import exports, queries, services
from lms.registers.forms import CountersignForm

bp = Blueprint("registers", __name__, url_prefix="/registers")


def _date_arg(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400, _("Dates are written as YYYY-MM-DD."))


def _regime(code: str) -> regimes.Regime:
    chosen = {r.code: r for r in regimes.chosen(current_app.config)}
    if code not in chosen:
        abort(404)
    return chosen[code]


def _filters(regime: regimes.Regime) -> queries.Filters:
    kind = (request.args.get("type") or "").strip() or None
    if kind is not None and kind not in regime.briefing_types:
        abort(400, _("This register has no such type of briefing."))
    f = queries.Filters(
        department_id=id_arg("unit"),
        briefing_type=kind,
        date_from=_date_arg("from"),
        date_to=_date_arg("to"),
    )
    if f.date_from and f.date_to and f.date_to < f.date_from:
        abort(400, _("The period ends before it starts."))
    return f


@bp.route("/")
@requires("registers.view")
def index():
    return render_template(
        "registers/index.html",
        regimes=regimes.chosen(current_app.config),
        lang=str(get_locale()),
        waiting=len(db.session.execute(services.queue_select()).scalars().all()),
    )


@bp.route("/<code>")
@requires("registers.view")
def register(code: str):
    regime = _regime(code)
    filters = _filters(regime)
    lang = str(get_locale())
    rows = queries.entries(db.session, regime, filters, lang)
    return render_template(
        "registers/register.html",
        regime=regime,
        rows=rows,
        lang=lang,
        filters=filters,
        labels=queries.COLUMN_LABELS,
        departments=queries.departments(db.session),
        query=request.query_string.decode("ascii", "replace"),
    )


@bp.route("/<code>.<fmt>")
@requires("registers.view")
def export(code: str, fmt: str):
    if fmt not in ("csv", "xlsx", "pdf"):
        abort(404)
    regime = _regime(code)
    filters = _filters(regime)
    data = exports.register_file(
        db.session, regime, filters, fmt, paper=request.args.get("paper") == "1"
    )
    name = f"register-{regime.code}-{date.today().isoformat()}"
    return Response(
        data,
        mimetype=exports.MIMETYPES[fmt],
        headers={
            "Content-Disposition": f"{'inline' if fmt == 'pdf' else 'attachment'}; "
            f'filename="{name}.{fmt}"'
        },
    )


@bp.route("/evidence.zip")
@requires("registers.view")
def evidence():
    """The inspector's evidence pack for a unit (or one person) and a period."""
    chosen = regimes.chosen(current_app.config)
    filters = _filters(chosen[0])
    filters.user_id = id_arg("person")
    data = exports.evidence_pack(db.session, chosen, filters)
    return Response(
        data,
        mimetype="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="evidence-{local_today().isoformat()}.zip"'
        },
    )


@bp.route("/countersign")
@requires("registers.countersign")
def queue():
    waiting: list[Completion] = list(db.session.execute(services.queue_select()).scalars())
    return render_template(
        "registers/queue.html", waiting=waiting, form=CountersignForm(), lang=str(get_locale())
    )


@bp.route("/countersign/<int:completion_id>", methods=["POST"])
@requires("registers.countersign")
def countersign(completion_id: int):
    form = CountersignForm()
    completion = db.session.get(Completion, completion_id)
    if completion is None:
        abort(404)
    status = 200
    if form.validate_on_submit():
        try:
            services.countersign(db.session, completion_id, current_user, form.password.data)
        except DomainError as err:
            db.session.rollback()
            if not apply_domain_error(form, err):
                flash(err.message, "error")
            status = err.status_code
        else:
            db.session.commit()
            flash(_("Countersigned: the entry is now in the register."), "success")
            return redirect(url_for("registers.queue"), 303)
    else:
        status = 400
    waiting: list[Completion] = list(db.session.execute(services.queue_select()).scalars())
    return (
        render_template("registers/queue.html", waiting=waiting, form=form, lang=str(get_locale())),
        status,
    )


nav.register(_l("Registers"), "registers.index", "registers.view", order=65)
