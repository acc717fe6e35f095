"""Session pages for calendars (.ics) and the briefing journal with its exports.

They register on the sessions blueprint (lms.sessions.pages); lms.sessions.routes imports this module.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.core import audit, clock, texts
from lms.core.errors import DomainError, NotFound
from lms.core.permissions import public, requires
from lms.extensions import db, limiter
from lms.sessions import ics, journal, pages, queries, services
from lms.sessions.forms import (
    JournalForm,
)
from lms.sessions.models import TrainingSession
from lms.sessions.pages import bp

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
    user = queries.calendar_owner(db.session, token)
    if user is None:
        raise NotFound(_("No such calendar."))
    return _ics(ics.feed(db.session, user, _session_url), "brigade-sessions.ics")


@bp.route("/<int:session_id>/event.ics")
@requires("login")
def event_ics(session_id: int):
    ts = services.visible_session(db.session, current_user, session_id)
    own = queries.enrolment_of(db.session, ts.id, current_user.id)
    data = ics.single(
        ts,
        pages.lang(),
        _session_url(ts),
        waitlisted=own is not None and own.status == "waitlisted",
    )
    return _ics(data, f"session-{ts.id}.ics")


# ----- the briefing journal -------------------------------------------------------------------


def _journal_form() -> JournalForm:
    form = JournalForm(formdata=request.args)
    form.department_id.choices = pages.department_choices(_("All departments"))
    form.program_id.choices = pages.program_choices(_("All programs"))
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
        today = clock.local_today()
        form.date_from.data = today - timedelta(days=90)
        form.date_to.data = today
    filters = _journal_filters(form)
    if filters is None:
        return render_template("sessions/journal.html", form=form, rows=[], total=0), 400
    lang = pages.lang()
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
    lang = form.lang.data or pages.lang()
    if lang not in (*journal.LANGS, "bilingual"):
        lang = pages.lang()
    render, mimetype = journal.EXPORTS[fmt]
    data = render(db.session, filters, lang)
    audit.record(
        db.session,
        current_user.id,
        "export",
        "briefing_register",
        fmt,
        texts.stored("core.exported_in", format=fmt, language=lang),
        **filters.as_dict(),
    )
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{journal.filename(filters, fmt)}"'},
    )
