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
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lms.accounts.people import record_absence, template_labels
from lms.compliance import regimes, triggers
from lms.compliance import services as compliance
from lms.core import documents, nav
from lms.core.clock import local_today
from lms.core.documents import IssuedDocument
from lms.core.errors import DomainError, NotAllowed
from lms.core.forms import apply_domain_error
from lms.core.http import id_arg
from lms.core.permissions import requires
from lms.extensions import db
from lms.registers import exports, issuing, queries, services
from lms.registers.forms import (
    AbsenceForm,
    CountersignForm,
    IncidentForm,
    NewRulesForm,
    RegimesForm,
)
from lms.registers.labels import INCIDENT_KIND_LABELS
from lms.sessions.labels import EVENT_TRIGGER_LABELS

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
        waiting=queries.waiting_count(db.session),
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
        copies=queries.issued_copies(db.session, documents.REGISTER, regime.code),
        query=request.query_string.decode("ascii", "replace"),
    )


@bp.route("/<code>.<fmt>")
@requires("registers.view")
def export(code: str, fmt: str):
    if fmt not in ("csv", "xlsx", "pdf"):
        abort(404)
    regime = _regime(code)
    filters = _filters(regime)
    paper = request.args.get("paper") == "1"
    if fmt == "pdf":  # an issued document: kept as issued
        return _send(
            issuing.issue_register(db.session, regime, filters, current_user.id, paper=paper)
        )
    data = exports.register_file(db.session, regime, filters, fmt, paper=paper)
    name = f"register-{regime.code}-{local_today().isoformat()}"
    return Response(
        data,
        mimetype=exports.MIMETYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


def _send(doc: IssuedDocument) -> Response:
    inline = "inline" if doc.mimetype == "application/pdf" else "attachment"
    return Response(
        doc.data,
        mimetype=doc.mimetype,
        headers={
            "Content-Disposition": f'{inline}; filename="{doc.filename}"',
            "X-Content-SHA256": doc.sha256,
        },
    )


@bp.route("/evidence.zip")
@requires("registers.view")
def evidence():
    """The inspector's evidence pack for a unit (or one person) and a period."""
    chosen = regimes.chosen(current_app.config)
    filters = _filters(chosen[0])
    filters.user_id = id_arg("person")
    return _send(issuing.issue_evidence_pack(db.session, chosen, filters, current_user.id))


@bp.route("/issued/<int:doc_id>")
@requires("registers.view")
def issued_copy(doc_id: int):
    """A register PDF or evidence pack exactly as it was issued (its stored bytes)."""
    doc = documents.get(db.session, doc_id)
    if doc is None:
        abort(404)
    return _send(doc)


@bp.route("/issued")
@requires("registers.view")
def issued_list():
    """Every register PDF and evidence pack kept as issued (the latest)."""
    return render_template(
        "registers/issued.html",
        registers=queries.issued_copies(db.session, documents.REGISTER),
        packs=queries.issued_copies(db.session, documents.EVIDENCE_PACK),
    )


@bp.route("/countersign")
@requires("registers.countersign")
def queue():
    return render_template(
        "registers/queue.html",
        waiting=queries.waiting(db.session),
        form=CountersignForm(),
        lang=str(get_locale()),
    )


@bp.route("/countersign/<int:completion_id>", methods=["POST"])
@requires("registers.countersign")
def countersign(completion_id: int):
    form = CountersignForm()
    if queries.completion(db.session, completion_id) is None:
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
            flash(_("Countersigned: the entry is now in the register."), "success")
            return redirect(url_for("registers.queue"), 303)
    else:
        status = 400
    return (
        render_template(
            "registers/queue.html",
            waiting=queries.waiting(db.session),
            form=form,
            lang=str(get_locale()),
        ),
        status,
    )


# ----- what makes a briefing due: incidents, new rules, absences; the regimes chosen ------


def _departments() -> list[tuple[int, str]]:
    """The units the current user may record for (a manager: their own tree)."""
    mine = queries.units_of(db.session, current_user)
    return [
        (d.id, d.local_name)
        for d in queries.departments(db.session)
        if mine is None or d.id in mine
    ]


def _outside_units(department_id: int | None) -> DomainError | None:
    mine = queries.units_of(db.session, current_user)
    if mine is not None and department_id is not None and department_id not in mine:
        return NotAllowed(_("You can record this only for your own units."))
    return None


def _fail(form, err: DomainError) -> int:
    db.session.rollback()
    if not apply_domain_error(form, err):
        flash(err.message, "error")
    return err.status_code


@bp.route("/incidents", methods=["GET", "POST"])
@requires("registers.record")
def incidents():
    """Record an accident, a fire or a breach of the rules in a unit."""
    form = IncidentForm()
    form.department_id.choices = [(0, _("Choose the unit")), *_departments()]
    form.kind.choices = list(INCIDENT_KIND_LABELS.items())
    status = 200
    if form.validate_on_submit():
        try:
            refused = _outside_units(form.department_id.data or None)
            if refused is not None:
                raise refused
            incident, made = triggers.record_incident(
                db.session,
                occurred_on=form.occurred_on.data,
                department_id=form.department_id.data or None,
                kind=form.kind.data,
                note=form.note.data or "",
                actor_id=current_user.id,
            )
        except DomainError as err:
            status = _fail(form, err)
        else:
            if made:
                flash(
                    ngettext(
                        "Recorded: %(num)d person is now due for an unscheduled briefing.",
                        "Recorded: %(num)d people are now due for an unscheduled briefing.",
                        incident.people_due,
                    ),
                    "success",
                )
            else:
                flash(
                    _(
                        "Recorded, but it matches nobody: no one in this unit holds a program "
                        "whose regime makes this a trigger. No briefing was made due."
                    ),
                    "warning",
                )
            return redirect(url_for("registers.incidents"), 303)
    elif request.method == "POST":
        status = 400
    return render_template(
        "registers/incidents.html",
        form=form,
        incidents=queries.incidents(db.session),
        kinds=INCIDENT_KIND_LABELS,
    ), status


@bp.route("/new-rules", methods=["GET", "POST"])
@requires("compliance.manage")
def new_rules():
    """New rules in force: an unscheduled briefing due for everyone holding the regime's
    programs (or one of them)."""
    form = NewRulesForm()
    form.regime.choices = [(r.code, r.code) for r in regimes.chosen(current_app.config)]
    form.program_id.choices = [(0, _("Every program of the regime"))] + [
        (p.id, p.code) for p in queries.programs(db.session)
    ]
    status = 200
    if form.validate_on_submit():
        try:
            made = triggers.new_rules_in_force(
                db.session,
                regime_code=form.regime.data,
                program_id=form.program_id.data or None,
                in_force_on=form.in_force_on.data,
                note=form.note.data or "",
                actor_id=current_user.id,
            )
        except DomainError as err:
            status = _fail(form, err)
        else:
            flash(
                ngettext(
                    "%(num)d person is now due for an unscheduled briefing.",
                    "%(num)d people are now due for an unscheduled briefing.",
                    len({ub.user_id for ub in made}),
                ),
                "success",
            )
            return redirect(url_for("registers.due"), 303)
    elif request.method == "POST":
        status = 400
    return render_template("registers/new_rules.html", form=form), status


@bp.route("/absences", methods=["GET", "POST"])
@requires("registers.record")
def absences():
    """Record an absence: a return after a long break may make a briefing due."""
    form = AbsenceForm()
    mine = queries.units_of(db.session, current_user)
    form.user_id.choices = [(0, _("Choose a person"))] + [
        (u.id, u.name)
        for u in queries.people(db.session)
        if mine is None or u.department_id in mine
    ]
    labels = template_labels()["absence_kind_labels"]
    form.kind.choices = list(labels.items())
    status = 200
    if form.validate_on_submit():
        try:
            if not form.user_id.data:
                raise DomainError(_("Choose a person."), field="user_id")
            record_absence(
                db.session,
                form.user_id.data,
                form.starts_on.data,
                form.ends_on.data,
                kind=form.kind.data,
                source="form",
            )
        except DomainError as err:
            status = _fail(form, err)
        else:
            flash(_("The absence is recorded."), "success")
            return redirect(url_for("registers.absences"), 303)
    elif request.method == "POST":
        status = 400
    return render_template(
        "registers/absences.html",
        form=form,
        absences=queries.recent_absences(db.session),
        kinds=labels,
    ), status


@bp.route("/regimes", methods=["GET", "POST"])
@requires("compliance.manage")
def choose_regimes():
    """The regimes the organisation works under (stored; LMS_REGIMES is the default)."""
    form = RegimesForm()
    lang = str(get_locale())
    known = regimes.all_regimes()
    form.codes.choices = [
        (code, f"{code}: {r.act.get(lang) or r.act['en']}") for code, r in sorted(known.items())
    ]
    if request.method == "GET":
        form.codes.data = [r.code for r in regimes.chosen(current_app.config)]
    status = 200
    if form.validate_on_submit():
        try:
            compliance.choose_regimes(db.session, list(form.codes.data or []), current_user.id)
        except DomainError as err:
            status = _fail(form, err)
        else:
            flash(_("The organisation's regimes are saved."), "success")
            return redirect(url_for("registers.index"), 303)
    elif request.method == "POST":
        status = 400
    return render_template("registers/regimes.html", form=form), status


@bp.route("/due")
@requires("registers.view")
def due():
    """Who is due for an unscheduled briefing, and why."""
    return render_template(
        "registers/due.html",
        rows=queries.due_unscheduled(db.session, id_arg("unit")),
        departments=queries.departments(db.session),
        unit=id_arg("unit"),
        triggers=EVENT_TRIGGER_LABELS,
    )


nav.register(_l("Registers"), "registers.index", "registers.view", order=65)
