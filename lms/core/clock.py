"""The organisation's clock: "now" and "today" in its time zone, and conversions.

Stored times are UTC; dates a person sees (due dates, completion dates, "today") are dates in
the organisation's time zone (LMS_TIMEZONE). Every domain takes "today" from here, so a page
opened at 01:00 in Riga and a reminder sent at the same moment agree on the date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

from lms.core.model import utcnow

DEFAULT_ZONE = "UTC"


def org_zone() -> ZoneInfo:
    """The organisation's time zone (LMS_TIMEZONE); UTC outside an application."""
    if not has_app_context():
        return ZoneInfo(DEFAULT_ZONE)
    return ZoneInfo(current_app.config["LMS_CONFIG"].timezone)


def to_utc(local: datetime) -> datetime:
    """A wall-clock time in the organisation's zone (naive or aware) as UTC."""
    if local.tzinfo is None:
        local = local.replace(tzinfo=org_zone())
    return local.astimezone(UTC)


def to_local(moment: datetime) -> datetime:
    """A UTC moment as the organisation's wall-clock time."""
    return moment.astimezone(org_zone())


def local_date(moment: datetime) -> date:
    """The organisation's calendar date at a moment."""
    return to_local(moment).date()


def local_now() -> datetime:
    """Now, as the organisation's wall-clock time (aware)."""
    return to_local(utcnow())


def local_today() -> date:
    """Today in the organisation's time zone: the one "today" of every domain."""
    return local_date(utcnow())


def day_bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """UTC bounds [start of first day, start of the day after last) in the organisation zone."""
    lo = to_utc(datetime.combine(first, time.min)) if first else None
    hi = to_utc(datetime.combine(last + timedelta(days=1), time.min)) if last else None
    return lo, hi
