"""Scheduled sessions (briefings): enrolment, attendance, acknowledgments, journal, calendars."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date, format_datetime, format_time, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lms.accounts.models import User, UserRole
from lms.accounts.services import department_tree
from lms.core import nav
from lms.core.errors import DomainError, NotFound
from lms.core.forms import apply_domain_error
from lms.core.http import id_arg, page_arg
from lms.core.i18n import pick
from lms.core.model import utcnow
from lms.core.pagination import paginate
from lms.core.permissions import public, requires
from lms.extensions import db, limiter
from lms.programs import labels as program_labels
from lms.sessions import ics, journal, labels, queries, services
from lms.sessions.forms import (
    ActionForm,
    CancelForm,
    EditSessionForm,
    InviteDepartmentForm,
    InvitePersonForm,
    JournalForm,
    SessionForm,
    SheetAckForm,
    SignForm,
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
    if queries.local_date(ts.starts_at) == queries.local_date(ts.ends_at):
        return (
            f"{format_date(ts.starts_at, 'full')}, "
            f"{format_time(ts.starts_at, 'short')}–{format_time(ts.ends_at, 'short')}"
        )
    return f"{format_datetime(ts.starts_at, 'medium')} – {format_datetime(ts.ends_at, 'medium')}"


def _can_manage(ts: TrainingSession) -> bool:
    return services.can_manage_session(current_user, ts.program, ts.department_id)[0]


def _department_choices(blank: str) -> list[tuple[int, str]]:
    return [(0, blank)] + [
        (d.id, "\u2003" * depth + d.name) for d, depth in department_tree(db.session)
    ]


def _program_choices(blank: str | None = None) -> list[tuple[int, str]]:
    lang = _lang()
    out = [
        (p.id, f"{p.code}: {pick(v.title, lang)[0]}")
        for p, v in queries.approved_programs(db.session)
    ]
    return ([(0, blank)] if blank is not None else []) + out


def _instructor_choices(ts: TrainingSession | None = None) -> list[tuple[int, str]]:
    people = db.session.execute(
        sa.select(User)
        .where(
            User.active.is_(True),
            User.id.in_(
                sa.select(UserRole.user_id).where(UserRole.role.in_(("instructor", "admin")))
            ),
        )
        .order_by(User.name)
    ).scalars()
    choices = [(u.id, u.name) for u in people]
    if ts is not None and ts.instructor_id not in {c[0] for c in choices}:
        choices.insert(0, (ts.instructor_id, ts.instructor.name))
    return choices


def _people_choices(exclude: set[int]) -> list[tuple[int, str]]:
    people = db.session.execute(
        sa.select(User.id, User.name, User.job_title)
        .where(User.active.is_(True))
        .order_by(User.name)
    ).all()
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
        from lms.cascade.services import teaching_options

        options = teaching_options(db.session, current_user, queries.local_today())
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
    if request.method == "GET":
        form.starts_at.data = queries.to_local(ts.starts_at).replace(tzinfo=None)
        form.ends_at.data = queries.to_local(ts.ends_at).replace(tzinfo=None)
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
    own_mark = own_ack = None
    if own is not None:
        own_mark = queries.current_marks(db.session, ts.id).get(own.id)
        own_ack = queries.current_acks(db.session, ts.id).get(own.id)
    today = queries.local_today()
    now = utcnow()
    attendance_open = ts.status != "cancelled" and queries.local_date(ts.starts_at) <= today
    sig_state = services.signature_state(db.session, ts, roster) if roster is not None else None
    context = {
        "ts": ts,
        "manage": manage,
        "roster": roster,
        "counts": counts,
        "own": own,
        "own_mark": own_mark,
        "own_ack": own_ack,
        "own_ack_due": own is not None and queries.ack_due(ts, own, own_mark, own_ack, now),
        "enrollable": ts.status == "scheduled" and ts.starts_at > now,
        "attendance_open": attendance_open,
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
        context.update(
            cancel_form=forms.get("cancel_form") or CancelForm(prefix="cancel"),
            note_error=forms.get("note_error"),
        )
        # the invitation and walk-in forms list everyone: build them only when they are shown
        if context["enrollable"]:
            taken = {r.user.id for r in roster.enrolled + roster.waitlisted} | {ts.instructor_id}
            person = forms.get("person_form") or InvitePersonForm(prefix="invite")
            person.user_id.choices = _people_choices(taken)
            dept = forms.get("dept_form") or InviteDepartmentForm(prefix="dept")
            dept.department_id.choices = _department_choices(_("Choose a department"))
            if ts.department_id and not dept.department_id.data:
                dept.department_id.data = ts.department_id
            due_stmt = queries.due_stmt(db.session, ts.program, today)
            due_count = (
                db.session.execute(
                    sa.select(sa.func.count()).select_from(due_stmt.subquery())
                ).scalar_one()
                if due_stmt is not None
                else 0
            )
            context.update(person_form=person, dept_form=dept, due_count=due_count)
        signed = sig_state is not None and sig_state.latest is not None
        if attendance_open and (not signed or context["correcting"]):
            enrolled_ids = {r.user.id for r in roster.enrolled} | {ts.instructor_id}
            walk_in = forms.get("walk_in_form") or WalkInForm(prefix="walkin")
            walk_in.user_id.choices = _people_choices(enrolled_ids)
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
        written = services.mark_attendance(db.session, ts, marks, _user(), note=note)
    except DomainError as err:
        _fail(err)
        return _show(ts, err.status_code, note_error=err.message if err.field == "note" else None)
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
    form.user_id.choices = _people_choices(set())
    if not form.validate_on_submit():
        return _show(ts, 400, walk_in_form=form)
    try:
        enrolment = services.add_walk_in(
            db.session, ts, form.user_id.data, _user(), status=form.status.data
        )
    except DomainError as err:
        _fail(err, form)
        return _show(ts, err.status_code, walk_in_form=form)
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
        lang=_lang(),
        attendance_open=ts.status != "cancelled"
        and queries.local_date(ts.starts_at) <= queries.local_today(),
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
                actor=_user(),
                method=form.method.data,
                secret=form.secret.data or "",
            )
        except DomainError as err:
            if err.field == "secret":
                db.session.commit()  # keep the audit record of the failed attempt
            _fail(err, form)
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
        lang=_lang(),
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
        services.acknowledge(db.session, enrolment, actor=_user(), method="account")
    except DomainError as err:
        _fail(err)
        ts = services.get_session(db.session, enrolment.session_id)
        return _show(ts, err.status_code)
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
            sig = services.sign_conducted(db.session, ts, _user(), form.password.data)
        except DomainError as err:
            if err.field == "password":
                db.session.commit()  # keep the audit record of the failed attempt
            _fail(err, form)
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
        lang=_lang(),
    ), status


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


# ----- calendars ------------------------------------------------------------------------------


def _ics(data: bytes, name: str) -> Response:
    return Response(
        data,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, max-age=300",
        },
    )


def _session_url(ts: TrainingSession) -> str:
    return url_for("sessions.show", session_id=ts.id, _external=True)


@bp.route("/calendar/<token>.ics")
@public
@limiter.limit("60 per minute")
def calendar(token: str):
    """A person's private calendar feed; the token in the address is the only key."""
    if not token or len(token) > 64:
        raise NotFound(_("No such calendar."))
    user = db.session.execute(
        sa.select(User).where(User.calendar_token == token, User.active.is_(True))
    ).scalar_one_or_none()
    if user is None:
        raise NotFound(_("No such calendar."))
    return _ics(ics.feed(db.session, user, _session_url), "brigade-sessions.ics")


@bp.route("/<int:session_id>/event.ics")
@requires("login")
def event_ics(session_id: int):
    ts = services.visible_session(db.session, current_user, session_id)
    own = queries.enrolment_of(db.session, ts.id, current_user.id)
    data = ics.single(
        ts, _lang(), _session_url(ts), waitlisted=own is not None and own.status == "waitlisted"
    )
    return _ics(data, f"session-{ts.id}.ics")


# ----- the briefing journal -------------------------------------------------------------------


def _journal_form() -> JournalForm:
    form = JournalForm(formdata=request.args)
    form.department_id.choices = _department_choices(_("All departments"))
    form.program_id.choices = _program_choices(_("All programs"))
    return form


def _journal_filters(form: JournalForm) -> journal.Filters | None:
    if request.args and not form.validate():
        return None
    filters = journal.Filters(
        date_from=form.date_from.data,
        date_to=form.date_to.data,
        department_id=form.department_id.data or None,
        program_id=form.program_id.data or None,
    )
    if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
        form.date_to.errors = [_("The end of the period is before its start.")]
        return None
    return filters


@bp.route("/journal")
@requires("sessions.view_all")
def journal_page():
    form = _journal_form()
    if not request.args:
        today = queries.local_today()
        form.date_from.data = today - timedelta(days=90)
        form.date_to.data = today
    filters = _journal_filters(form)
    if filters is None:
        return render_template("sessions/journal.html", form=form, rows=[], total=0), 400
    lang = _lang()
    found = journal.rows(db.session, filters, limit=200)
    return render_template(
        "sessions/journal.html",
        form=form,
        headings=journal.headings(lang),
        rows=[journal.cells(r, lang) for r in found],
        total=journal.count(db.session, filters),
        shown=len(found),
    )


@bp.route("/journal.<fmt>")
@requires("sessions.view_all")
def journal_export(fmt: str):
    if fmt not in journal.EXPORTS:
        abort(404)
    form = _journal_form()
    filters = _journal_filters(form)
    if filters is None:
        raise DomainError(_("Check the dates of the period."))
    lang = form.lang.data or _lang()
    if lang not in (*journal.LANGS, "bilingual"):
        lang = _lang()
    render, mimetype = journal.EXPORTS[fmt]
    data = render(db.session, filters, lang)
    from lms.core import audit

    audit.record(
        db.session,
        current_user.id,
        "export",
        "briefing_register",
        fmt,
        f"{fmt} {lang}",
        **filters.as_dict(),
    )
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{journal.filename(filters, fmt)}"'},
    )


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
