"""Every page each role reaches, in Latvian and in Russian, carries no English word of Brigade's
own: not in the text, nor in a button's title, an aria-label, an alt text or a placeholder, nor
in the header rows of a CSV or XLSX export, nor in the text of a PDF; the error pages too.

The walk fills each route's path with real ids of the demo organisation (as the date-style walk
does). "English words of Brigade's own" are the words of its message catalogue, of the keys it
labels and of the demo's names, less the words its Latvian and Russian texts use as well
(tests/browser/test_words.py, ``brigade_english``)."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from pypdf import PdfReader

from lms.accounts.models import User
from lms.core.permissions import ROLES
from lms.extensions import db
from tests.browser.test_words import _words, brigade_english
from tests.core.test_fuzz import (
    ID_SOURCES,
    STRING_CHOICES,
    STRING_SOURCES,
    _known,
    _routes,
    _sign_in,
    load_demo,
)

ATTRIBUTES = ("title", "aria-label", "alt", "placeholder")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# pages that show messages exactly as they were sent, in the recipient's language then
AS_SENT = {"/compliance/notifications"}
# files whose words are a format's keys, read by a program (the HR import's column names and
# the values it accepts, documented in the README), not words of a page
FORMATS = {"/admin/hr-import/template.xlsx"}
# e-mail addresses and links are names, not words ("employee@demo.brigade.lv")
ADDRESS = re.compile(r"\S+@\S+|https?://\S+")
# codes an organisation gives (departments "OFF", "LOG"; programs): capitals, not words
CODE = re.compile(r"\b[A-Z][A-Z0-9_-]+\b")


class _Reader(HTMLParser):
    """The words a reader sees or hears: text outside script/style and the few attributes
    read aloud or shown on hover; a person's typed text in textareas and code is left out."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "textarea", "pre", "code"):
            self._skip += 1
        for name, value in attrs:
            if value and (name in ATTRIBUTES or (name == "value" and ("type", "submit") in attrs)):
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "textarea", "pre", "code") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def readable(html: str) -> list[str]:
    reader = _Reader()
    reader.feed(html)
    return [p.strip() for p in reader.parts if p.strip()]


def english_in(parts: list[str], english: set[str]) -> dict[str, str]:
    """Each English word found, with the text it stands in."""
    found: dict[str, str] = {}
    for part in parts:
        for word in sorted(_words(CODE.sub(" ", ADDRESS.sub(" ", part))) & english):
            found.setdefault(word, part[:120])
    return found


def _path(rule, ids, strings) -> str:
    def fill(m: re.Match) -> str:
        name = m.group(2)
        known = ids.get(name) or strings.get(name) or STRING_CHOICES.get(name) or [1]
        return str(known[0])

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", fill, rule.rule)


@pytest.fixture(scope="module")
def english() -> set[str]:
    return brigade_english()


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_a_role_in_latvian_and_russian(app, client, role, english):
    load_demo()
    ids = {name: _known(sql) for name, sql in ID_SOURCES.items()}
    strings = {name: _known(sql) for name, sql in STRING_SOURCES.items()}
    problems: dict[str, dict[str, str]] = {}
    pages = exports = 0
    for lang in ("lv", "ru"):
        db.session.execute(sa.update(User).values(locale=lang))
        db.session.commit()
        _sign_in(client, role)
        for rule, method in _routes(app):
            if method != "GET":
                continue
            path = _path(rule, ids, strings)
            resp = client.get(path, headers={"Accept-Language": lang})
            if path in AS_SENT | FORMATS or resp.status_code in (301, 302, 303):
                continue
            if resp.mimetype == "text/html":
                pages += 1
                found = english_in(readable(resp.get_data(as_text=True)), english)
            elif resp.mimetype == "text/csv" and resp.status_code == 200:
                exports += 1
                text = resp.get_data(as_text=True).lstrip("\ufeff")
                header = next(csv.reader(io.StringIO(text)), [])
                found = english_in(header, english)
            elif resp.mimetype == XLSX and resp.status_code == 200:
                exports += 1
                sheet = load_workbook(io.BytesIO(resp.data), read_only=True).active
                head = [str(v) for row in sheet.iter_rows(max_row=3, values_only=True) for v in row]
                found = english_in([v for v in head if v != "None"], english)
            elif resp.mimetype == "application/pdf" and resp.status_code == 200:
                exports += 1
                pages_text = [
                    p.extract_text() or "" for p in PdfReader(io.BytesIO(resp.data)).pages
                ]
                found = english_in(pages_text, english)
            else:
                continue
            if found:
                problems[f"{lang} {resp.status_code} {path}"] = found
    assert pages >= 10, pages
    if role in ("admin", "auditor"):
        assert exports >= 2, exports  # the walk reached exports: their headers were read
    assert not problems, "\n".join(
        f"{where}: {word!r} in {text!r}"
        for where, found in problems.items()
        for word, text in found.items()
    )


def test_the_reader_finds_words_in_text_and_attributes(english):
    parts = readable(
        '<p>Sveiki</p><button title="Delete" aria-label="Dzēst">x</button>'
        '<img alt="Logo"><input type="submit" value="Save"><textarea>typed words</textarea>'
    )
    assert "Delete" in parts and "Save" in parts and "typed words" not in parts
    assert set(english_in(parts, english)) >= {"delete", "save"}


@pytest.mark.parametrize("lang", ["lv", "ru"])
def test_every_error_page_in_latvian_and_russian(app, lang, english):
    """400, 401, 403, 404, 405, 409, 413, 429 and 500: the page a person lands on."""
    from flask import render_template
    from flask_babel import force_locale

    from lms.web import ERROR_TITLES, _error_messages

    with app.test_request_context(headers={"Accept-Language": lang}), force_locale(lang):
        messages = _error_messages()
        assert set(messages) == set(ERROR_TITLES)
        for code, message in messages.items():
            html = render_template("errors/error.html", code=code, message=message)
            assert english_in(readable(html), english) == {}, (code, message)


@pytest.mark.parametrize("lang", ["lv", "ru"])
def test_the_registers_in_latvian_and_russian(app, client, lang, english):
    """Each chosen register with the demo's entries: its page in the reader's language, its files
    in the regime's own language (a Latvian register in Latvian), signatures written in the
    named style and how they were given in words, never "2026-12-10 10:00 UTC (password)"."""
    from flask_babel import force_locale

    from lms.compliance import regimes
    from lms.registers.queries import STAMP_METHODS

    load_demo()
    db.session.execute(sa.update(User).values(locale=lang))
    db.session.commit()
    _sign_in(client, "admin")
    read = rows = stamped = 0
    problems: dict[str, dict[str, str]] = {}
    for regime in regimes.chosen(app.config):
        files = ("csv", "xlsx", "pdf") if regime.language != "en" else ()
        for path in (
            f"/registers/{regime.code}",
            *(f"/registers/{regime.code}.{f}" for f in files),
        ):
            resp = client.get(path, headers={"Accept-Language": lang})
            assert resp.status_code == 200, path
            read += 1
            if resp.mimetype == "text/html":
                html = resp.get_data(as_text=True)
                rows += html.count("<tr>")
                parts = readable(html)
                with app.test_request_context(), force_locale(lang):
                    said = [f"({m})" for m in map(str, STAMP_METHODS.values())]
                stamped += sum(html.count(m) for m in said)
            elif resp.mimetype == "text/csv":
                parts = [resp.get_data(as_text=True)]
            elif resp.mimetype == XLSX:
                sheet = load_workbook(io.BytesIO(resp.data), read_only=True).active
                parts = [str(v) for row in sheet.iter_rows(values_only=True) for v in row if v]
            else:
                parts = [p.extract_text() or "" for p in PdfReader(io.BytesIO(resp.data)).pages]
            text = " ".join(parts)
            assert " UTC (" not in text and not re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", text)
            found = english_in(parts, english)
            if found:
                problems[f"{lang} {path}"] = found
    assert read >= 2 and rows >= 3, (read, rows)
    assert stamped, "no signature in the registers: the walk proves nothing about them"
    assert not problems, "\n".join(
        f"{where}: {word!r} in {text!r}"
        for where, found in problems.items()
        for word, text in found.items()
    )
