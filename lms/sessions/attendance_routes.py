"""Session pages for taking attendance, walk-ins, acknowledgments and the conduct signature.

They register on the sessions blueprint (lms.sessions.pages); lms.sessions.routes imports this module.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from lms.core.errors import DomainError
from lms.core.i18n import pick
from lms.core.permissions import requires
from lms.extensions import db, limiter
from lms.programs import labels as program_labels
from lms.sessions import labels, pages, queries, services
from lms.sessions.forms import (
    ActionForm,
    SheetAckForm,
    SignForm,
    WalkInForm,
)
from lms.sessions.models import ATTENDANCE_STATUSES
from lms.sessions.pages import bp

# ----- attendance -----------------------------------------------------------------------------


@bp.route("/<int:session_id>/attendance", methods=["POST"])
@requires("sessions.run")
def attendance(session_id: int):
    """The attendance sheet: one mark per person, all saved at once."""
    ts = services.managed_session(db.session, current_user, session_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    marks: dict[int, str] = {}
    for key, value in request.form.items():
        if not key.startswith("mark-") or not value:
            continue
        try:
            user_id = int(key.removeprefix("mark-"))
        except ValueError:
            abort(400)
        marks[user_id] = value
    everyone = request.form.get("everyone")
    if everyone:  # "everyone not yet marked": the rest of the sheet as chosen
        if everyone not in ATTENDANCE_STATUSES:
            abort(400)
        for row in queries.roster(db.session, ts).enrolled:
            if row.mark is None:
                marks.setdefault(row.user.id, everyone)
    note = request.form.get("note", "")
    try:
        written = services.mark_attendance(db.session, ts, marks, pages.acting_user(), note=note)
    except DomainError as err:
        pages.fail(err)
        return pages.render_session(
            ts, err.status_code, note_error=err.message if err.field == "note" else None
        )
    if written:
        flash(
            ngettext(
                "%(num)d attendance mark was saved.",
                "%(num)d attendance marks were saved.",
                len(written),
            ),
            "success",
        )
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for("sessions.show", session_id=ts.id) + "#attendance")


@bp.route("/<int:session_id>/walk-in", methods=["POST"])
@requires("sessions.run")
def walk_in(session_id: int):
    ts = services.managed_session(db.session, current_user, session_id)
    form = WalkInForm(prefix="walkin")
    form.user_id.choices = pages.people_choices(set())
    if not form.validate_on_submit():
        return pages.render_session(ts, 400, walk_in_form=form)
    try:
        enrolment = services.add_walk_in(
            db.session, ts, form.user_id.data, pages.acting_user(), status=form.status.data
        )
    except DomainError as err:
        pages.fail(err, form)
        return pages.render_session(ts, err.status_code, walk_in_form=form)
    flash(_("%(name)s was added as a walk-in.", name=enrolment.user.name), "success")
    return redirect(url_for("sessions.show", session_id=ts.id) + "#attendance")


# ----- acknowledgments ------------------------------------------------------------------------


@bp.route("/<int:session_id>/sheet")
@requires("sessions.run")
def sheet(session_id: int):
    """Sign-in sheet mode: the instructor's device goes round, each attendee confirms."""
    ts = services.managed_session(db.session, current_user, session_id)
    roster = queries.roster(db.session, ts)
    return render_template(
        "sessions/sheet.html",
        ts=ts,
        roster=roster,
        labels=labels,
        pick=pick,
        lang=pages.lang(),
        attendance_open=services.attendance_open(ts),
    )


@bp.route("/<int:session_id>/sheet/<int:enrolment_id>", methods=["GET", "POST"])
@requires("sessions.run")
@limiter.limit("30 per minute", methods=["POST"])
def sheet_ack(session_id: int, enrolment_id: int):
    ts = services.managed_session(db.session, current_user, session_id)
    enrolment = services.session_enrolment(db.session, ts, enrolment_id)
    form = SheetAckForm()
    status = 200
    if form.validate_on_submit():
        try:
            ack = services.acknowledge(
                db.session,
                enrolment,
                actor=pages.acting_user(),
                method=form.method.data,
                secret=form.secret.data or "",
            )
        except DomainError as err:
            pages.fail(err, form)
            status = err.status_code
        else:
            flash(_("%(name)s acknowledged the briefing.", name=ack.printed_name), "success")
            return redirect(url_for("sessions.sheet", session_id=ts.id))
    elif request.method == "POST":
        status = 400
    form.secret.data = ""
    return render_template(
        "sessions/sheet_ack.html",
        ts=ts,
        enrolment=enrolment,
        person=enrolment.user,
        form=form,
        pick=pick,
        lang=pages.lang(),
        program_labels=program_labels,
    ), status


@bp.route("/enrolments/<int:enrolment_id>/acknowledge", methods=["POST"])
@requires("login")
def acknowledge(enrolment_id: int):
    """The attendee, signed in on their own account, confirms the briefing."""
    enrolment = services.own_enrolment(db.session, current_user, enrolment_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.acknowledge(db.session, enrolment, actor=pages.acting_user(), method="account")
    except DomainError as err:
        pages.fail(err)
        ts = services.get_session(db.session, enrolment.session_id)
        return pages.render_session(ts, err.status_code)
    flash(_("Thank you: your acknowledgment was recorded."), "success")
    return redirect(url_for("sessions.show", session_id=enrolment.session_id))


# ----- the conduct signature ------------------------------------------------------------------


@bp.route("/<int:session_id>/sign", methods=["GET", "POST"])
@requires("sessions.run")
def sign(session_id: int):
    ts = services.managed_session(db.session, current_user, session_id)
    form = SignForm()
    status = 200
    if form.validate_on_submit():
        try:
            sig = services.sign_conducted(db.session, ts, pages.acting_user(), form.password.data)
        except DomainError as err:
            pages.fail(err, form)
            status = err.status_code
        else:
            if sig.supersedes_id:
                flash(
                    _("You signed the session again; the new signature replaces the old one."),
                    "success",
                )
            else:
                flash(_("You signed the session as conducted."), "success")
            return redirect(url_for("sessions.show", session_id=ts.id))
    elif request.method == "POST":
        status = 400
    roster = queries.roster(db.session, ts)
    return render_template(
        "sessions/sign.html",
        ts=ts,
        form=form,
        roster=roster,
        sig_state=services.signature_state(db.session, ts, roster),
        labels=labels,
        pick=pick,
        lang=pages.lang(),
    ), status
