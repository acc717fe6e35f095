"""The session pages' shared parts: the blueprint, the choice lists of their forms, the failure
helper and the session page itself (rendered again with a failed form by the enrolment,
attendance and signing routes). routes.py, attendance_routes.py and journal_routes.py register
their pages on this blueprint."""

from __future__ import annotations

from flask import Blueprint, flash, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from lms.accounts.services import department_tree
from lms.core import clock
from lms.core.dates import fmt_datetime, fmt_time
from lms.core.errors import DomainError
from lms.core.forms import apply_domain_error
from lms.core.i18n import pick
from lms.core.model import utcnow
from lms.extensions import db
from lms.programs import labels as program_labels
from lms.sessions import labels, queries, services
from lms.sessions.forms import (
    ActionForm,
    CancelForm,
    InviteDepartmentForm,
    InvitePersonForm,
    WalkInForm,
)
from lms.sessions.models import ATTENDANCE_STATUSES, TrainingSession

bp = Blueprint("sessions", __name__, url_prefix="/sessions")


def lang() -> str:
    return str(get_locale() or "en")


def acting_user():
    return current_user._get_current_object()


@bp.app_template_filter("session_when")
def session_when(ts: TrainingSession) -> str:
    """The date and the times of a session in the organisation's zone, in the current locale."""
    if clock.local_date(ts.starts_at) == clock.local_date(ts.ends_at):
        return f"{fmt_datetime(ts.starts_at)}–{fmt_time(ts.ends_at)}"
    return f"{fmt_datetime(ts.starts_at)} – {fmt_datetime(ts.ends_at)}"


def can_manage(ts: TrainingSession) -> bool:
    return services.can_manage_session(current_user, ts.program, ts.department_id)[0]


def department_choices(blank: str) -> list[tuple[int, str]]:
    return [(0, blank)] + [
        (d.id, "\u2003" * depth + d.local_name) for d, depth in department_tree(db.session)
    ]


def program_choices(blank: str | None = None) -> list[tuple[int, str]]:
    language = lang()
    out = [
        (p.id, f"{p.code}: {pick(v.title, language)[0]}")
        for p, v in queries.approved_programs(db.session)
    ]
    return ([(0, blank)] if blank is not None else []) + out


def instructor_choices(ts: TrainingSession | None = None) -> list[tuple[int, str]]:
    choices = [(u.id, u.name) for u in queries.instructors(db.session)]
    if ts is not None and ts.instructor_id not in {c[0] for c in choices}:
        choices.insert(0, (ts.instructor_id, ts.instructor.name))
    return choices


def people_choices(exclude: set[int], only: set[int] | None = None) -> list[tuple[int, str]]:
    """Active people to choose from; `only`: the departments a responsible person briefs."""
    people = queries.active_people(db.session, only)
    return [(0, _("Choose a person"))] + [
        (uid, f"{name} ({title})" if title else name)
        for uid, name, title in people
        if uid not in exclude
    ]


def fail(err: DomainError, form=None) -> None:
    """Undo the failed action and tell the person why (on the field when it names one)."""
    db.session.rollback()
    if form is None or not apply_domain_error(form, err):
        flash(err.message, "error")


# ----- the session page -----------------------------------------------------------------------


def render_session(ts: TrainingSession, status: int = 200, **forms):
    """The session page: what everyone may see, and the instructor's tools when allowed."""
    manage = can_manage(ts)
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
        "lang": lang(),
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
            person.user_id.choices = people_choices(taken, unit)
            dept = forms.get("dept_form") or InviteDepartmentForm(prefix="dept")
            dept.department_id.choices = department_choices(_("Choose a department"))
            if ts.department_id and not dept.department_id.data:
                dept.department_id.data = ts.department_id
            due_count = queries.due_count(db.session, ts.program, today)
            context.update(person_form=person, dept_form=dept, due_count=due_count)
        signed = sig_state is not None and sig_state.latest is not None
        if attendance_open and (not signed or context["correcting"]):
            enrolled_ids = {r.user.id for r in roster.enrolled} | {ts.instructor_id}
            walk_in = forms.get("walk_in_form") or WalkInForm(prefix="walkin")
            walk_in.user_id.choices = people_choices(enrolled_ids, unit)
            context.update(walk_in_form=walk_in)
    return render_template("sessions/show.html", **context), status
