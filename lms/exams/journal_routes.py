"""The access journal's routes on the exams blueprint: who is in, sign in and out, corrections,
the journal printout and exports."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.core import audit, ledger, texts
from lms.core.errors import DomainError, NotFound
from lms.core.permissions import requires
from lms.exams import access_journal, journal, labels, pages, queries, services
from lms.exams.forms import (
    AccessForm,
    ActionForm,
    CorrectForm,
    ExitForm,
)
from lms.exams.pages import bp
from lms.extensions import db


@bp.route("/<int:exam_id>/access", methods=["POST"])
@requires("exams.run")
def record_access(exam_id: int):
    exam = services.load_exam_for(db.session, exam_id, pages.acting_user())
    form = AccessForm(prefix="access")
    form.person_id.choices = [(0, "")] + pages.person_choices("")[1:]
    if not form.validate_on_submit():
        return pages.render_show(exam, 400, access=form)
    try:
        person = queries.person(db.session, form.person_id.data)
        line = access_journal.record_access(
            db.session,
            exam,
            pages.acting_user(),
            person=person,
            person_name=form.person_name.data or "",
            role=form.role.data,
            area=form.area.data,
            time_in=queries.to_utc(form.time_in.data),
            time_out=pages.utc(form.time_out.data),
            reason=form.reason.data,
        )
    except DomainError as err:
        pages.fail(err, form)
        return pages.render_show(
            services.get_exam(db.session, exam_id), err.status_code, access=form
        )
    flash(_("The entry of %(name)s was recorded.", name=line.person_name), "success")
    return redirect(url_for("exams.show", exam_id=exam.id, _anchor="journal"))


@bp.route("/<int:exam_id>/access/<int:line_id>/exit", methods=["POST"])
@requires("exams.run")
def record_exit(exam_id: int, line_id: int):
    exam = services.load_exam_for(db.session, exam_id, pages.acting_user())
    form = ExitForm()
    if not form.validate_on_submit():
        flash(_("Enter the time of exit."), "error")
        return pages.render_show(exam, 400)
    try:
        line = access_journal.record_exit(
            db.session, exam, line_id, pages.acting_user(), queries.to_utc(form.time_out.data)
        )
    except DomainError as err:
        pages.fail(err)
        return pages.render_show(services.get_exam(db.session, exam_id), err.status_code)
    flash(_("The exit of %(name)s was recorded.", name=line.person_name), "success")
    return redirect(url_for("exams.show", exam_id=exam.id, _anchor="journal"))


@bp.route("/<int:exam_id>/access/<int:line_id>/correct", methods=["GET", "POST"])
@requires("exams.run")
def correct_access(exam_id: int, line_id: int):
    exam = services.load_exam_for(db.session, exam_id, pages.acting_user())
    if not services.may_keep_journal(exam, pages.acting_user()):
        abort(403)
    line = next(
        (e for e in access_journal.current_access(db.session, exam.id) if e.id == line_id), None
    )
    if line is None:
        raise NotFound(_("There is no such line in this exam's access journal."))
    form = CorrectForm(
        time_in=pages.local_input(line.time_in),
        time_out=pages.local_input(line.time_out),
        reason=line.reason,
    )
    status = 200
    if form.validate_on_submit():
        try:
            access_journal.correct_access(
                db.session,
                exam,
                line_id,
                pages.acting_user(),
                time_in=queries.to_utc(form.time_in.data),
                time_out=pages.utc(form.time_out.data),
                reason=form.reason.data or "",
                correction=form.correction.data,
            )
        except DomainError as err:
            pages.fail(err, form)
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
    exam = services.load_exam_for(db.session, exam_id, pages.acting_user())
    if not ActionForm().validate_on_submit():
        abort(400)
    access_journal.candidate_sign_in(db.session, exam, pages.acting_user())
    flash(_("You are signed in to the exam. Your entry is in the access journal."), "success")
    return redirect(url_for("exams.show", exam_id=exam.id))


@bp.route("/<int:exam_id>/sign-out", methods=["POST"])
@requires("exams.run")
def sign_out(exam_id: int):
    exam = services.load_exam_for(db.session, exam_id, pages.acting_user())
    if not ActionForm().validate_on_submit():
        abort(400)
    access_journal.candidate_sign_out(db.session, exam, pages.acting_user())
    flash(_("You signed out of the exam."), "success")
    return redirect(url_for("exams.show", exam_id=exam.id))


@bp.route("/<int:exam_id>/journal.<fmt>")
@requires("exams.run")
def journal_export(exam_id: int, fmt: str):
    exam = services.load_exam_for(db.session, exam_id, pages.acting_user())
    if fmt not in journal.EXPORTS:
        abort(404)
    if not services.may_see_everyone(exam, pages.acting_user()):
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
        texts.stored("core.exported", format=fmt),
        sha256=ledger.sha256(data),
    )
    disposition = "inline" if fmt == "pdf" and request.args.get("print") else "attachment"
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f'{disposition}; filename="{journal.filename(exam, fmt)}"'},
    )
