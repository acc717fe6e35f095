from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_date, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from lms.accounts import queries as account_queries
from lms.accounts.models import in_locale
from lms.accounts.services import department_tree
from lms.compliance import charts, drilldown, queries, services, trends
from lms.compliance import triggers as _triggers  # noqa: F401  (its hooks: absence, transfer, failed checks)
from lms.compliance.forms import ActionForm, RequirementForm, UnscheduledForm
from lms.core import nav, pdf, seal, spreadsheet
from lms.core.clock import local_today
from lms.core.dates import fmt_date, fmt_datetime
from lms.core.errors import DomainError
from lms.core.forms import apply_domain_error
from lms.core.http import id_arg, int_arg, safe_next
from lms.core.i18n import pick
from lms.core.permissions import requires
from lms.extensions import db
from lms.programs.labels import CATEGORY_LABELS
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


def _level() -> queries.Level:
    """The department level the request asks for (?department=), within what the viewer may
    see."""
    return queries.level(db.session, current_user, id_arg("department"))


def _people_scope(lv: queries.Level) -> list[int] | None:
    """The departments of a drill-down: the chosen one with everything below it, or with
    ?only=1 its own people only (a matrix row "its own people")."""
    if lv.current is not None and request.args.get("only") == "1":
        return [lv.current.id]
    return lv.scope


def _status_arg() -> str | None:
    value = request.args.get("status")
    return value if value in STATUS_BADGES else None


@bp.route("/")
@requires("compliance.view")
def matrix() -> str:
    today = local_today()
    category = (
        request.args.get("category") if request.args.get("category") in CATEGORY_LABELS else None
    )
    lv = _level()
    m = queries.build_matrix(
        db.session, lv, today, _window(), category=category, after=request.args.get("after")
    )
    return render_template(
        "compliance/matrix.html",
        m=m,
        lv=lv,
        today=today,
        window=_window(),
        category=category,
        categories=CATEGORY_LABELS,
        department=lv.current.id if lv.current else None,
        departments=lv.choices([r.department for r in m.rows if not r.own]),
        next_args=dict(request.args.to_dict(), after=m.next_after) if m.next_after else None,
        first_args={k: v for k, v in request.args.items() if k != "after"},
        after=request.args.get("after"),
        colour=charts.heat_class,
        pick=pick,
    )


@bp.route("/people")
@requires("compliance.view")
def people() -> str:
    lv = _level()
    program_id = id_arg("program")
    status = _status_arg()
    after = drilldown.Cursor.parse(request.args.get("after"))
    rows, next_cursor = drilldown.people_page(
        db.session,
        local_today(),
        _window(),
        department_ids=_people_scope(lv),
        program_id=program_id,
        status=status,
        after=after,
    )
    can_invite = current_user.has_role("manager") or current_user.has_role("admin")
    with_sessions = session_queries.programs_with_upcoming(db.session) if can_invite else set()
    return render_template(
        "compliance/people.html",
        rows=rows,
        status=status,
        program_id=program_id,
        programs=queries.program_codes(db.session),
        lv=lv,
        department=lv.current.id if lv.current else None,
        departments=lv.choices(),
        labels=status_labels(),
        badges=STATUS_BADGES,
        window=_window(),
        pick=pick,
        invite_targets=with_sessions,
        invite=ActionForm(),
        after=after,
        next_args=dict(request.args.to_dict(), after=str(next_cursor)) if next_cursor else None,
        first_args={k: v for k, v in request.args.items() if k != "after"},
    )


@bp.route("/invite", methods=["POST"])
@requires("compliance.view")
def invite() -> ResponseReturnValue:
    """Put a due person into a session of the program: directly when one open session fits,
    else a choice of every open session that fits (the form posts here again with its id)."""
    if not (current_user.has_role("manager") or current_user.has_role("admin")):
        abort(403)
    if not ActionForm().validate_on_submit():
        abort(400)
    person = queries.person(db.session, id_arg("user_id", form=True))
    program = queries.program(db.session, id_arg("program_id", form=True))
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


def _people_header() -> list[str]:
    return [
        _("Person"),
        _("Job title"),
        _("Department"),
        _("Program"),
        _("Status"),
        _("Due date"),
        _("Last completed"),
    ]


def _people_rows() -> Iterator[list[Any]]:
    """Every row of the drill-down, read in batches (no status computed per person): the
    query runs now, the rows are formatted as the response streams."""
    lv = _level()
    labels = status_labels()
    lang = str(get_locale())
    result = drilldown.people_export(
        db.session,
        local_today(),
        _window(),
        department_ids=_people_scope(lv),
        program_id=id_arg("program"),
        status=_status_arg(),
    )

    def rows() -> Iterator[list[Any]]:
        for r in result:
            yield [
                r.name,
                in_locale(r.job_titles, r.job_title),
                in_locale(r.department_names, r.department or ""),
                f"{r.code}: {pick(r.title, lang)[0]}" if r.title else r.code,
                labels[r.status],
                fmt_date(r.due_on),
                fmt_date(r.completed_on),
            ]

    return rows()


def _matrix_header() -> list[str]:
    labels = status_labels()
    return [
        _("Department"),
        _("Program"),
        *[labels[s] for s in queries.STATUS_ORDER],
        _("Total"),
        _("Share compliant"),
    ]


def _matrix_rows() -> Iterator[list[Any]]:
    """Every department of the scope by program (not rolled up), from one grouped query."""
    found = queries.matrix_export_rows(db.session, local_today(), _window(), _level().scope)
    out = []
    for name, code, counts in found:
        cell = queries.Cell(counts)
        out.append(
            [
                name,
                code,
                *[counts.get(s, 0) for s in queries.STATUS_ORDER],
                cell.total,
                f"{(cell.share or 0) * 100:.0f} %",
            ]
        )
    return iter(out)


def _csv_chunks(header: list[str], rows: Iterator[list[Any]]) -> Iterator[bytes]:
    """The CSV a thousand rows at a time: UTF-8 with a byte-order mark, every cell through
    spreadsheet.cell (as spreadsheet.csv_bytes writes it)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(spreadsheet.row(header))
    first = True
    for n, values in enumerate(rows, 1):
        writer.writerow(spreadsheet.row(values))
        if n % 1000 == 0:
            yield buf.getvalue().encode("utf-8-sig" if first else "utf-8")
            first = False
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode("utf-8-sig" if first else "utf-8")


def _csv(header: list[str], rows: Iterator[list[Any]], name: str) -> Response:
    return Response(
        stream_with_context(_csv_chunks(header, rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _xlsx(header: list[str], rows: Iterator[list[Any]], name: str) -> Response:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(name[:31])
    ws.freeze_panes = "A2"
    bold = []
    for value in spreadsheet.row(header):
        c = WriteOnlyCell(ws, value=value)
        c.font = Font(bold=True)
        bold.append(c)
    ws.append(bold)
    for row in rows:
        spreadsheet.append(ws, row)
    out = io.BytesIO()
    wb.save(out)
    return Response(
        out.getvalue(),
        mimetype=spreadsheet.XLSX_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


@bp.route("/export/<what>.<fmt>")
@requires("compliance.view")
def export(what: str, fmt: str) -> Response:
    if what not in ("matrix", "people") or fmt not in ("csv", "xlsx"):
        abort(404)
    if what == "matrix":
        header, rows = _matrix_header(), _matrix_rows()
    else:
        header, rows = _people_header(), _people_rows()
    name = f"compliance-{what}-{local_today().isoformat()}"
    return _csv(header, rows, name) if fmt == "csv" else _xlsx(header, rows, name)


@bp.route("/summary.pdf")
@requires("compliance.view")
def summary_pdf() -> Response:
    today = local_today()
    lv = _level()
    m = queries.build_matrix(db.session, lv, today, _window(), per_page=None)
    html = render_template(
        "compliance/summary_pdf.html",
        m=m,
        today=today,
        totals=queries.status_totals(m.totals),
        labels=status_labels(),
        order=queries.STATUS_ORDER,
        organisation=current_app.config["LMS_CONFIG"].organisation_name,
    )

    return Response(
        seal.seal_pdf(pdf.render(html), reason="Compliance summary"),
        mimetype="application/pdf",
        headers={"Content-Disposition": 'inline; filename="compliance-summary.pdf"'},
    )


@bp.route("/dashboard")
@requires("compliance.view")
def dashboard() -> str:
    today = local_today()
    window = _window()
    lv = _level()
    months = trends.month_points(today)
    m = queries.build_matrix(db.session, lv, today, window)
    own = lv.current.id if lv.current is not None else None
    history = trends.history(db.session, months, own, [d.id for d in lv.children], m.cells)
    names: dict[int | None, str] = {d.id: d.local_name for d in lv.children}
    if lv.current is not None:
        names[lv.current.id] = lv.current.local_name
    # the whole level, then the departments lagging most today (a readable chart)
    lagging = sorted((k for k in history if k is not None), key=lambda k: history[k][-1])
    shown: list[int | None] = [None, *lagging[: queries.HISTORY_LINES]]
    names[None] = lv.current.local_name if lv.current else _("All departments")
    series = {names.get(k, "?"): history[k] for k in shown if k in history}
    line = charts.line_chart([format_date(p, "MMM yy") for p in months], series)
    expiries = trends.upcoming_expiries(db.session, today, window, 12, lv.scope)
    bars = charts.bar_chart([(format_date(d, "d MMM"), n) for d, n in expiries])
    return render_template(
        "compliance/dashboard.html",
        line=line,
        bars=bars,
        m=m,
        lv=lv,
        counts=queries.status_totals(m.totals),
        labels=status_labels(),
        badges=STATUS_BADGES,
        colour=charts.heat_class,
        series=series,
        months=months,
        expiries=expiries,
        window=window,
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
                if not apply_domain_error(form, err):
                    flash(err.message, "error")
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
                if not apply_domain_error(trigger, err):
                    flash(err.message, "error")
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
        titles=account_queries.job_title_names(
            db.session, [r.job_title for r in reqs if r.job_title]
        ),
    ), status


@bp.route("/requirements/<int:req_id>/end", methods=["POST"])
@requires("compliance.manage")
def end_requirement(req_id: int):
    req = queries.requirement(db.session, req_id)
    if req is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    services.end_requirement(db.session, req, current_user.id)
    flash(_("The requirement was ended."), "success")
    return redirect(url_for("compliance.requirements"))


@bp.route("/requirements/from-audience/<int:program_id>", methods=["POST"])
@requires("compliance.manage")
def requirements_from_audience(program_id: int):
    program = queries.program(db.session, program_id)
    if program is None:
        abort(404)
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
