"""Exam sessions: exam points, planning, the checklists, the access journal, results and the
signed protocol. Routes parse, call a service or a query, and render."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lms.accounts.models import User
from lms.core import audit, ledger, nav
from lms.core.errors import DomainError, NotFound
from lms.core.forms import apply_domain_error
from lms.core.i18n import pick
from lms.core.model import utcnow
from lms.core.permissions import requires
from lms.exams import journal, labels, queries, services
from lms.exams.forms import (
    AccessForm,
    ActionForm,
    AppointForm,
    CandidateForm,
    CorrectForm,
    ExamForm,
    ExitForm,
    ItemForm,
    OpenForm,
    PointForm,
    SignForm,
    TickForm,
    parse_results,
)
from lms.exams.models import ExamSession
from lms.extensions import db
from lms.programs.models import Program

bp = Blueprint("exams", __name__, url_prefix="/exams")


def _lang() -> str:
    return str(get_locale() or "en")


def _user() -> User:
    return current_user._get_current_object()


def _fail(err: DomainError, form: Any = None) -> None:
    """Undo the failed action and tell the person why (on the field when it names one)."""
    db.session.rollback()
    if form is None or not apply_domain_error(form, err):
        flash(err.message, "error")


def _local_input(moment: datetime | None) -> datetime | None:
    return queries.to_local(moment).replace(tzinfo=None) if moment else None


def _local_now() -> datetime:
    """Now, in the organisation's zone, to the minute (a form's default time)."""
    return queries.to_local(utcnow()).replace(tzinfo=None, second=0, microsecond=0)


def _utc(local: datetime | None) -> datetime | None:
    return queries.to_utc(local) if local else None


def _person_choices(blank: str) -> list[tuple[int, str]]:
    return [(0, blank)] + [
        (u.id, f"{u.name} ({u.job_title})" if u.job_title else u.name)
        for u in queries.people(db.session)
    ]


def _person(user_id: int | None) -> User:
    user = db.session.get(User, user_id) if user_id else None
    if user is None:
        raise DomainError(_("Choose a person."), field="user_id")
    return user


# ----- lists and exam points ---------------------------------------------------------------------


@bp.route("/")
@requires("exams.run")
def index():
    user = _user()
    exams = queries.exams_for(db.session, user)
    roles = {e.id: services.roles_in(e, user.id) for e in exams}
    # the person's own admission, where they are a candidate
    admission = {
        e.id: services.admission(db.session, e.program_id, [user.id]).get(user.id)
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
            _fail(err, form)
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
            _fail(err, form)
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
    lang = _lang()
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
            _fail(err, form)
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
    program = db.session.get(Program, program_id)
    if program is None:
        raise DomainError(_("Choose a program."), field="program_id")
    return program


# ----- the exam page ---------------------------------------------------------------------------


def _render_show(exam: ExamSession, status: int = 200, **forms: Any):
    user = _user()
    mine = services.roles_in(exam, user.id)
    done = services.ticks(db.session, exam.id)
    lines = services.current_access(db.session, exam.id)
    results = services.current_results(db.session, exam.id)
    sigs = services.signatures(db.session, exam.id)
    people = _person_choices(_("Choose a person"))
    appoint = forms.get("appoint") or AppointForm(formdata=None)
    appoint.user_id.choices = people
    candidate = forms.get("candidate") or CandidateForm(formdata=None, prefix="candidate")
    candidate.user_id.choices = people
    access = forms.get("access") or AccessForm(formdata=None, prefix="access", time_in=_local_now())
    access.person_id.choices = [(0, _("Someone without an account"))] + people[1:]
    everyone = services.may_see_everyone(exam, user)
    candidates = [c for c in exam.candidates if everyone or c.user_id == user.id]
    if not everyone:
        lines = [e for e in lines if e.person_id == user.id]
    admitted = services.admission(db.session, exam.program_id, [c.user_id for c in candidates])
    return render_template(
        "exams/show.html",
        exam=exam,
        mine=mine,
        everyone=everyone,
        candidates=candidates,
        manage=user.can("exams.manage") and exam.state != "closed",
        keeps_journal=services.may_keep_journal(exam, user),
        chair=services.chair_of(exam),
        commission=services.commission(exam),
        technicians=[a for a in exam.appointments if a.role == "technician"],
        pre=services.active_items(exam.point, "pre"),
        post=services.active_items(exam.point, "post"),
        done=done,
        check=services.software_check(db.session, exam),
        lines=lines,
        own_line=services.open_self_sign_in(db.session, exam, user.id),
        results=results,
        attempts=queries.quiz_attempts(db.session, exam),
        sigs=sigs,
        signed_by={s.signer_id for s in sigs},
        complete=services.protocol_complete(db.session, exam),
        blockers=services.protocol_blockers(db.session, exam),
        admitted=admitted,
        appoint=appoint,
        candidate=candidate,
        access=access,
        open_form=forms.get("open_form") or OpenForm(formdata=None),
        tick_errors=forms.get("tick_errors", {}),
        action=ActionForm(),
        exit_form=ExitForm(formdata=None, time_out=_local_now()),
        labels=labels,
        stamp=queries.stamp,
        pick=pick,
        lang=_lang(),
        exports=journal.EXPORTS,
    ), status


@bp.route("/<int:exam_id>")
@requires("exams.run")
def show(exam_id: int):
    exam = services.load_exam_for(db.session, exam_id, _user())
    return _render_show(exam)


@bp.route("/<int:exam_id>/appoint", methods=["POST"])
@requires("exams.manage")
def appoint(exam_id: int):
    exam = services.get_exam(db.session, exam_id)
    form = AppointForm()
    form.user_id.choices = _person_choices(_("Choose a person"))
    if not form.validate_on_submit():
        return _render_show(exam, 400, appoint=form)
    try:
        user = _person(form.user_id.data)
        services.appoint(db.session, exam, user, form.role.data, current_user.id)
    except DomainError as err:
        _fail(err, form)
        return _render_show(services.get_exam(db.session, exam_id), err.status_code, appoint=form)
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
    form.user_id.choices = _person_choices(_("Choose a person"))
    if not form.validate_on_submit():
        return _render_show(exam, 400, candidate=form)
    try:
        user = _person(form.user_id.data)
        services.add_candidate(db.session, exam, user, current_user.id)
    except DomainError as err:
        _fail(err, form)
        return _render_show(services.get_exam(db.session, exam_id), err.status_code, candidate=form)
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
    exam = services.load_exam_for(db.session, exam_id, _user())
    form = TickForm()
    if not form.validate_on_submit() or not (form.item_id.data or "").isdigit():
        abort(400)
    item_id = int(form.item_id.data)
    try:
        t = services.tick(db.session, exam, item_id, _user(), form.note.data or "")
    except DomainError as err:
        db.session.rollback()
        exam = services.get_exam(db.session, exam_id)
        if any(i.id == item_id for i in exam.point.items):
            # shown beside the item's button
            return _render_show(exam, err.status_code, tick_errors={item_id: err.message})
        flash(err.message, "error")
        return _render_show(exam, err.status_code)
    flash(
        _("%(item)s: ticked at %(when)s.", item=t.item.label, when=queries.stamp(t.ticked_at)),
        "success",
    )
    return redirect(url_for("exams.show", exam_id=exam.id, _anchor="checklists"))


@bp.route("/<int:exam_id>/open", methods=["POST"])
@requires("exams.run")
def open_exam(exam_id: int):
    exam = services.load_exam_for(db.session, exam_id, _user())
    form = OpenForm()
    if not form.validate_on_submit():
        return _render_show(exam, 400, open_form=form)
    try:
        services.open_exam(db.session, exam, _user(), form.override_reason.data or "")
    except DomainError as err:
        _fail(err, form)
        return _render_show(services.get_exam(db.session, exam_id), err.status_code, open_form=form)
    flash(_("The exam is open."), "success")
    return redirect(url_for("exams.show", exam_id=exam.id))


@bp.route("/<int:exam_id>/close", methods=["POST"])
@requires("exams.run")
def close_exam(exam_id: int):
    exam = services.load_exam_for(db.session, exam_id, _user())
    if not ActionForm().validate_on_submit():
        abort(400)
    services.close_exam(db.session, exam, _user())
    flash(_("The exam is closed. Tick the post-exam items and record the results."), "success")
    return redirect(url_for("exams.show", exam_id=exam.id))


# ----- the access journal ----------------------------------------------------------------------


@bp.route("/<int:exam_id>/access", methods=["POST"])
@requires("exams.run")
def record_access(exam_id: int):
    exam = services.load_exam_for(db.session, exam_id, _user())
    form = AccessForm(prefix="access")
    form.person_id.choices = [(0, "")] + _person_choices("")[1:]
    if not form.validate_on_submit():
        return _render_show(exam, 400, access=form)
    try:
        person = db.session.get(User, form.person_id.data) if form.person_id.data else None
        line = services.record_access(
            db.session,
            exam,
            _user(),
            person=person,
            person_name=form.person_name.data or "",
            role=form.role.data,
            area=form.area.data,
            time_in=queries.to_utc(form.time_in.data),
            time_out=_utc(form.time_out.data),
            reason=form.reason.data,
        )
    except DomainError as err:
        _fail(err, form)
        return _render_show(services.get_exam(db.session, exam_id), err.status_code, access=form)
    flash(_("The entry of %(name)s was recorded.", name=line.person_name), "success")
    return redirect(url_for("exams.show", exam_id=exam.id, _anchor="journal"))


@bp.route("/<int:exam_id>/access/<int:line_id>/exit", methods=["POST"])
@requires("exams.run")
def record_exit(exam_id: int, line_id: int):
    exam = services.load_exam_for(db.session, exam_id, _user())
    form = ExitForm()
    if not form.validate_on_submit():
        flash(_("Enter the time of exit."), "error")
        return _render_show(exam, 400)
    try:
        line = services.record_exit(
            db.session, exam, line_id, _user(), queries.to_utc(form.time_out.data)
        )
    except DomainError as err:
        _fail(err)
        return _render_show(services.get_exam(db.session, exam_id), err.status_code)
    flash(_("The exit of %(name)s was recorded.", name=line.person_name), "success")
    return redirect(url_for("exams.show", exam_id=exam.id, _anchor="journal"))


@bp.route("/<int:exam_id>/access/<int:line_id>/correct", methods=["GET", "POST"])
@requires("exams.run")
def correct_access(exam_id: int, line_id: int):
    exam = services.load_exam_for(db.session, exam_id, _user())
    if not services.may_keep_journal(exam, _user()):
        abort(403)
    line = next((e for e in services.current_access(db.session, exam.id) if e.id == line_id), None)
    if line is None:
        raise NotFound(_("There is no such line in this exam's access journal."))
    form = CorrectForm(
        time_in=_local_input(line.time_in), time_out=_local_input(line.time_out), reason=line.reason
    )
    status = 200
    if form.validate_on_submit():
        try:
            services.correct_access(
                db.session,
                exam,
                line_id,
                _user(),
                time_in=queries.to_utc(form.time_in.data),
                time_out=_utc(form.time_out.data),
                reason=form.reason.data or "",
                correction=form.correction.data,
            )
        except DomainError as err:
            _fail(err, form)
            status = err.status_code
        else:
            flash(_("The line was corrected; the earlier line is kept."), "success")
            return redirect(url_for("exams.show", exam_id=exam.id, _anchor="journal"))
    elif request.method == "POST":
        status = 400
    return render_template(
        "exams/correct.html", exam=exam, line=line, form=form, labels=labels, stamp=queries.stamp
    ), status


@bp.route("/<int:exam_id>/sign-in", methods=["POST"])
@requires("exams.run")
def sign_in(exam_id: int):
    exam = services.load_exam_for(db.session, exam_id, _user())
    if not ActionForm().validate_on_submit():
        abort(400)
    services.candidate_sign_in(db.session, exam, _user())
    flash(_("You are signed in to the exam. Your entry is in the access journal."), "success")
    return redirect(url_for("exams.show", exam_id=exam.id))


@bp.route("/<int:exam_id>/sign-out", methods=["POST"])
@requires("exams.run")
def sign_out(exam_id: int):
    exam = services.load_exam_for(db.session, exam_id, _user())
    if not ActionForm().validate_on_submit():
        abort(400)
    services.candidate_sign_out(db.session, exam, _user())
    flash(_("You signed out of the exam."), "success")
    return redirect(url_for("exams.show", exam_id=exam.id))


@bp.route("/<int:exam_id>/journal.<fmt>")
@requires("exams.run")
def journal_export(exam_id: int, fmt: str):
    exam = services.load_exam_for(db.session, exam_id, _user())
    if fmt not in journal.EXPORTS:
        abort(404)
    if not services.may_see_everyone(exam, _user()):
        abort(403)
    render, mimetype = journal.EXPORTS[fmt]
    data = render(db.session, exam)
    # the export as issued: its SHA-256 in the audit log identifies the very file handed out
    audit.record(
        db.session,
        current_user.id,
        "export",
        "exam_access_journal",
        exam.id,
        fmt,
        sha256=ledger.sha256(data),
    )
    disposition = "inline" if fmt == "pdf" and request.args.get("print") else "attachment"
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f'{disposition}; filename="{journal.filename(exam, fmt)}"'},
    )


# ----- results and the protocol ----------------------------------------------------------------


@bp.route("/<int:exam_id>/protocol.pdf")
@requires("exams.run")
def protocol_pdf(exam_id: int):
    exam = services.load_exam_for(db.session, exam_id, _user())
    if not services.may_see_everyone(exam, _user()):
        abort(403)
    data = journal.protocol_pdf(db.session, exam)
    audit.record(
        db.session,
        current_user.id,
        "export",
        "exam_protocol",
        exam.id,
        "pdf",
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
    exam = services.load_exam_for(db.session, exam_id, _user())
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        parsed = parse_results(request.form, [c.user_id for c in exam.candidates])
        n = services.record_results(db.session, exam, _user(), parsed)
    except DomainError as err:
        _fail(err)
        return _render_show(services.get_exam(db.session, exam_id), err.status_code)
    flash(_("Results saved: %(n)d changed.", n=n), "success")
    return redirect(url_for("exams.show", exam_id=exam.id, _anchor="results"))


@bp.route("/<int:exam_id>/sign", methods=["GET", "POST"])
@requires("exams.run")
def sign(exam_id: int):
    exam = services.load_exam_for(db.session, exam_id, _user())
    form = SignForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.sign_protocol(db.session, exam, _user(), form.password.data)
        except DomainError as err:
            if err.field == "password":
                db.session.commit()  # keep the audited failed attempt, nothing else changed
            else:
                db.session.rollback()
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
        results=services.current_results(db.session, exam.id),
        blockers=services.protocol_blockers(db.session, exam),
        role=services.roles_in(exam, current_user.id) & {"chair", "member"},
        labels=labels,
        stamp=queries.stamp,
    ), status


# ----- navigation ------------------------------------------------------------------------------

nav.register(_l("Exams"), "exams.index", "exams.run", order=30)
nav.register(_l("Exam points"), "exams.points", "exams.manage", order=93, group="admin")
