"""Scheduled sessions (briefings): enrolment, attendance, acknowledgments, journal, calendars."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lms.accounts.services import department_tree
from lms.cascade.services import teaching_options
from lms.core import clock, nav
from lms.core.dates import fmt_datetime, fmt_time
from lms.core.errors import DomainError
from lms.core.forms import apply_domain_error
from lms.core.http import id_arg, page_arg
from lms.core.i18n import pick
from lms.core.model import utcnow
from lms.core.pagination import paginate
from lms.core.permissions import requires
from lms.extensions import db
from lms.programs import labels as program_labels
from lms.sessions import labels, queries, services
from lms.sessions.forms import (
    ActionForm,
    CancelForm,
    EditSessionForm,
    InviteDepartmentForm,
    InvitePersonForm,
    SessionForm,
    WalkInForm,
)
from lms.sessions.models import ATTENDANCE_STATUSES, TrainingSession

bp = Blueprint("sessions", __name__, url_prefix="/sessions")


def _lang() -> str:
    return str(get_locale() or "en")


def _user():
    return current_user._get_current_object()


@bp.app_template_filter("session_when")
def session_when(ts: TrainingSession) -> str:
    """The date and the times of a session in the organisation's zone, in the current locale."""
    if clock.local_date(ts.starts_at) == clock.local_date(ts.ends_at):
        return f"{fmt_datetime(ts.starts_at)}–{fmt_time(ts.ends_at)}"
    return f"{fmt_datetime(ts.starts_at)} – {fmt_datetime(ts.ends_at)}"


def _can_manage(ts: TrainingSession) -> bool:
    return services.can_manage_session(current_user, ts.program, ts.department_id)[0]


def _department_choices(blank: str) -> list[tuple[int, str]]:
    return [(0, blank)] + [
        (d.id, "\u2003" * depth + d.local_name) for d, depth in department_tree(db.session)
    ]


def _program_choices(blank: str | None = None) -> list[tuple[int, str]]:
    lang = _lang()
    out = [
        (p.id, f"{p.code}: {pick(v.title, lang)[0]}")
        for p, v in queries.approved_programs(db.session)
    ]
    return ([(0, blank)] if blank is not None else []) + out


def _instructor_choices(ts: TrainingSession | None = None) -> list[tuple[int, str]]:
    choices = [(u.id, u.name) for u in queries.instructors(db.session)]
    if ts is not None and ts.instructor_id not in {c[0] for c in choices}:
        choices.insert(0, (ts.instructor_id, ts.instructor.name))
    return choices


def _people_choices(exclude: set[int], only: set[int] | None = None) -> list[tuple[int, str]]:
    """Active people to choose from; `only`: the departments a responsible person briefs."""
    people = queries.active_people(db.session, only)
    return [(0, _("Choose a person"))] + [
        (uid, f"{name} ({title})" if title else name)
        for uid, name, title in people
        if uid not in exclude
    ]


def _fail(err: DomainError, form=None) -> None:
    """Undo the failed action and tell the person why (on the field when it names one)."""
    db.session.rollback()
    if form is None or not apply_domain_error(form, err):
        flash(err.message, "error")


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
        programs=_program_choices(),
        labels=labels,
        pick=pick,
        lang=_lang(),
        to_sign=queries.awaiting_signature(db.session, current_user.id),
    )


@bp.route("/mine")
@requires("login")
def mine():
    mine = queries.my_sessions(db.session, _user())
    return render_template(
        "sessions/mine.html",
        mine=mine,
        labels=labels,
        pick=pick,
        lang=_lang(),
        action=ActionForm(),
        feed_url=url_for("sessions.calendar", token=current_user.calendar_token, _external=True),
    )


# ----- scheduling -----------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@requires("sessions.run")
def new():
    form = SessionForm()
    form.program_id.choices = _program_choices(_("Choose a program"))
    form.instructor_id.choices = _instructor_choices()
    form.department_id.choices = _department_choices(_("Any department"))
    if not current_user.can("sessions.manage"):
        # a designated responsible person: their own cascade programs and departments only
        options = teaching_options(db.session, current_user, clock.local_today())
        usable = [o for o in options if o.allowed]
        if not usable:
            page = render_template(
                "cascade/cannot_schedule.html", options=options, pick=pick, lang=_lang()
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
                actor=_user(),
                event=services.BriefingEvent(
                    briefing_type=form.briefing_type.data or None,
                    reason=form.briefing_reason.data or "",
                    trigger=form.briefing_trigger.data or None,
                    permit=form.permit.data or "",
                ),
            )
        except DomainError as err:
            _fail(err, form)
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
    form.instructor_id.choices = _instructor_choices(ts)
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
                actor=_user(),
                event=services.BriefingEvent(
                    briefing_type=form.briefing_type.data or None,
                    reason=form.briefing_reason.data or "",
                    trigger=form.briefing_trigger.data or None,
                    permit=form.permit.data or "",
                ),
            )
        except DomainError as err:
            _fail(err, form)
            status = err.status_code
        else:
            flash(_("The session was saved."), "success")
            return redirect(url_for("sessions.show", session_id=ts.id))
    elif request.method == "POST":
        status = 400
    return render_template("sessions/form.html", form=form, ts=ts, has_programs=True), status


# ----- the session page -----------------------------------------------------------------------


def _show(ts: TrainingSession, status: int = 200, **forms):
    """The session page: what everyone may see, and the instructor's tools when allowed."""
    manage = _can_manage(ts)
    see_roster = manage or current_user.can("sessions.view_all")
    roster = queries.roster(db.session, ts) if see_roster else None
    counts = queries.counts(db.session, ts.id)
    own = queries.enrolment_of(db.session, ts.id, current_user.id)
    own_mark = own_ack = outcome = None
    waitlist_place = None
    if own is not None:
        own_mark = queries.current_marks(db.session, ts.id).get(own.id)
        own_ack = queries.current_acks(db.session, ts.id).get(own.id)
        outcome = services.attendance_outcome(db.session, ts, own.user_id, own_mark, own_ack)
        if own.status == "waitlisted":
            waitlist_place = queries.waitlist_place(db.session, own)
    today = clock.local_today()
    now = utcnow()
    attendance_open = services.attendance_open(ts)
    sig_state = services.signature_state(db.session, ts, roster) if roster is not None else None
    context = {
        "ts": ts,
        "manage": manage,
        "roster": roster,
        "counts": counts,
        "own": own,
        "own_mark": own_mark,
        "own_ack": own_ack,
        "outcome": outcome,
        "waitlist_place": waitlist_place,
        "own_ack_due": own is not None and queries.ack_due(ts, own, own_mark, own_ack, now),
        "enrollable": ts.status == "scheduled" and ts.starts_at > now,
        "attendance_open": attendance_open,
        "instructor_problem": services.instructor_problem(db.session, ts),
        "correcting": request.args.get("correct") == "1",
        "sig_state": sig_state,
        "signatures": list(ts.signatures) if see_roster else [],
        "corrections": queries.corrections(db.session, ts.id) if see_roster else [],
        "names": {
            r.enrolment.id: r.user.name
            for r in (roster.enrolled + roster.waitlisted + roster.cancelled if roster else [])
        },
        "labels": labels,
        "program_labels": program_labels,
        "pick": pick,
        "lang": _lang(),
        "action": ActionForm(),
        "statuses": ATTENDANCE_STATUSES,
    }
    if manage and ts.status != "cancelled":
        assert roster is not None  # a manager sees the roster
        context.update(
            cancel_form=forms.get("cancel_form") or CancelForm(prefix="cancel"),
            note_error=forms.get("note_error"),
        )
        # the invitation and walk-in forms list everyone who may attend (a responsible person:
        # their own unit only): build them only when they are shown
        unit = services.unit_ids(db.session, ts)
        if context["enrollable"]:
            taken = {r.user.id for r in roster.enrolled + roster.waitlisted} | {ts.instructor_id}
            person = forms.get("person_form") or InvitePersonForm(prefix="invite")
            person.user_id.choices = _people_choices(taken, unit)
            dept = forms.get("dept_form") or InviteDepartmentForm(prefix="dept")
            dept.department_id.choices = _department_choices(_("Choose a department"))
            if ts.department_id and not dept.department_id.data:
                dept.department_id.data = ts.department_id
            due_count = queries.due_count(db.session, ts.program, today)
            context.update(person_form=person, dept_form=dept, due_count=due_count)
        signed = sig_state is not None and sig_state.latest is not None
        if attendance_open and (not signed or context["correcting"]):
            enrolled_ids = {r.user.id for r in roster.enrolled} | {ts.instructor_id}
            walk_in = forms.get("walk_in_form") or WalkInForm(prefix="walkin")
            walk_in.user_id.choices = _people_choices(enrolled_ids, unit)
            context.update(walk_in_form=walk_in)
    return render_template("sessions/show.html", **context), status


@bp.route("/<int:session_id>")
@requires("login")
def show(session_id: int):
    ts = services.visible_session(db.session, current_user, session_id)
    return _show(ts)


@bp.route("/<int:session_id>/cancel", methods=["POST"])
@requires("sessions.run")
def cancel(session_id: int):
    ts = services.managed_session(db.session, current_user, session_id)
    form = CancelForm(prefix="cancel")
    if not form.validate_on_submit():
        return _show(ts, 400, cancel_form=form)
    try:
        services.cancel_session(db.session, ts, form.reason.data, _user())
    except DomainError as err:
        _fail(err, form)
        return _show(ts, err.status_code, cancel_form=form)
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
    form.user_id.choices = _people_choices(set())
    if not form.validate_on_submit():
        return _show(ts, 400, person_form=form)
    try:
        result = services.invite_person(db.session, ts, form.user_id.data, _user())
    except DomainError as err:
        _fail(err, form)
        return _show(ts, err.status_code, person_form=form)
    _invited_message(result)
    return redirect(url_for("sessions.show", session_id=ts.id) + "#enrolment")


@bp.route("/<int:session_id>/invite/department", methods=["POST"])
@requires("sessions.run")
def invite_department(session_id: int):
    ts = services.managed_session(db.session, current_user, session_id)
    form = InviteDepartmentForm(prefix="dept")
    form.department_id.choices = _department_choices(_("Choose a department"))
    if not form.validate_on_submit():
        return _show(ts, 400, dept_form=form)
    try:
        result = services.invite_department(
            db.session, ts, form.department_id.data, _user(), include_sub=form.include_sub.data
        )
    except DomainError as err:
        _fail(err, form)
        return _show(ts, err.status_code, dept_form=form)
    _invited_message(result)
    return redirect(url_for("sessions.show", session_id=ts.id) + "#enrolment")


@bp.route("/<int:session_id>/invite/due", methods=["POST"])
@requires("sessions.run")
def invite_due(session_id: int):
    ts = services.managed_session(db.session, current_user, session_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        result = services.invite_due(db.session, ts, _user())
    except DomainError as err:
        _fail(err)
        return _show(ts, err.status_code)
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
        promoted = services.cancel_enrolment(db.session, enrolment, _user())
    except DomainError as err:
        _fail(err)
        return _show(ts, err.status_code)
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
        enrolment = services.sign_up(db.session, ts.id, _user())
    except DomainError as err:
        _fail(err)
        return _show(ts, err.status_code)
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
        services.cancel_enrolment(db.session, enrolment, _user())
    except DomainError as err:
        _fail(err)
        ts = services.get_session(db.session, enrolment.session_id)
        return _show(ts, err.status_code)
    flash(_("You have left the session."), "success")
    return redirect(url_for("sessions.mine"))


# ----- navigation and the start page ----------------------------------------------------------

nav.register(_l("Sessions"), "sessions.index", "sessions.view_all", order=20)
nav.register(_l("My sessions"), "sessions.mine", "login", order=21)
nav.register(_l("Briefing journal"), "sessions.journal_page", "sessions.view_all", order=22)
nav.register_home_panel("sessions/_home_panel.html", "login", order=20)


@bp.app_context_processor
def _home_context():
    def session_panel():
        if not current_user.is_authenticated:
            return None
        user = _user()
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

    return {"session_panel": session_panel}


# the other pages of the blueprint, kept in their own modules (they import bp from here)
from lms.sessions import attendance_routes, journal_routes  # noqa: E402, F401
