"""Fuzzing that stays: every route in the URL map, for every role, with generated input.

First the walk reads every page once and collects its forms (where each posts, its fields,
the values it offers). Then, for each route and method, Hypothesis draws path arguments (real
ids of the demo organisation, zero, numbers out of the database's range, odd text), a query
string and a form body (the page's own fields with offered or hostile values, empty, huge,
unicode, control characters, numbers and dates out of range, wrong types, duplicated fields,
a stray file). Each answer must be below 500, and a GET, or a request that was refused, must
leave the signed records exactly as they were.

One example is a round over every route; ``make test`` runs ``LMS_FUZZ_EXAMPLES`` rounds per
role (by default 2, the same inputs each time), ``make fuzz`` many more with fresh randomness
(``LMS_FUZZ_RANDOM=1``). A failure names the role and the whole request.
"""

from __future__ import annotations

import io
import os
import re
import time
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from wtforms.fields.core import UnboundField

from lms.completions.issued import PDF_KIND as CERTIFICATE_PDF_KIND
from lms.core.documents import LEDGER_KIND as ISSUED_DOCUMENT_KIND
from lms.core.model import utcnow
from lms.core.permissions import ROLES
from lms.extensions import db
from tests.conftest import PASSWORD

EXAMPLES = int(os.environ.get("LMS_FUZZ_EXAMPLES", "2"))

# the records that are signed or hash-chained: nothing may add, change or remove them on a GET
# or on a request that was refused
SIGNED = {
    "ledger": "SELECT id, kind, entry_hash FROM ledger ORDER BY id",
    "program_signatures": "SELECT id FROM program_signatures ORDER BY id",
    "session_signatures": "SELECT id FROM session_signatures ORDER BY id",
    "session_attendance": "SELECT id FROM session_attendance ORDER BY id",
    "session_acknowledgments": "SELECT id FROM session_acknowledgments ORDER BY id",
    "completions": "SELECT id FROM completions ORDER BY id",
    "completion_revocations": "SELECT id FROM completion_revocations ORDER BY id",
    "certificates": "SELECT id, code, pdf_sha256 FROM certificates ORDER BY id",
}

# a demo person for each role (None: not signed in)
ROLE_LOGINS = {
    "admin": "admin",
    "instructor": "instructor",
    "manager": "head",
    "employee": "employee",
    "auditor": "auditor",
}
assert set(ROLE_LOGINS) == set(ROLES)

# which table holds the ids a path argument names
ID_SOURCES = {
    "program_id": "SELECT id FROM programs",
    "session_id": "SELECT id FROM training_sessions",
    "enrolment_id": "SELECT id FROM session_enrolments",
    "attempt_id": "SELECT id FROM learning_attempts",
    "cert_id": "SELECT id FROM certificates",
    "user_id": "SELECT id FROM users",
    "dept_id": "SELECT id FROM departments",
    "job_id": "SELECT id FROM export_jobs",
    "topic_id": "SELECT id FROM topics",
    "question_id": "SELECT id FROM questions",
    "attachment_id": "SELECT id FROM topic_attachments",
    "designation_id": "SELECT id FROM designations",
    "req_id": "SELECT id FROM requirements",
    "number": "SELECT number FROM program_versions",
    "position": "SELECT position FROM topics",
}
STRING_SOURCES = {
    "token": "SELECT calendar_token FROM users",
    "code": "SELECT code FROM certificates",
}
STRING_CHOICES = {
    "fmt": ["csv", "xlsx", "pdf", "ics", "CSV", "zip"],
    "what": ["matrix", "people", "other"],
}
QUERY_NAMES = [
    "page",
    "department",
    "program",
    "program_id",
    "person",
    "window",
    "version",
    "a",
    "b",
    "status",
    "q",
    "role",
    "whose",
    "when",
    "state",
    "lang",
    "content_lang",
    "next",
    "from",
    "to",
    "date_from",
    "date_to",
    "category",
    "briefing_type",
    "object_type",
    "object_id",
    "correct",
]

BIG = [2**31 - 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30, -(2**63) - 1]
numbers = st.one_of(
    st.integers(-5, 5),
    st.integers(-(2**90), 2**90),
    st.sampled_from(BIG),
).map(str)
dates = st.sampled_from(
    [
        "0001-01-01",
        "9999-12-31",
        "2026-02-30",
        "2026-13-01",
        "2026-06-01",
        "2026-06-01T10:00",
        "10:00",
        "99:99",
        "-1",
    ]
)
control = st.text(
    alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Zl", "Zp"]), max_size=8
)
unicode_text = st.text(max_size=40)
huge = st.sampled_from(["x" * 5000, "ā" * 70_000, '=HYPERLINK("http://evil.example")' * 500])
words = st.sampled_from(
    [
        "",
        " ",
        "y",
        "on",
        "1",
        "0",
        "true",
        "none",
        "null",
        "all",
        "mine",
        "en",
        "lv",
        "ru",
        "bilingual",
        "csv",
        "approved",
        "present",
        "absent",
        "password",
        "pin",
        "instructor",
        "admin",
        "/",
        "//evil.example",
        "https://evil.example/",
        "' OR 1=1 --",
        "<script>alert(1)</script>",
        "=cmd|' /C calc'!A0",
        PASSWORD,
    ]
)
values = st.one_of(words, numbers, dates, unicode_text, control, huge)


def _form_field_names() -> list[str]:
    """Every field name of every form in the application, with the prefixes the pages use."""
    from flask_wtf import FlaskForm

    names: set[str] = set()
    todo = list(FlaskForm.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        for attr in dir(cls):
            if isinstance(getattr(cls, attr, None), UnboundField):
                names.add(attr)
    prefixes = set()
    root = os.path.join(os.path.dirname(__file__), "..", "..", "lms")
    for folder, _dirs, files in os.walk(root):
        for f in files:
            if f.endswith(".py"):
                with open(os.path.join(folder, f), encoding="utf-8") as fh:
                    prefixes.update(re.findall(r'prefix="([\w-]+)"', fh.read()))
    out = set(names)
    out.update(f"{p}-{n}" for p in prefixes for n in names)
    out.update(f"{n}-0" for n in names)
    out.update(f"answers-{i}-{k}" for i in range(3) for k in ("correct", "text", "text_en"))
    return sorted(out)


class _Forms(HTMLParser):
    """The forms of a page: where each posts, its field names and the values the page offers."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.forms: list[tuple[str, dict[str, set[str]]]] = []
        self._fields: dict[str, set[str]] | None = None
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self._fields = {}
            self.forms.append((urlsplit(a.get("action") or self.page).path, self._fields))
        elif self._fields is not None and tag in ("input", "select", "textarea", "button"):
            if a.get("name"):
                self._current = a["name"]
                self._fields.setdefault(a["name"], set()).add(a.get("value") or "")
        elif self._fields is not None and tag == "option" and self._current:
            self._fields[self._current].add(a.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._fields = None


def _crawl_forms(app, client, routes, ids) -> dict[str, dict[str, list[str]]]:
    """Every form on every page the client can see (real ids): endpoint -> field -> values."""
    adapter = app.url_map.bind("localhost")
    out: dict[str, dict[str, set[str]]] = {}
    for rule, method in routes:
        if method != "GET" or rule.rule.endswith((".pdf", ".ics", ".csv", ".xlsx", ".zip")):
            continue
        path = re.sub(
            r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>",
            lambda m: str((ids.get(m.group(2)) or [1])[0]),
            rule.rule,
        )
        if "<" in path or "download" in path:
            continue
        resp = client.get(path)
        assert resp.status_code < 500, path
        if resp.status_code != 200 or resp.mimetype != "text/html":
            continue
        parser = _Forms(path)
        parser.feed(resp.get_data(as_text=True))
        for action, fields in parser.forms:
            try:
                endpoint, _args = adapter.match(action, method="POST")
            except Exception:
                continue
            target = out.setdefault(endpoint, {})
            for name, vals in fields.items():
                target.setdefault(name, set()).update(vals)
    return {e: {n: sorted(v) for n, v in f.items()} for e, f in out.items()}


def signed_state() -> dict[str, list[tuple]]:
    db.session.rollback()  # a fresh look, not this session's old snapshot
    out = {t: [tuple(r) for r in db.session.execute(sa.text(sql))] for t, sql in SIGNED.items()}
    db.session.rollback()
    return out


def changed(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> list[str]:
    """The signed tables that changed. Two changes are by design, each a new ledger entry
    that leaves every older one as it was: the first download of a certificate records the
    hash of its PDF once (``completions.services.record_pdf_hash``), and downloading a
    register PDF or an evidence pack issues a document kept as issued
    (``lms.core.documents``)."""
    out = []
    for table in SIGNED:
        old, new = before[table], after[table]
        if table == "ledger":
            known = set(old)
            new = [
                r
                for r in new
                if r in known or r[1] not in (CERTIFICATE_PDF_KIND, ISSUED_DOCUMENT_KIND)
            ]
        elif table == "certificates":
            first = {r[0]: r[2] for r in old}
            new = [(i, code, sha if first.get(i) is not None else None) for i, code, sha in new]
        if new != old:
            out.append(table)
    return out


def load_demo() -> None:
    from lms.demo import load_demo as load

    load(db.session, password=PASSWORD, echo=lambda _m: None)
    db.session.commit()


def _known(sql: str) -> list:
    return [r[0] for r in db.session.execute(sa.text(sql)).all()][:30]


def _routes(app) -> list[tuple[object, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "accounts.logout"):
            continue  # signing out is tested on its own, and would end the walk
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule, method))
    return sorted(out, key=lambda rm: (rm[0].rule, rm[1]))


def _sign_in(client, role: str | None) -> None:
    """Put the role's demo person in the client's session (no password round trip)."""
    from lms.accounts.models import User
    from lms.accounts.signin import SEEN
    from lms.demo import email_for

    user_id = None
    if role is not None:
        db.session.rollback()
        user = db.session.execute(
            sa.select(User).where(User.email == email_for(ROLE_LOGINS[role]))
        ).scalar_one()
        user_id = user.get_id()
        db.session.rollback()
    with client.session_transaction() as session:
        session.clear()
        if user_id is not None:
            session["_user_id"] = user_id
            session["_fresh"] = True
            session[SEEN] = int(utcnow().timestamp())


def _request(draw, rule, method, ids, strings, fields, page_forms):

    def fill(match: re.Match) -> str:
        conv, name = match.group(1) or "string", match.group(2)
        if conv.startswith("int"):
            choices = [st.sampled_from(BIG + [0, 1]).map(str), numbers]
            if ids.get(name):
                choices.insert(0, st.sampled_from(ids[name]).map(str))
            return draw(st.one_of(*choices))
        choices = [unicode_text.filter(bool), words.filter(bool)]
        if strings.get(name):
            choices.insert(0, st.sampled_from(strings[name]))
        if name in STRING_CHOICES:
            choices.insert(0, st.sampled_from(STRING_CHOICES[name]))
        return quote(draw(st.one_of(*choices)), safe="")

    path = re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", fill, rule.rule)
    keys = st.one_of(st.sampled_from(QUERY_NAMES), st.sampled_from(fields), unicode_text)
    query = draw(st.lists(st.tuples(keys, values), max_size=4))
    kwargs: dict = {"query_string": query}
    if method == "POST":
        body = draw(st.sampled_from(["form", "form", "form", "raw", "file", "empty"]))
        form_keys = st.one_of(st.sampled_from(fields), st.sampled_from(QUERY_NAMES))
        pairs = draw(st.lists(st.tuples(form_keys, values), max_size=4))
        known = page_forms.get(rule.endpoint)
        if known:
            # the form as the page offers it, each field a value the page offers or a hostile one
            for name in sorted(known):
                if draw(st.integers(0, 9)) == 0:
                    continue  # a field left out
                offered = [v for v in known[name] if v] or [""]
                pairs.append((name, draw(st.one_of(st.sampled_from(offered), values))))
        if pairs and draw(st.booleans()):
            pairs.append(pairs[0])  # a duplicated field
        if body == "form":
            kwargs["data"] = MultiDict(pairs)
        elif body == "file":
            content = draw(st.sampled_from([b"", b"%PDF-1.4\n%%EOF", b"\x00\xff" * 100]))
            name = draw(st.sampled_from(["file", "pdf", "upload", "attachment", "pack"]))
            kwargs["data"] = MultiDict([*pairs, (name, (io.BytesIO(content), "x.pdf"))])
        elif body == "raw":
            kwargs["data"] = draw(st.binary(max_size=200))
            kwargs["content_type"] = draw(
                st.sampled_from(
                    ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"]
                )
            )
    return path, kwargs


@pytest.mark.parametrize("role", [None, *ROLES])
def test_fuzz_every_route(app, client, role):
    load_demo()
    routes = _routes(app)
    ids = {name: _known(sql) for name, sql in ID_SOURCES.items()}
    strings = {name: _known(sql) for name, sql in STRING_SOURCES.items()}
    fields = _form_field_names()
    _sign_in(client, role)
    page_forms = _crawl_forms(app, client, routes, ids)  # the forms this role is shown
    assert len(page_forms) >= (20 if role == "admin" else 2), sorted(page_forms)
    seen: set[str] = set()
    timings: list[tuple[float, str, str]] = []
    statuses: dict[tuple[str, int], int] = {}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=os.environ.get("LMS_FUZZ_RANDOM") != "1",
        phases=[Phase.generate],  # the failing request is named in full; no shrinking
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def walk(data):
        """One example: every route once, each with its own generated input."""
        state: dict | None = signed_state()
        for rule, method in routes:
            path, kwargs = _request(data.draw, rule, method, ids, strings, fields, page_forms)
            _sign_in(client, role)
            before = state if state is not None else signed_state()
            state = None
            started = time.perf_counter()
            resp = client.open(path, method=method, **kwargs)
            timings.append((time.perf_counter() - started, method, path))
            statuses[(method, resp.status_code)] = statuses.get((method, resp.status_code), 0) + 1
            seen.add(rule.endpoint)
            what = (role, method, path, kwargs, resp.status_code)
            assert resp.status_code < 500, what
            if method == "GET" or resp.status_code >= 400:
                state = signed_state()
                assert not changed(before, state), what

    walk()
    if os.environ.get("LMS_FUZZ_TIMINGS"):
        print(sorted(statuses.items()))
        for t in sorted(timings, reverse=True)[:15]:
            print(f"{t[0]:.3f}s {t[1]} {t[2][:100]}")
    assert seen == {rule.endpoint for rule, _m in routes}
