"""Exam sessions: exam points, planning, the checklists, the access journal, results and the
signed protocol. Routes parse, call a service or a query, and render."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lms.core import audit, ledger, nav, texts
from lms.core.errors import DomainError
from lms.core.forms import apply_domain_error
from lms.core.i18n import pick
from lms.core.permissions import requires
from lms.exams import journal, labels, pages, protocol, queries, services

# the access journal's routes (journal_routes) register on this blueprint when imported
from lms.exams import journal_routes  # noqa: F401  # isort: skip
from lms.exams.forms import (
    ActionForm,
    AppointForm,
    CandidateForm,
    ExamForm,
    ItemForm,
    OpenForm,
    PointForm,
    SignForm,
    TickForm,
    parse_results,
)
from lms.exams.pages import bp as bp
from lms.extensions import db

# ----- lists and exam points ---------------------------------------------------------------------


@bp.route("/")
@requires("exams.run")
def index():
    user = pages.acting_user()
    exams = queries.exams_for(db.session, user)
    roles = {e.id: services.roles_in(e, user.id) for e in exams}
    # the person's own admission, where they are a candidate
    admission = {
        e.id: protocol.admission(db.session, e.program_id, [user.id]).get(user.id)
        for e in exams
        if "candidate" in roles[e.id]
    }
    return render_template(
        "exams/index.html", exams=exams, roles=roles, admission=admission, labels=labels
    )


@bp.route("/points", methods=["GET", "POST"])
@requires("exams.manage")
def points():
    form = PointForm()
    status = 200
    if form.validate_on_submit():
        try:
            point = services.create_point(
                db.session,
                name=form.name.data,
                room=form.room.data,
                workstations=form.workstations.data,
                actor_id=current_user.id,
            )
        except DomainError as err:
            pages.fail(err, form)
            status = err.status_code
        else:
            flash(_("Exam point %(name)s was added.", name=point.name), "success")
            return redirect(url_for("exams.point", point_id=point.id))
    elif request.method == "POST":
        status = 400
    return render_template(
        "exams/points.html", form=form, points=queries.points(db.session)
    ), status


@bp.route("/points/<int:point_id>", methods=["GET", "POST"])
@requires("exams.manage")
def point(point_id: int):
    p = services.get_point(db.session, point_id)
    form = ItemForm()
    status = 200
    if form.validate_on_submit():
        try:
            item = services.add_item(
                db.session,
                p,
                phase=form.phase.data,
                label=form.label.data,
                software_check=form.software_check.data,
                asks_where=form.asks_where.data,
                actor_id=current_user.id,
            )
        except DomainError as err:
            pages.fail(err, form)
            status = err.status_code
        else:
            flash(_("%(item)s was added to the checklist.", item=item.label), "success")
            return redirect(url_for("exams.point", point_id=p.id))
    elif request.method == "POST":
        status = 400
    return render_template(
        "exams/point.html", point=p, form=form, action=ActionForm(), labels=labels
    ), status


@bp.route("/points/<int:point_id>/items/<int:item_id>/retire", methods=["POST"])
@requires("exams.manage")
def retire_item(point_id: int, item_id: int):
    p = services.get_point(db.session, point_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    item = services.retire_item(db.session, p, item_id, current_user.id)
    flash(_("%(item)s was taken off the checklist.", item=item.label), "success")
    return redirect(url_for("exams.point", point_id=p.id))


# ----- planning an exam ------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@requires("exams.manage")
def new():
    form = ExamForm()
    lang = pages.lang()
    form.point_id.choices = [(p.id, f"{p.name} ({p.room})") for p in queries.points(db.session)]
    form.program_id.choices = [
        (p.id, f"{p.code}: {pick(p.current_version.title, lang)[0]}")
        for p in queries.examinable_programs(db.session)
        if p.current_version is not None
    ]
    status = 200
    if form.validate_on_submit():
        try:
            exam = services.create_exam(
                db.session,
                point=services.get_point(db.session, form.point_id.data),
                program=_program(form.program_id.data),
                test_kind=form.test_kind.data,
                paper_title=form.paper_title.data or "",
                starts_at=queries.to_utc(form.starts_at.data),
                ends_at=queries.to_utc(form.ends_at.data),
                actor_id=current_user.id,
            )
        except DomainError as err:
            pages.fail(err, form)
            status = err.status_code
        else:
            flash(_("The exam session was planned."), "success")
            return redirect(url_for("exams.show", exam_id=exam.id))
    elif request.method == "POST":
        status = 400
    return render_template(
        "exams/form.html", form=form, has_points=bool(form.point_id.choices)
    ), status


def _program(program_id: int):
    program = queries.program(db.session, program_id)
    if program is None:
        raise DomainError(_("Choose a program."), field="program_id")
    return program


# ----- the exam page ---------------------------------------------------------------------------


@bp.route("/<int:exam_id>")
@requires("exams.run")
def show(exam_id: int):
    exam = services.load_exam_for(db.session, exam_id, pages.acting_user())
    return pages.render_show(exam)


@bp.route("/<int:exam_id>/appoint", methods=["POST"])
@requires("exams.manage")
def appoint(exam_id: int):
    exam = services.get_exam(db.session, exam_id)
    form = AppointForm()
    form.user_id.choices = pages.person_choices(_("Choose a person"))
    if not form.validate_on_submit():
        return pages.render_show(exam, 400, appoint=form)
    try:
        user = pages.person(form.user_id.data)
        services.appoint(db.session, exam, user, form.role.data, current_user.id)
    except DomainError as err:
        pages.fail(err, form)
        return pages.render_show(
            services.get_exam(db.session, exam_id), err.status_code, appoint=form
        )
    flash(
        _(
            "%(name)s was appointed: %(role)s.",
            name=user.name,
            role=labels.APPOINTMENT_LABELS[form.role.data],
        ),
        "success",
    )
    return redirect(url_for("exams.show", exam_id=exam.id, _anchor="people"))


@bp.route("/<int:exam_id>/candidates", methods=["POST"])
@requires("exams.manage")
def add_candidate(exam_id: int):
    exam = services.get_exam(db.session, exam_id)
    form = CandidateForm(prefix="candidate")
    form.user_id.choices = pages.person_choices(_("Choose a person"))
    if not form.validate_on_submit():
        return pages.render_show(exam, 400, candidate=form)
    try:
        user = pages.person(form.user_id.data)
        services.add_candidate(db.session, exam, user, current_user.id)
    except DomainError as err:
        pages.fail(err, form)
        return pages.render_show(
            services.get_exam(db.session, exam_id), err.status_code, candidate=form
        )
    flash(_("%(name)s was added as a candidate.", name=user.name), "success")
    return redirect(url_for("exams.show", exam_id=exam.id, _anchor="people"))


@bp.route("/<int:exam_id>/<kind>/<int:row_id>/withdraw", methods=["POST"])
@requires("exams.manage")
def withdraw(exam_id: int, kind: str, row_id: int):
    if kind not in ("appointment", "candidate"):
        abort(404)
    exam = services.get_exam(db.session, exam_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    name = services.withdraw(db.session, exam, kind, row_id, current_user.id)
    flash(_("%(name)s was taken off this exam.", name=name), "success")
    return redirect(url_for("exams.show", exam_id=exam.id, _anchor="people"))


@bp.route("/<int:exam_id>/tick", methods=["POST"])
@requires("exams.run")
def tick(exam_id: int):
    exam = services.load_exam_for(db.session, exam_id, pages.acting_user())
    form = TickForm()
    if not form.validate_on_submit() or not (form.item_id.data or "").isdigit():
        abort(400)
    item_id = int(form.item_id.data)
    try:
        t = services.tick(db.session, exam, item_id, pages.acting_user(), form.note.data or "")
    except DomainError as err:
        db.session.rollback()
        exam = services.get_exam(db.session, exam_id)
        if any(i.id == item_id for i in exam.point.items):
            # shown beside the item's button
            return pages.render_show(exam, err.status_code, tick_errors={item_id: err.message})
        flash(err.message, "error")
        return pages.render_show(exam, err.status_code)
    flash(
        _("%(item)s: ticked at %(when)s.", item=t.item.label, when=queries.stamp(t.ticked_at)),
        "success",
    )
    return redirect(url_for("exams.show", exam_id=exam.id, _anchor="checklists"))


@bp.route("/<int:exam_id>/open", methods=["POST"])
@requires("exams.run")
def open_exam(exam_id: int):
    exam = services.load_exam_for(db.session, exam_id, pages.acting_user())
    form = OpenForm()
    if not form.validate_on_submit():
        return pages.render_show(exam, 400, open_form=form)
    try:
        services.open_exam(db.session, exam, pages.acting_user(), form.override_reason.data or "")
    except DomainError as err:
        pages.fail(err, form)
        return pages.render_show(
            services.get_exam(db.session, exam_id), err.status_code, open_form=form
        )
    flash(_("The exam is open."), "success")
    return redirect(url_for("exams.show", exam_id=exam.id))


@bp.route("/<int:exam_id>/close", methods=["POST"])
@requires("exams.run")
def close_exam(exam_id: int):
    exam = services.load_exam_for(db.session, exam_id, pages.acting_user())
    if not ActionForm().validate_on_submit():
        abort(400)
    services.close_exam(db.session, exam, pages.acting_user())
    flash(_("The exam is closed. Tick the post-exam items and record the results."), "success")
    return redirect(url_for("exams.show", exam_id=exam.id))


# ----- results and the protocol ----------------------------------------------------------------


@bp.route("/<int:exam_id>/protocol.pdf")
@requires("exams.run")
def protocol_pdf(exam_id: int):
    exam = services.load_exam_for(db.session, exam_id, pages.acting_user())
    if not services.may_see_everyone(exam, pages.acting_user()):
        abort(403)
    data = journal.protocol_pdf(db.session, exam)
    audit.record(
        db.session,
        current_user.id,
        "export",
        "exam_protocol",
        exam.id,
        texts.stored("core.exported", format="pdf"),
        sha256=ledger.sha256(data),
    )
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="exam-{exam.id}-protocol.pdf"'},
    )


@bp.route("/<int:exam_id>/results", methods=["POST"])
@requires("exams.run")
def results(exam_id: int):
    exam = services.load_exam_for(db.session, exam_id, pages.acting_user())
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        parsed = parse_results(request.form, [c.user_id for c in exam.candidates])
        n = protocol.record_results(db.session, exam, pages.acting_user(), parsed)
    except DomainError as err:
        pages.fail(err)
        return pages.render_show(services.get_exam(db.session, exam_id), err.status_code)
    flash(_("Results saved: %(n)d changed.", n=n), "success")
    return redirect(url_for("exams.show", exam_id=exam.id, _anchor="results"))


@bp.route("/<int:exam_id>/sign", methods=["GET", "POST"])
@requires("exams.run")
def sign(exam_id: int):
    exam = services.load_exam_for(db.session, exam_id, pages.acting_user())
    form = SignForm()
    status = 200
    if form.validate_on_submit():
        try:
            protocol.sign_protocol(db.session, exam, pages.acting_user(), form.password.data)
        except DomainError as err:
            db.session.rollback()  # a wrong password is already in the audit log (record_apart)
            if not apply_domain_error(form, err):
                flash(err.message, "error")
            status = err.status_code
        else:
            flash(_("You signed the exam protocol."), "success")
            return redirect(url_for("exams.show", exam_id=exam.id, _anchor="protocol"))
    elif request.method == "POST":
        status = 400
    exam = services.get_exam(db.session, exam_id)
    return render_template(
        "exams/sign.html",
        exam=exam,
        form=form,
        results=protocol.current_results(db.session, exam.id),
        blockers=protocol.protocol_blockers(db.session, exam),
        role=services.roles_in(exam, current_user.id) & {"chair", "member"},
        labels=labels,
        stamp=queries.stamp,
    ), status


# ----- navigation ------------------------------------------------------------------------------

nav.register(_l("Exams"), "exams.index", "exams.run", order=30)
nav.register(_l("Exam points"), "exams.points", "exams.manage", order=93, group="admin")
