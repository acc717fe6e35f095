from __future__ import annotations

import io
from datetime import timedelta

from dateutil.relativedelta import relativedelta
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
from flask_babel import format_date, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lms.accounts import queries as account_queries
from lms.accounts.models import User, in_locale
from lms.accounts.services import department_tree, subtree_ids
from lms.compliance import charts, queries, services
from lms.compliance.forms import ActionForm, RequirementForm, UnscheduledForm
from lms.compliance.models import Requirement
from lms.core import nav, pdf, spreadsheet
from lms.core.clock import local_today
from lms.core.dates import fmt_date, fmt_datetime
from lms.core.errors import DomainError
from lms.core.forms import apply_domain_error
from lms.core.http import id_arg, int_arg, page_arg, safe_next
from lms.core.i18n import pick
from lms.core.pagination import paginate
from lms.core.permissions import requires
from lms.extensions import db
from lms.programs.labels import CATEGORY_LABELS
from lms.programs.models import Program
from lms.sessions import queries as session_queries
from lms.sessions import services as sessions

bp = Blueprint("compliance", __name__, url_prefix="/compliance")


def status_labels() -> dict[str, str]:
    return {
        "compliant": _("compliant"),
        "due_soon": _("due soon"),
        "overdue": _("overdue"),
        "never_trained": _("never trained"),
        "flagged": _("flagged for re-briefing"),
    }


STATUS_BADGES = {
    "compliant": "ok",
    "due_soon": "warn",
    "overdue": "bad",
    "never_trained": "bad",
    "flagged": "bad",
}


def _window() -> int:
    days = int_arg("window")
    return days if days and 1 <= days <= 365 else 30


def _departments_in_view() -> list[int] | None:
    """The departments the viewer may see, narrowed by ?department= (with its subtree)."""
    allowed = queries.visible_department_ids(db.session, current_user)
    chosen = id_arg("department")
    if chosen:
        wanted = subtree_ids(db.session, chosen)
        if allowed is not None:
            wanted = [d for d in wanted if d in allowed]
        return wanted
    return allowed


@bp.route("/")
@requires("compliance.view")
def matrix():
    today = local_today()
    category = (
        request.args.get("category") if request.args.get("category") in CATEGORY_LABELS else None
    )
    m = queries.build_matrix(db.session, today, _window(), _departments_in_view(), category)
    return render_template(
        "compliance/matrix.html",
        m=m,
        today=today,
        window=_window(),
        category=category,
        categories=CATEGORY_LABELS,
        department=id_arg("department"),
        departments=_selectable_departments(),
        colour=charts.heat_colour,
        pick=pick,
    )


def _selectable_departments():
    allowed = queries.visible_department_ids(db.session, current_user)
    return [
        (d, depth) for d, depth in department_tree(db.session) if allowed is None or d.id in allowed
    ]


def _people_query():
    """The drill-down select for the request's filters: (stmt, program_id, status)."""
    program_id = id_arg("program")
    status = request.args.get("status") if request.args.get("status") in STATUS_BADGES else None
    stmt = queries.people_select(
        db.session,
        local_today(),
        _window(),
        department_ids=_departments_in_view(),
        program_id=program_id,
        status=status,
    )
    return stmt, program_id, status


@bp.route("/people")
@requires("compliance.view")
def people():
    stmt, program_id, status = _people_query()
    page = paginate(db.session, stmt, page_arg(), 100, scalars=False)
    can_invite = current_user.has_role("manager") or current_user.has_role("admin")
    with_sessions = session_queries.programs_with_upcoming(db.session) if can_invite else set()
    programs = [(p.id, p.code) for p in queries.approved_programs(db.session)]
    return render_template(
        "compliance/people.html",
        page=page,
        status=status,
        program_id=program_id,
        programs=programs,
        department=id_arg("department"),
        departments=_selectable_departments(),
        labels=status_labels(),
        badges=STATUS_BADGES,
        window=_window(),
        pick=pick,
        invite_targets=with_sessions,
        invite=ActionForm(),
    )


@bp.route("/invite", methods=["POST"])
@requires("compliance.view")
def invite():
    """Put a due person into a session of the program: directly when one open session fits,
    else a choice of every open session that fits (the form posts here again with its id)."""
    if not (current_user.has_role("manager") or current_user.has_role("admin")):
        abort(403)
    if not ActionForm().validate_on_submit():
        abort(400)
    person = db.session.get(User, id_arg("user_id", form=True) or 0)
    program = db.session.get(Program, id_arg("program_id", form=True) or 0)
    back = safe_next(request.form.get("next"), url_for("compliance.people"))
    if person is None or program is None:
        abort(404)
    options = sessions.open_sessions_for(db.session, program.id, person)
    if not options:
        flash(
            _(
                "No upcoming session of %(code)s is open to %(name)s; ask an instructor to "
                "schedule one.",
                code=program.code,
                name=person.name,
            ),
            "error",
        )
        return redirect(back), 303
    chosen_id = request.form.get("session_id", type=int)
    if chosen_id is None and len(options) > 1:
        return render_template(
            "compliance/choose_session.html",
            person=person,
            program=program,
            options=options,
            counts={ts.id: session_queries.counts(db.session, ts.id) for ts in options},
            back=back,
            invite=ActionForm(),
        )
    ts = options[0] if chosen_id is None else next((t for t in options if t.id == chosen_id), None)
    if ts is None:
        flash(_("That session is no longer open to %(name)s.", name=person.name), "error")
        return redirect(back), 303
    try:
        enrolment = sessions.nominate(db.session, ts, person, current_user)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(back), 303
    if enrolment.status == "waitlisted":
        flash(
            _(
                "%(name)s is on the waitlist of the session on %(when)s.",
                name=person.name,
                when=fmt_datetime(ts.starts_at),
            ),
            "success",
        )
    else:
        flash(
            _(
                "%(name)s was invited to the session on %(when)s.",
                name=person.name,
                when=fmt_datetime(ts.starts_at),
            ),
            "success",
        )
    return redirect(back)


def _people_rows():
    stmt, _program_id, _status = _people_query()
    labels = status_labels()
    header = [
        _("Person"),
        _("Job title"),
        _("Department"),
        _("Program"),
        _("Status"),
        _("Due date"),
        _("Last completed"),
    ]
    rows = []
    lang = str(get_locale())
    for r in db.session.execute(stmt):
        rows.append(
            [
                r.name,
                in_locale(r.job_titles, r.job_title),
                in_locale(r.department_names, r.department or ""),
                f"{r.code}: {pick(r.title, lang)[0]}",
                labels[r.status],
                fmt_date(r.due_on),
                fmt_date(r.completed_on),
            ]
        )
    return header, rows


def _matrix_rows():
    today = local_today()
    m = queries.build_matrix(db.session, today, _window(), _departments_in_view())
    labels = status_labels()
    header = [
        _("Department"),
        _("Program"),
        *[labels[s] for s in queries.STATUS_ORDER],
        _("Total"),
        _("Share compliant"),
    ]
    rows = []
    for dept, _depth in m.departments:
        for p in m.programs:
            cell = m.cells.get((dept.id, p.id))
            if cell is None:
                continue
            rows.append(
                [
                    dept.local_name,
                    p.code,
                    *[cell.counts.get(s, 0) for s in queries.STATUS_ORDER],
                    cell.total,
                    f"{cell.share * 100:.0f} %",
                ]
            )
    return header, rows


def _csv(header, rows, name: str) -> Response:
    return Response(
        spreadsheet.csv_bytes(header, rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _xlsx(header, rows, name: str) -> Response:
    # openpyxl is heavy and only needed for this export: loaded here
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = name[:31]
    spreadsheet.append(ws, header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        spreadsheet.append(ws, row)
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return Response(
        out.getvalue(),
        mimetype=spreadsheet.XLSX_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


@bp.route("/export/<what>.<fmt>")
@requires("compliance.view")
def export(what: str, fmt: str):
    if what not in ("matrix", "people") or fmt not in ("csv", "xlsx"):
        abort(404)
    header, rows = _matrix_rows() if what == "matrix" else _people_rows()
    name = f"compliance-{what}-{local_today().isoformat()}"
    return _csv(header, rows, name) if fmt == "csv" else _xlsx(header, rows, name)


@bp.route("/summary.pdf")
@requires("compliance.view")
def summary_pdf():
    today = local_today()
    m = queries.build_matrix(db.session, today, _window(), _departments_in_view())
    totals = services.status_counts(db.session, today, _window())
    html = render_template(
        "compliance/summary_pdf.html",
        m=m,
        today=today,
        totals=totals,
        labels=status_labels(),
        order=queries.STATUS_ORDER,
        colour=charts.heat_colour,
        organisation=current_app.config["LMS_CONFIG"].organisation_name,
    )
    from lms.core import seal

    return Response(
        seal.seal_pdf(pdf.render(html), reason="Compliance summary"),
        mimetype="application/pdf",
        headers={"Content-Disposition": 'inline; filename="compliance-summary.pdf"'},
    )


@bp.route("/dashboard")
@requires("compliance.view")
def dashboard():
    today = local_today()
    depts = _departments_in_view()
    months = [today.replace(day=1) - relativedelta(months=i) for i in range(11, -1, -1)]
    months[-1] = today
    history = services.compliance_over_time(db.session, months, depts)
    names = queries.department_names(db.session)

    series = {
        names.get(d, _("No department")): [share for _p, share in points]
        for d, points in sorted(history.items(), key=lambda kv: names.get(kv[0], ""))
    }
    line = charts.line_chart([format_date(p, "MMM yy") for p in months], series)
    expiries = services.upcoming_expiries(db.session, today, 12, depts)
    bars = charts.bar_chart([(format_date(d, "d MMM"), n) for d, n in expiries])
    m = queries.build_matrix(db.session, today, _window(), depts)
    counts = services.status_counts(
        db.session,
        today,
        _window(),
        services.engine.Scope(department_ids=tuple(depts) if depts is not None else None),
    )
    return render_template(
        "compliance/dashboard.html",
        line=line,
        bars=bars,
        m=m,
        counts=counts,
        labels=status_labels(),
        badges=STATUS_BADGES,
        colour=charts.heat_colour,
        history=history,
        names=names,
        months=months,
        expiries=expiries,
    )


@bp.route("/requirements", methods=["GET", "POST"])
@requires("compliance.manage")
def requirements():
    form = RequirementForm(prefix="req")
    trigger = UnscheduledForm(prefix="uns")
    programs = queries.approved_programs(db.session)
    choices = [(p.id, p.code) for p in programs]
    dept_choices = [(0, _("Every department"))] + [
        (d.id, "\u2003" * depth + d.local_name) for d, depth in department_tree(db.session)
    ]
    form.program_id.choices = trigger.program_id.choices = choices
    form.department_id.choices = trigger.department_id.choices = dept_choices
    if request.method == "GET":
        trigger.due_on.data = local_today() + timedelta(days=14)
    status = 200
    if form.submit.data:
        if form.validate_on_submit():
            try:
                services.add_requirement(
                    db.session,
                    program_id=form.program_id.data,
                    department_id=form.department_id.data or None,
                    job_title=form.job_title.data,
                    interval_months=form.interval_months.data,
                    actor_id=current_user.id,
                )
            except DomainError as err:
                apply_domain_error(form, err) or flash(err.message, "error")
                status = err.status_code
            else:
                flash(_("The requirement was added."), "success")
                return redirect(url_for("compliance.requirements"))
        else:
            status = 400
    elif trigger.submit.data:
        if trigger.validate_on_submit():
            try:
                services.trigger_unscheduled(
                    db.session,
                    program_id=trigger.program_id.data,
                    reason=trigger.reason.data,
                    due_on=trigger.due_on.data,
                    department_id=trigger.department_id.data or None,
                    actor_id=current_user.id,
                )
            except DomainError as err:
                apply_domain_error(trigger, err) or flash(err.message, "error")
                status = err.status_code
            else:
                flash(
                    _("The unscheduled briefing is now required for everyone affected."), "success"
                )
                return redirect(url_for("compliance.requirements"))
        else:
            status = 400
    reqs = queries.active_requirements(db.session)
    unscheduled = queries.recent_unscheduled(db.session)
    return render_template(
        "compliance/requirements.html",
        form=form,
        trigger=trigger,
        reqs=reqs,
        unscheduled=unscheduled,
        action=ActionForm(),
        programs=programs,
        pick=pick,
        titles=account_queries.job_title_names(db.session, [r.job_title for r in reqs]),
    ), status


@bp.route("/requirements/<int:req_id>/end", methods=["POST"])
@requires("compliance.manage")
def end_requirement(req_id: int):
    req = db.get_or_404(Requirement, req_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    services.end_requirement(db.session, req, current_user.id)
    flash(_("The requirement was ended."), "success")
    return redirect(url_for("compliance.requirements"))


@bp.route("/requirements/from-audience/<int:program_id>", methods=["POST"])
@requires("compliance.manage")
def requirements_from_audience(program_id: int):
    program = db.get_or_404(Program, program_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    n = services.requirements_from_audience(db.session, program, current_user.id)
    flash(
        ngettext("%(num)d requirement was added.", "%(num)d requirements were added.", n), "success"
    )
    return redirect(url_for("compliance.requirements"))


nav.register(_l("Compliance"), "compliance.matrix", "compliance.view", order=40)
nav.register(
    _l("Dashboard"), "compliance.dashboard", "compliance.view", order=41, group="compliance"
)
nav.register(
    _l("Requirements"), "compliance.requirements", "compliance.manage", order=42, group="admin"
)


from lms.compliance import notify  # noqa: E402  (the notifications views register on bp)

notify.register(bp)

from lms.compliance import mailadmin  # noqa: E402  (the admin's undelivered e-mail list)

mailadmin.register(bp)

# the cascade dashboard (a compliance view of the cascade) has its own blueprint at /cascade/
from lms.compliance import cascade_routes  # noqa: E402

EXTRA_BLUEPRINTS = (cascade_routes.bp,)
