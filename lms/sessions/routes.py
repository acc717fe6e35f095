"""Scheduled sessions (briefings): enrolment, attendance, acknowledgments, journal, calendars."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from lms.cascade.services import teaching_options
from lms.core import clock, nav
from lms.core.errors import DomainError
from lms.core.http import id_arg, page_arg
from lms.core.i18n import pick
from lms.core.model import utcnow
from lms.core.pagination import paginate
from lms.core.permissions import requires
from lms.extensions import db

# attendance_routes and journal_routes hold the blueprint's other pages: importing them registers them
from lms.sessions import attendance_routes, journal_routes, labels, pages, queries, services  # noqa: F401
from lms.sessions.forms import (
    ActionForm,
    CancelForm,
    EditSessionForm,
    InviteDepartmentForm,
    InvitePersonForm,
    SessionForm,
)
from lms.sessions.pages import bp

# ----- lists ----------------------------------------------------------------------------------


@bp.route("/")
@requires("sessions.view_all")
def index():
    when = request.args.get("when", "upcoming")
    if when not in ("upcoming", "past", "all"):
        when = "upcoming"
    default_whose = "mine" if current_user.can("sessions.manage") else "all"
    whose = request.args.get("whose", default_whose)
    if whose not in ("mine", "all"):
        whose = default_whose
    status = request.args.get("status") or None
    if status not in labels.SESSION_STATUS_LABELS:
        status = None
    program_id = id_arg("program_id") or None
    stmt = queries.search_sessions(
        when=when,
        program_id=program_id,
        instructor_id=current_user.id if whose == "mine" else None,
        status=status,
    )
    page = paginate(db.session, stmt, page_arg(), 50, scalars=False)
    return render_template(
        "sessions/index.html",
        page=page,
        when=when,
        whose=whose,
        status=status,
        program_id=program_id,
        programs=pages.program_choices(),
        labels=labels,
        pick=pick,
        lang=pages.lang(),
        to_sign=queries.awaiting_signature(db.session, current_user.id),
    )


@bp.route("/mine")
@requires("login")
def mine():
    mine = queries.my_sessions(db.session, pages.acting_user())
    return render_template(
        "sessions/mine.html",
        mine=mine,
        labels=labels,
        pick=pick,
        lang=pages.lang(),
        action=ActionForm(),
        feed_url=url_for("sessions.calendar", token=current_user.calendar_token, _external=True),
    )


# ----- scheduling -----------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@requires("sessions.run")
def new():
    form = SessionForm()
    form.program_id.choices = pages.program_choices(_("Choose a program"))
    form.instructor_id.choices = pages.instructor_choices()
    form.department_id.choices = pages.department_choices(_("Any department"))
    if not current_user.can("sessions.manage"):
        # a designated responsible person: their own cascade programs and departments only
        options = teaching_options(db.session, current_user, clock.local_today())
        usable = [o for o in options if o.allowed]
        if not usable:
            page = render_template(
                "cascade/cannot_schedule.html", options=options, pick=pick, lang=pages.lang()
            )
            return page, 403 if request.method == "POST" else 200
        allowed_programs = {o.program.id for o in usable}
        allowed_depts = {d for o in usable for d in o.department_ids}
        form.program_id.choices = [
            c for c in form.program_id.choices if c[0] == 0 or c[0] in allowed_programs
        ]
        form.department_id.choices = [
            c for c in form.department_id.choices if c[0] in allowed_depts
        ]
        form.instructor_id.choices = [(current_user.id, current_user.name)]
    if request.method == "GET":
        form.instructor_id.data = current_user.id
        form.program_id.data = id_arg("program_id") or 0
        form.capacity.data = 20
        allowed = services.allowed_types_of(db.session, form.program_id.data)
        if allowed is not None:  # only the types the program's regimes allow
            form.briefing_type.choices = [
                c for c in form.briefing_type.choices if not c[0] or c[0] in allowed
            ]
    status = 200
    if form.validate_on_submit():
        try:
            created = services.schedule(
                db.session,
                program_id=form.program_id.data,
                instructor_id=form.instructor_id.data,
                starts_local=form.starts_at.data,
                ends_local=form.ends_at.data,
                place=form.place.data or "",
                capacity=form.capacity.data,
                notes=form.notes.data or "",
                open_signup=form.open_signup.data,
                department_id=form.department_id.data or None,
                repeat=form.repeat.data,
                count=form.count.data,
                until=form.until.data,
                actor=pages.acting_user(),
                event=services.BriefingEvent(
                    briefing_type=form.briefing_type.data or None,
                    reason=form.briefing_reason.data or "",
                    trigger=form.briefing_trigger.data or None,
                    permit=form.permit.data or "",
                ),
            )
        except DomainError as err:
            pages.fail(err, form)
            status = err.status_code
        else:
            flash(
                ngettext(
                    "%(num)d session was scheduled.",
                    "%(num)d sessions were scheduled.",
                    len(created),
                ),
                "success",
            )
            return redirect(url_for("sessions.show", session_id=created[0].id))
    elif request.method == "POST":
        status = 400
    return render_template(
        "sessions/form.html", form=form, ts=None, has_programs=len(form.program_id.choices) > 1
    ), status


@bp.route("/<int:session_id>/edit", methods=["GET", "POST"])
@requires("sessions.run")
def edit(session_id: int):
    ts = services.managed_session(db.session, current_user, session_id)
    form = EditSessionForm(obj=ts)
    form.instructor_id.choices = pages.instructor_choices(ts)
    allowed = services.allowed_types_of(db.session, ts.program_id) or {}
    form.briefing_type.choices = [
        c for c in form.briefing_type.choices if not c[0] or c[0] in allowed
    ]
    if request.method == "GET":
        form.briefing_type.data = ts.briefing_type or ""
        form.briefing_trigger.data = ts.briefing_trigger or ""
        form.starts_at.data = clock.to_local(ts.starts_at).replace(tzinfo=None)
        form.ends_at.data = clock.to_local(ts.ends_at).replace(tzinfo=None)
    status = 200
    if ts.status != "scheduled":
        flash(_("Only a scheduled session can be changed."), "error")
        return redirect(url_for("sessions.show", session_id=ts.id))
    if form.validate_on_submit():
        try:
            services.update_session(
                db.session,
                ts,
                instructor_id=form.instructor_id.data,
                starts_local=form.starts_at.data,
                ends_local=form.ends_at.data,
                place=form.place.data or "",
                capacity=form.capacity.data,
                notes=form.notes.data or "",
                open_signup=form.open_signup.data,
                actor=pages.acting_user(),
                event=services.BriefingEvent(
                    briefing_type=form.briefing_type.data or None,
                    reason=form.briefing_reason.data or "",
                    trigger=form.briefing_trigger.data or None,
                    permit=form.permit.data or "",
                ),
            )
        except DomainError as err:
            pages.fail(err, form)
            status = err.status_code
        else:
            flash(_("The session was saved."), "success")
            return redirect(url_for("sessions.show", session_id=ts.id))
    elif request.method == "POST":
        status = 400
    return render_template("sessions/form.html", form=form, ts=ts, has_programs=True), status


@bp.route("/<int:session_id>")
@requires("login")
def show(session_id: int):
    ts = services.visible_session(db.session, current_user, session_id)
    return pages.render_session(ts)


@bp.route("/<int:session_id>/cancel", methods=["POST"])
@requires("sessions.run")
def cancel(session_id: int):
    ts = services.managed_session(db.session, current_user, session_id)
    form = CancelForm(prefix="cancel")
    if not form.validate_on_submit():
        return pages.render_session(ts, 400, cancel_form=form)
    try:
        services.cancel_session(db.session, ts, form.reason.data, pages.acting_user())
    except DomainError as err:
        pages.fail(err, form)
        return pages.render_session(ts, err.status_code, cancel_form=form)
    flash(_("The session was cancelled and everyone enrolled was told."), "success")
    return redirect(url_for("sessions.show", session_id=ts.id))


def _invited_message(result: services.InviteResult) -> None:
    for _person, reason in result.refused:
        flash(reason, "error")
    flash(
        _(
            "Invited: %(enrolled)d enrolled, %(waitlisted)d on the waitlist, "
            "%(skipped)d already in the session or skipped.",
            enrolled=len(result.enrolled),
            waitlisted=len(result.waitlisted),
            skipped=len(result.skipped),
        ),
        "success",
    )


@bp.route("/<int:session_id>/invite/person", methods=["POST"])
@requires("sessions.run")
def invite_person(session_id: int):
    ts = services.managed_session(db.session, current_user, session_id)
    form = InvitePersonForm(prefix="invite")
    form.user_id.choices = pages.people_choices(set())
    if not form.validate_on_submit():
        return pages.render_session(ts, 400, person_form=form)
    try:
        result = services.invite_person(db.session, ts, form.user_id.data, pages.acting_user())
    except DomainError as err:
        pages.fail(err, form)
        return pages.render_session(ts, err.status_code, person_form=form)
    _invited_message(result)
    return redirect(url_for("sessions.show", session_id=ts.id) + "#enrolment")


@bp.route("/<int:session_id>/invite/department", methods=["POST"])
@requires("sessions.run")
def invite_department(session_id: int):
    ts = services.managed_session(db.session, current_user, session_id)
    form = InviteDepartmentForm(prefix="dept")
    form.department_id.choices = pages.department_choices(_("Choose a department"))
    if not form.validate_on_submit():
        return pages.render_session(ts, 400, dept_form=form)
    try:
        result = services.invite_department(
            db.session,
            ts,
            form.department_id.data,
            pages.acting_user(),
            include_sub=form.include_sub.data,
        )
    except DomainError as err:
        pages.fail(err, form)
        return pages.render_session(ts, err.status_code, dept_form=form)
    _invited_message(result)
    return redirect(url_for("sessions.show", session_id=ts.id) + "#enrolment")


@bp.route("/<int:session_id>/invite/due", methods=["POST"])
@requires("sessions.run")
def invite_due(session_id: int):
    ts = services.managed_session(db.session, current_user, session_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        result = services.invite_due(db.session, ts, pages.acting_user())
    except DomainError as err:
        pages.fail(err)
        return pages.render_session(ts, err.status_code)
    _invited_message(result)
    return redirect(url_for("sessions.show", session_id=ts.id) + "#enrolment")


@bp.route("/<int:session_id>/enrolments/<int:enrolment_id>/cancel", methods=["POST"])
@requires("sessions.run")
def remove_enrolment(session_id: int, enrolment_id: int):
    ts = services.managed_session(db.session, current_user, session_id)
    enrolment = services.session_enrolment(db.session, ts, enrolment_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        promoted = services.cancel_enrolment(db.session, enrolment, pages.acting_user())
    except DomainError as err:
        pages.fail(err)
        return pages.render_session(ts, err.status_code)
    flash(_("%(name)s was taken out of the session.", name=enrolment.user.name), "success")
    for e in promoted:
        flash(_("%(name)s moved up from the waitlist.", name=e.user.name), "info")
    return redirect(url_for("sessions.show", session_id=ts.id) + "#enrolment")


# ----- employees: sign up and leave -----------------------------------------------------------


@bp.route("/<int:session_id>/signup", methods=["POST"])
@requires("login")
def signup(session_id: int):
    ts = services.visible_session(db.session, current_user, session_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        enrolment = services.sign_up(db.session, ts.id, pages.acting_user())
    except DomainError as err:
        pages.fail(err)
        return pages.render_session(ts, err.status_code)
    if enrolment.status == "enrolled":
        flash(_("You are signed up."), "success")
    else:
        flash(_("The session is full: you are on the waitlist."), "info")
    return redirect(url_for("sessions.show", session_id=ts.id))


@bp.route("/enrolments/<int:enrolment_id>/leave", methods=["POST"])
@requires("login")
def leave(enrolment_id: int):
    enrolment = services.own_enrolment(db.session, current_user, enrolment_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.cancel_enrolment(db.session, enrolment, pages.acting_user())
    except DomainError as err:
        pages.fail(err)
        ts = services.get_session(db.session, enrolment.session_id)
        return pages.render_session(ts, err.status_code)
    flash(_("You have left the session."), "success")
    return redirect(url_for("sessions.mine"))


# ----- navigation and the start page ----------------------------------------------------------

nav.register(_l("Sessions"), "sessions.index", "sessions.view_all", order=20)
nav.register(_l("My sessions"), "sessions.mine", "login", order=21)
nav.register(_l("Briefing journal"), "sessions.journal_page", "sessions.view_all", order=22)
nav.register_home_panel("sessions/_home_panel.html", "login", order=20)
# a responsible person's rights to brief (the cascade's) and the sessions they run
nav.register_home_panel("cascade/_home.html", "login", order=8)


@bp.app_context_processor
def _home_context():
    def session_panel():
        if not current_user.is_authenticated:
            return None
        user = pages.acting_user()
        mine = queries.my_sessions(db.session, user)
        return {
            "upcoming": mine.upcoming[:3],
            "acks_due": mine.acks_due,
            "running": queries.upcoming_for_instructor(db.session, user.id, 3)
            if user.can("sessions.manage")
            else [],
            "to_sign": queries.awaiting_signature(db.session, user.id)
            if user.can("sessions.manage")
            else [],
        }

    def my_cascade():
        """The signed-in person's responsibilities and the sessions they run (home panel)."""
        if not current_user.is_authenticated:
            return None
        options = teaching_options(db.session, current_user, clock.local_today())
        if not options:
            return None
        upcoming = queries.taught_lately(db.session, current_user.id, utcnow())
        return {"options": options, "sessions": upcoming}

    return {"session_panel": session_panel, "my_cascade": my_cascade}
