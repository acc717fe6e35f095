"""Calendars (.ics, RFC 5545) with the icalendar package: a feed per person and one session.

Times are UTC; each session keeps one UID, and its SEQUENCE rises when the time, place or
instructor changes or it is cancelled, so calendar programs update the event in place.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Calendar, Event

from lms.accounts.models import User
from lms.core.i18n import pick
from lms.core.model import utcnow
from lms.programs.labels import BRIEFING_LABELS
from lms.sessions import queries
from lms.sessions.models import Enrolment, TrainingSession

PRODID = "-//Brigade//Training sessions//EN"
FEED_PAST_DAYS = 180


def uid(ts: TrainingSession) -> str:
    return f"brigade-session-{ts.id}@brigade.lms"


def _calendar(name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    return cal


def event(ts: TrainingSession, locale: str, url: str, waitlisted: bool = False) -> Event:
    """One session as a VEVENT, its texts in the locale."""
    title = pick(ts.version.title, locale)[0]
    ev = Event()
    ev.add("uid", uid(ts))
    ev.add("dtstamp", utcnow().replace(microsecond=0))
    ev.add("dtstart", ts.starts_at)
    ev.add("dtend", ts.ends_at)
    ev.add("last-modified", (ts.updated_at or ts.created_at).replace(microsecond=0))
    ev.add("sequence", ts.sequence)
    with force_locale(locale):
        summary = f"{ts.program.code}: {title}"
        if ts.status == "cancelled":
            summary = _("Cancelled: %(title)s", title=summary)
        elif waitlisted:
            summary = _("Waitlisted: %(title)s", title=summary)
        lines = [
            str(BRIEFING_LABELS.get(ts.version.briefing_type, ts.version.briefing_type)),
            _("Instructor: %(name)s", name=ts.instructor.name),
        ]
        if ts.notes:
            lines.append(ts.notes)
        if ts.status == "cancelled" and ts.cancel_reason:
            lines.append(_("Reason: %(reason)s", reason=ts.cancel_reason))
    ev.add("summary", summary)
    ev.add("description", "\n".join([*lines, url]))
    if ts.place:
        ev.add("location", ts.place)
    ev.add("url", url)
    if ts.status == "cancelled":
        ev.add("status", "CANCELLED")
    elif waitlisted:
        ev.add("status", "TENTATIVE")
    else:
        ev.add("status", "CONFIRMED")
    return ev


def feed(session, user: User, url_for_session, now: datetime | None = None) -> bytes:
    """A person's feed: sessions they are enrolled or waitlisted in, and those they run."""
    now = now or utcnow()
    locale = user.locale or "en"
    sessions = queries.calendar_sessions(session, user, now - timedelta(days=FEED_PAST_DAYS))
    statuses = dict(
        session.execute(
            sa.select(Enrolment.session_id, Enrolment.status).where(
                Enrolment.user_id == user.id,
                Enrolment.session_id.in_([ts.id for ts in sessions] or [0]),
            )
        ).all()
    )
    with force_locale(locale):
        name = _("Brigade: sessions of %(name)s", name=user.name)
    cal = _calendar(name)
    for ts in sessions:
        waiting = ts.instructor_id != user.id and statuses.get(ts.id) == "waitlisted"
        cal.add_component(event(ts, locale, url_for_session(ts), waitlisted=waiting))
    return cal.to_ical()


def single(ts: TrainingSession, locale: str, url: str, waitlisted: bool = False) -> bytes:
    cal = _calendar(f"{ts.program.code}")
    cal.add_component(event(ts, locale, url, waitlisted=waitlisted))
    return cal.to_ical()
