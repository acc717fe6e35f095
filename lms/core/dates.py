"""The named date and time styles: one way to write a date or a time per locale.

Every page, PDF, CSV and e-mail meant for a person writes dates through these styles (as the
Jinja filters of the same name, or these functions in Python), so one screen never mixes
"12/10/26" with "Dec 10, 2026". Seconds appear only where they matter: the moment of a
signature. Times are shown in the organisation's time zone (Flask-Babel's default zone).

The styles, by CLDR width (English / Latvian / Russian):
- ``date``: medium date, "Dec 10, 2026" / "2026. gada 10. dec." / "10 дек. 2026 г."
- ``date_long``: long date, for certificates and letters, "December 10, 2026".
- ``time``: short time, "10:00 AM" / "10:00".
- ``datetime``: medium date and short time, "Dec 10, 2026, 10:00 AM".
- ``signature_datetime``: medium date and time with seconds, "Dec 10, 2026, 10:00:05 AM".
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from functools import lru_cache

from babel import dates as babel_dates
from babel.dates import get_datetime_format
from flask_babel import format_date, format_time, get_locale, to_user_timezone

STYLES = ("date", "date_long", "time", "datetime", "signature_datetime")


def _join(day: str, clock: str) -> str:
    pattern = str(get_datetime_format("medium", locale=get_locale() or "en"))
    return pattern.replace("{1}", day).replace("{0}", clock).replace("'", "")


@lru_cache(maxsize=16384)
def _day(day: date, width: str, locale: str) -> str:
    """A calendar day in a CLDR width and locale: a pure function of its arguments, so a page
    of many rows formats each distinct day once (Babel parses the pattern on every call)."""
    return babel_dates.format_date(day, width, locale=locale)


def _format_day(value: date | datetime, width: str) -> str:
    """As ``flask_babel.format_date(value, width)``: a moment is first read in the user's time
    zone, then only its day is written."""
    if isinstance(value, datetime):
        value = to_user_timezone(value).date()
    return _day(value, width, str(get_locale() or "en"))


def fmt_date(value: date | datetime | None) -> str:
    return _format_day(value, "medium") if value else ""


def fmt_date_long(value: date | datetime | None) -> str:
    return _format_day(value, "long") if value else ""


def fmt_time(value: datetime | None) -> str:
    return format_time(value, "short") if value else ""


def fmt_datetime(value: datetime | None) -> str:
    if not value:
        return ""
    return _join(format_date(value, "medium"), format_time(value, "short"))


def fmt_signature_datetime(value: datetime | None) -> str:
    if not value:
        return ""
    return _join(format_date(value, "medium"), format_time(value, "medium"))


_ISO_STAMP = re.compile(
    r"\b(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)([+-]\d{2}:\d{2}|Z)?"
)


def fmt_stamps(text: str | None) -> str:
    """Text that Brigade wrote with ISO moments in it (older audit summaries), read in the
    ``datetime`` style; anything that is not a moment stays as written."""

    def one(m: re.Match[str]) -> str:
        try:
            moment = datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}{m.group(3) or '+00:00'}")
        except ValueError:
            return m.group(0)
        return fmt_datetime(moment.replace(tzinfo=moment.tzinfo or UTC))

    return _ISO_STAMP.sub(one, text or "")


FORMATTERS = {
    "date": fmt_date,
    "date_long": fmt_date_long,
    "time": fmt_time,
    "datetime": fmt_datetime,
    "signature_datetime": fmt_signature_datetime,
    "stamps": fmt_stamps,
}


def install(env) -> None:  # type: ignore[no-untyped-def]
    """Register the styles as Jinja filters (``{{ d|date }}``, ``{{ t|datetime }}``...)."""
    env.filters.update(FORMATTERS)
