"""The exam pages' shared parts: the blueprint, small parsing helpers, and the exam page itself
(rendered again with a failed form by the planning, journal and results routes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, flash, render_template
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from lms.accounts.models import User
from lms.core.errors import DomainError
from lms.core.forms import apply_domain_error
from lms.core.i18n import pick
from lms.core.model import utcnow
from lms.exams import access_journal, journal, labels, protocol, queries, services
from lms.exams.forms import (
    AccessForm,
    ActionForm,
    AppointForm,
    CandidateForm,
    ExitForm,
    OpenForm,
)
from lms.exams.models import ExamSession
from lms.extensions import db

bp = Blueprint("exams", __name__, url_prefix="/exams")


def lang() -> str:
    return str(get_locale() or "en")


def acting_user() -> User:
    return current_user._get_current_object()


def fail(err: DomainError, form: Any = None) -> None:
    """Undo the failed action and tell the person why (on the field when it names one)."""
    db.session.rollback()
    if form is None or not apply_domain_error(form, err):
        flash(err.message, "error")


def local_input(moment: datetime | None) -> datetime | None:
    return queries.to_local(moment).replace(tzinfo=None) if moment else None


def local_now() -> datetime:
    """Now, in the organisation's zone, to the minute (a form's default time)."""
    return queries.to_local(utcnow()).replace(tzinfo=None, second=0, microsecond=0)


def utc(local: datetime | None) -> datetime | None:
    return queries.to_utc(local) if local else None


def person_choices(blank: str) -> list[tuple[int, str]]:
    return [(0, blank)] + [
        (u.id, f"{u.name} ({u.local_job_title})" if u.job_title else u.name)
        for u in queries.people(db.session)
    ]


def person(user_id: int | None) -> User:
    user = queries.person(db.session, user_id)
    if user is None:
        raise DomainError(_("Choose a person."), field="user_id")
    return user


def render_show(exam: ExamSession, status: int = 200, **forms: Any):
    user = acting_user()
    mine = services.roles_in(exam, user.id)
    done = services.ticks(db.session, exam.id)
    lines = access_journal.current_access(db.session, exam.id)
    results = protocol.current_results(db.session, exam.id)
    sigs = protocol.signatures(db.session, exam.id)
    people = person_choices(_("Choose a person"))
    appoint = forms.get("appoint") or AppointForm(formdata=None)
    appoint.user_id.choices = people
    candidate = forms.get("candidate") or CandidateForm(formdata=None, prefix="candidate")
    candidate.user_id.choices = people
    access = forms.get("access") or AccessForm(formdata=None, prefix="access", time_in=local_now())
    access.person_id.choices = [(0, _("Someone without an account"))] + people[1:]
    everyone = services.may_see_everyone(exam, user)
    candidates = [c for c in exam.candidates if everyone or c.user_id == user.id]
    if not everyone:
        lines = [e for e in lines if e.person_id == user.id]
    admitted = protocol.admission(db.session, exam.program_id, [c.user_id for c in candidates])
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
        own_line=access_journal.open_self_sign_in(db.session, exam, user.id),
        results=results,
        attempts=queries.quiz_attempts(db.session, exam),
        sigs=sigs,
        signed_by={s.signer_id for s in sigs},
        complete=protocol.protocol_complete(db.session, exam),
        blockers=protocol.protocol_blockers(db.session, exam),
        admitted=admitted,
        appoint=appoint,
        candidate=candidate,
        access=access,
        open_form=forms.get("open_form") or OpenForm(formdata=None),
        tick_errors=forms.get("tick_errors", {}),
        action=ActionForm(),
        exit_form=ExitForm(formdata=None, time_out=local_now()),
        labels=labels,
        stamp=queries.stamp,
        pick=pick,
        lang=lang(),
        exports=journal.EXPORTS,
    ), status
