"""One date and time style: every page each role reaches, in English, writes dates one way.

The walk fills each route's path with real ids of the demo organisation (as the fuzzing walk
does) and reads the visible text of every HTML page. Allowed: the named styles of
lms.core.dates (medium date "Dec 10, 2026", short time "10:00 AM", seconds only in a
signature's moment). Refused: numeric dates ("12/10/26"), ISO stamps ("2026-12-10 10:00"),
weekday dates, long month dates on a page, and seconds anywhere else.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from lms.accounts.models import User
from lms.core import dates
from lms.core.permissions import ROLES
from lms.extensions import db
from tests.core.test_fuzz import ID_SOURCES, STRING_SOURCES, _known, _routes, _sign_in, load_demo

MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
LONG = "January|February|March|April|June|July|August|September|October|November|December"
MEDIUM_DATE = re.compile(rf"\b(?:{MONTHS}) \d{{1,2}}, \d{{4}}\b")
SIGNATURE = re.compile(rf"\b(?:{MONTHS}) \d{{1,2}}, \d{{4}}, \d{{1,2}}:\d{{2}}:\d{{2}}\s[AP]M")
FORBIDDEN = {
    "numeric date": re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b"),
    "ISO stamp": re.compile(r"\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}"),
    "ISO date": re.compile(r"(?<![\w/-])\d{4}-\d{2}-\d{2}(?![\w/-])"),
    "weekday date": re.compile(r"\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), "),
    "long date": re.compile(rf"\b(?:{LONG}) \d{{1,2}}, \d{{4}}\b"),
    "24-hour time in English": re.compile(r"\b\d{1,2}:\d{2}(?!:|\d|\s?[AP]M)"),
}
# pages that show messages exactly as they were sent, in the recipient's language then
AS_SENT = {"/compliance/notifications"}
SECONDS = re.compile(r"\b\d{1,2}:\d{2}:\d{2}\b")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "textarea", "pre", "code"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "textarea", "pre", "code") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _visible(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def style_problems(text: str) -> list[str]:
    out = []
    without_signatures = SIGNATURE.sub("", text)
    for name, pattern in FORBIDDEN.items():
        for m in pattern.finditer(without_signatures):
            out.append(f"{name}: {without_signatures[max(0, m.start() - 30) : m.end() + 10]!r}")
    for m in SECONDS.finditer(without_signatures):
        out.append(f"seconds outside a signature: {m.group(0)!r}")
    return out


def test_the_named_styles_in_english(app):
    moment = datetime(2026, 12, 10, 8, 0, 5, tzinfo=UTC)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        app.config["LMS_CONFIG"]  # the organisation's zone decides the wall clock
        assert dates.fmt_date(date(2026, 12, 10)) == "Dec 10, 2026"
        assert dates.fmt_date_long(date(2026, 12, 10)) == "December 10, 2026"
        text = dates.fmt_datetime(moment)
        assert MEDIUM_DATE.search(text) and not SECONDS.search(text), text
        assert SIGNATURE.fullmatch(dates.fmt_signature_datetime(moment))
        assert style_problems(f"{text} · {dates.fmt_signature_datetime(moment)}") == []
        assert style_problems("12/10/26, 10:00 AM") != []
        assert style_problems("Dec 10, 2026, 10:00:00 AM alone") == []  # a signature's moment
        assert style_problems("2026-12-10 10:00") != []


@pytest.mark.parametrize("lang", ["en", "lv", "ru"])
def test_days_are_written_as_flask_babel_writes_them(app, lang):
    """The styles format each distinct day once (memoised): the text is what
    flask_babel.format_date writes, in every language, and a moment near midnight UTC is
    the day of the organisation's zone."""
    from flask_babel import format_date, refresh

    moments = [
        datetime(2026, m, d, h, 30, tzinfo=UTC)
        for m in (1, 6, 12)
        for d in (1, 28)
        for h in (0, 21, 23)
    ]
    days = [date(2025, m, d) for m in range(1, 13) for d in (1, 15, 28)]
    with app.test_request_context(headers={"Accept-Language": lang}):
        refresh()
        for value in [*days, *moments]:
            assert dates.fmt_date(value) == format_date(value, "medium"), value
            assert dates.fmt_date_long(value) == format_date(value, "long"), value
        assert dates.fmt_date(None) == dates.fmt_date_long(None) == ""


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_a_role_writes_dates_one_way(app, client, role):
    load_demo()
    db.session.execute(sa.update(User).values(locale="en"))  # the demo people read English
    db.session.commit()
    ids = {name: _known(sql) for name, sql in ID_SOURCES.items()}
    strings = {name: _known(sql) for name, sql in STRING_SOURCES.items()}
    _sign_in(client, role)
    problems: dict[str, list[str]] = {}
    pages = dated = 0
    for rule, method in _routes(app):
        if method != "GET":
            continue
        path = re.sub(
            r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>",
            lambda m: str(((ids.get(m.group(2)) or strings.get(m.group(2))) or [1])[0]),
            rule.rule,
        )
        resp = client.get(path, headers={"Accept-Language": "en"})
        if resp.status_code != 200 or resp.mimetype != "text/html" or path in AS_SENT:
            continue
        pages += 1
        text = _visible(resp.get_data(as_text=True))
        dated += bool(MEDIUM_DATE.search(text))
        found = style_problems(text)
        if found:
            problems[path] = found[:3]
    assert pages >= 5, pages
    assert dated >= 1, "no page showed a date: the walk proves nothing"
    assert not problems, problems
