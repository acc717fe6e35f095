"""What an outside security test found, each kept found: out-of-range numbers, bodies over the
limit, formula injection in exports, sign-out, idle sessions, CSRF tokens, the development key."""

from __future__ import annotations

import csv
import io
import logging
import re
from datetime import timedelta

import openpyxl
import pytest
import sqlalchemy as sa

from lms.core import spreadsheet
from lms.core.http import DB_INT_MAX, DatabaseIntConverter
from lms.core.model import utcnow
from lms.core.permissions import ROLES
from lms.extensions import db
from tests.conftest import PASSWORD, Auth

HUGE_IDS = ("99999999999999999999999", str(2**63), str(2**31))


def _rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def _fill(rule, number: str) -> str:
    def one(m: re.Match) -> str:
        return number if (m.group(1) or "").startswith("int") else "x"

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>", one, rule.rule)


# ----- 1. numbers beyond the database's range -------------------------------------------------


def test_every_int_in_the_url_map_is_bounded_to_the_database(app):
    from werkzeug.routing.converters import NumberConverter

    found = 0
    for rule in _rules(app):
        for name, conv in rule._converters.items():
            if isinstance(conv, NumberConverter):
                found += 1
                assert isinstance(conv, DatabaseIntConverter), (rule.rule, name)
                assert conv.max == DB_INT_MAX, (rule.rule, name)
    assert found > 40


@pytest.mark.parametrize("role", [None, "admin", "employee"])
def test_every_route_answers_404_to_an_out_of_range_id(app, client, login_as, role):
    """/sessions/99999999999999999999999, /certificates/<big>.pdf ... gave 500 (OverflowError)."""
    if role:
        login_as(role)
    checked = 0
    paths = [r.rule for r in _rules(app)]
    split = {p for p in paths if paths.count(p) > 1}
    for rule in _rules(app):
        if "<int" not in rule.rule:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for number in HUGE_IDS:
                resp = client.open(_fill(rule, number), method=method)
                # 405 where the same path has another rule for the other method (Werkzeug)
                expected = (404, 405) if rule.rule in split else (404,)
                assert resp.status_code in expected, (role, method, rule.rule, resp.status_code)
                checked += 1
    assert checked > 150


@pytest.mark.parametrize(
    "url",
    [
        "/compliance/?department=99999999999999999999999",
        "/compliance/people?department=99999999999999999999999",
        "/compliance/people?program=99999999999999999999999",
        "/compliance/dashboard?department=99999999999999999999999",
        "/audit?page=99999999999999999999999",
        "/audit?person=99999999999999999999999",
        "/auditor/?department=99999999999999999999999",
        "/auditor/?program=-99999999999999999999999",
        "/admin/users?department=99999999999999999999999",
        "/sessions/?program_id=99999999999999999999999",
        "/sessions/?page=99999999999999999999999",
        "/programs/?page=99999999999999999999999",
        "/compliance/notifications?page=99999999999999999999999",
    ],
)
def test_numeric_filters_out_of_range_are_a_400_with_a_message(client, login_as, url):
    login_as("admin", "auditor")
    resp = client.get(url)
    assert resp.status_code == 400, resp.status_code
    assert "must be a whole number" in resp.get_data(as_text=True)


def test_every_get_route_survives_every_numeric_filter_out_of_range(app, client, login_as):
    from tests.core.test_fuzz import QUERY_NAMES

    login_as(*ROLES)
    query = {name: "99999999999999999999999" for name in QUERY_NAMES}
    for rule in _rules(app):
        if "GET" not in rule.methods or "<" in rule.rule or rule.rule.endswith(".pdf"):
            continue
        resp = client.get(rule.rule, query_string=query)
        assert resp.status_code < 500, (rule.rule, resp.status_code)


def test_int_arg_keeps_text_that_is_no_number_harmless(client, login_as):
    login_as("admin")
    assert client.get("/compliance/people?department=abc&page=x&window=-5").status_code == 200


# ----- 2. bodies over the limit ---------------------------------------------------------------


@pytest.fixture(scope="module")
def big_body():
    return b"a=" + b"x" * (10 * 1024 * 1024)


@pytest.mark.parametrize("role", [None, "admin"])
def test_every_route_answers_413_to_a_body_over_the_limit(app, client, login_as, role, big_body):
    """Any body over 10 MiB gave 500: the error page built the language form, which read
    request.files and raised again."""
    if role:
        login_as(role)
    checked = 0
    for rule in _rules(app):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            resp = client.open(
                _fill(rule, "1"),
                method=method,
                data=big_body,
                content_type="application/x-www-form-urlencoded",
            )
            assert resp.status_code == 413, (role, method, rule.rule, resp.status_code)
            if rule.rule.startswith("/api/"):  # the API answers with problem details
                assert resp.get_json()["status"] == 413
            else:
                assert "too large" in resp.get_data(as_text=True)
            checked += 1
    assert checked > 100


def test_a_multipart_upload_over_the_limit_is_a_413_page(client, login_as, csrf_on):
    """The case the test found: a file, no sign-in needed, CSRF on as in production."""
    upload = io.BytesIO(b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024 + 10))
    resp = client.post("/verify", data={"pdf": (upload, "big.pdf")})
    assert resp.status_code == 413
    assert "too large" in resp.get_data(as_text=True)


# ----- 3. formula injection in every spreadsheet export --------------------------------------

HOSTILE_NAME = "=cmd|' /C calc'!A0"
HOSTILE_TITLE = '=HYPERLINK("http://evil.example/x","click")'
HOSTILE_DEPT = "@SUM(1+1)*cmd|' /C calc'!A0"


def test_cell_keeps_formulas_as_text_and_drops_control_characters():
    assert spreadsheet.cell(HOSTILE_NAME) == "'" + HOSTILE_NAME
    for text in ("+1", "-1+2", "@x", "\tx", "\rx", "  =1+1"):
        assert spreadsheet.cell(text).startswith("'"), text
    assert spreadsheet.cell("Anna Kļaviņa") == "Anna Kļaviņa"
    assert spreadsheet.cell("a\x00b\x1bc") == "abc"
    assert spreadsheet.cell(-5) == -5 and spreadsheet.cell(None) is None


# every export route, and the values of its string arguments that name an export
FMTS = ("csv", "xlsx")
EXPORTS = {
    "compliance.export": [{"what": w, "fmt": f} for w in ("matrix", "people") for f in FMTS],
    "sessions.journal_export": [{"fmt": f} for f in FMTS],
    "exams.journal_export": [{"exam_id": 1, "fmt": f} for f in FMTS],
    "registers.export": [{"code": c, "fmt": f} for c in ("LV-OHS", "LV-FIRE") for f in FMTS],
    "auditor.audit_csv": [{"fmt": "csv"}],
}
# exports that carry no one's data (a blank HR template with the column names only)
NOT_PEOPLE = {"integration.hr_template"}
FORMULA = re.compile(r"^\s*[=+\-@\t\r\n]")


def _spreadsheet_cells(resp, fmt: str) -> list[str]:
    if fmt == "csv":
        text = resp.data.decode("utf-8-sig")
        return [c for row in csv.reader(io.StringIO(text)) for c in row]
    wb = openpyxl.load_workbook(io.BytesIO(resp.data))
    out = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (c.coordinate, c.value)
                if isinstance(c.value, str):
                    out.append(c.value)
    return out


def test_every_export_keeps_a_hostile_name_and_job_title_as_text(app, client):
    from lms.accounts import services as accounts
    from lms.accounts.models import Department, User
    from lms.demo import email_for
    from tests.core.test_fuzz import load_demo

    load_demo()
    export_rules = {
        r.endpoint for r in _rules(app) if "<fmt>" in r.rule or r.rule.endswith((".csv", ".xlsx"))
    }
    assert export_rules - NOT_PEOPLE == set(EXPORTS), "a new export: add it to EXPORTS"
    # every person and department gets a hostile name: whoever a page exports, it is one
    for user in db.session.scalars(sa.select(User)):
        user.name = f"{HOSTILE_NAME} {user.id}"
        user.job_title = HOSTILE_TITLE
        user.job_titles = None  # the hostile title is the one every language reads
    for dept in db.session.scalars(sa.select(Department)):
        dept.name = f"{HOSTILE_DEPT} {dept.id}"
        dept.names = None
    db.session.commit()
    admin = accounts.find_by_email(db.session, email_for("admin"))
    Auth(client).login(admin, PASSWORD)
    seen_name = seen_title = seen_dept = 0
    for endpoint, variants in EXPORTS.items():
        for args in variants:
            with app.test_request_context():
                from flask import url_for

                takes_fmt = any("<fmt>" in r.rule for r in _rules(app) if r.endpoint == endpoint)
                url = url_for(
                    endpoint, **{k: v for k, v in args.items() if k != "fmt" or takes_fmt}
                )
            resp = client.get(url, query_string={"date_from": "2000-01-01"})
            assert resp.status_code == 200, (url, resp.status_code)
            if args["fmt"] == "csv":
                assert resp.headers["Content-Type"] == "text/csv; charset=utf-8", url
            cells = _spreadsheet_cells(resp, args["fmt"])
            assert cells, url
            for c in cells:
                assert not FORMULA.match(c), (url, c)
            seen_name += sum(HOSTILE_NAME in c for c in cells)
            seen_title += sum(HOSTILE_TITLE in c for c in cells)
            seen_dept += sum(HOSTILE_DEPT in c for c in cells)
    assert seen_name and seen_title and seen_dept  # the hostile texts were exported, as text


# ----- 4. signing out ends the session on the server -----------------------------------------


def _cookie(client, name: str) -> str | None:
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def test_a_session_cookie_copied_before_sign_out_is_refused_after(app, client, make_user):
    user = make_user("admin")
    auth = Auth(client)
    assert auth.login(user).status_code == 302
    stolen = _cookie(client, "session")
    assert client.get("/admin/users").status_code == 200
    assert auth.logout().status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    resp = thief.get("/admin/users")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_a_remember_me_cookie_copied_before_sign_out_is_refused_after(app, client, make_user):
    user = make_user("employee")
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    assert resp.status_code == 302
    remember = _cookie(client, "remember_token")
    assert remember
    # the cookie alone signs in, before sign-out
    before = app.test_client()
    before.set_cookie("remember_token", remember)
    assert before.get("/account").status_code == 200
    assert Auth(client).logout().status_code == 302
    after = app.test_client()
    after.set_cookie("remember_token", remember)
    resp = after.get("/account")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    # and signing in again works
    assert Auth(client).login(user).status_code == 302
    assert client.get("/account").status_code == 200


# ----- 5. sessions end after the idle time; CSRF tokens rotate and expire ---------------------


def test_a_session_ends_after_the_idle_time(app, client, make_user, time_travel):
    minutes = app.config["LMS_CONFIG"].session_idle_minutes
    start = utcnow().replace(microsecond=0)
    time_travel(start)
    user = make_user("employee")
    Auth(client).login(user)
    # activity keeps it alive
    for step in (1, 2, 3):
        time_travel(start + timedelta(minutes=(minutes - 5) * step))
        assert client.get("/account").status_code == 200, step
    time_travel(start + timedelta(minutes=(minutes - 5) * 3 + minutes + 1))
    resp = client.get("/account")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    page = client.get(resp.headers["Location"])
    assert f"signed out after {minutes} minutes without activity" in page.get_data(as_text=True)


def test_keep_me_signed_in_outlives_the_idle_time(app, client, make_user, time_travel):
    minutes = app.config["LMS_CONFIG"].session_idle_minutes
    start = utcnow().replace(microsecond=0)
    time_travel(start)
    user = make_user("employee")
    client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    time_travel(start + timedelta(minutes=minutes * 3))
    resp = client.get("/account")
    assert resp.status_code == 200
    assert "without activity" not in resp.get_data(as_text=True)


def test_idle_time_is_configurable():
    from lms.config import Config, ConfigError

    cfg = Config.from_env({"LMS_SESSION_IDLE_MINUTES": "15"})
    assert cfg.session_idle_minutes == 15
    settings = Config.from_env({"LMS_SESSION_IDLE_MINUTES": "15", "LMS_SECRET_KEY": "k"})
    assert settings.flask_settings()["WTF_CSRF_TIME_LIMIT"] == 15 * 60
    with pytest.raises(ConfigError):
        Config.from_env({"LMS_SESSION_IDLE_MINUTES": "soon"})
    with pytest.raises(ConfigError):
        Config.from_env({"LMS_SESSION_IDLE_MINUTES": "0", "LMS_SECRET_KEY": "k"}).flask_settings()


def _token(resp) -> str:
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', resp.get_data(as_text=True))
    assert m, "no CSRF token on the page"
    return m.group(1)


def test_the_csrf_token_is_new_after_sign_in(client, make_user, csrf_on):
    user = make_user("employee")
    before = _token(client.get("/login"))
    resp = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": before}
    )
    assert resp.status_code == 302
    after = _token(client.get("/account"))
    assert after != before
    # a token from before sign-in no longer passes
    resp = client.post(
        "/account", data={"csrf_token": before, "prefs-locale": "en", "prefs-submit": "1"}
    )
    assert resp.status_code == 400
    resp = client.post(
        "/account", data={"csrf_token": after, "prefs-locale": "en", "prefs-submit": "1"}
    )
    assert resp.status_code == 302


def test_the_csrf_token_expires_with_the_session(app, client, make_user, csrf_on, time_travel):
    minutes = app.config["LMS_CONFIG"].session_idle_minutes
    start = utcnow().replace(microsecond=0)
    time_travel(start)
    user = make_user("employee")
    token = _token(client.get("/login"))
    client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    token = _token(client.get("/account"))
    time_travel(start + timedelta(minutes=minutes + 1))
    resp = client.post(
        "/account", data={"csrf_token": token, "prefs-locale": "en", "prefs-submit": "1"}
    )
    assert resp.status_code == 400
    assert "expired" in resp.get_data(as_text=True)


# ----- 6. the development secret key -----------------------------------------------------------


def test_start_up_warns_when_the_development_key_signs_cookies(caplog):
    from lms import create_app
    from lms.config import Config

    with caplog.at_level(logging.WARNING):
        create_app(Config(env="development", secret_key=None, database_url="sqlite://"))
    assert any("development key" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        create_app(Config(env="development", secret_key="a" * 64, database_url="sqlite://"))
    assert not any("development key" in r.getMessage() for r in caplog.records)


def test_production_refuses_the_published_development_key():
    from lms import create_app
    from lms.config import DEV_SECRET_KEY, Config, ConfigError

    with pytest.raises(ConfigError, match="development key"):
        create_app(Config(env="production", secret_key=DEV_SECRET_KEY, database_url="sqlite://"))


def test_make_run_keeps_a_random_key_under_instance(tmp_path):
    """The key file is made once (random, readable by its owner only) and `make run` uses it."""
    import shutil
    import subprocess

    from lms.config import ROOT

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    key = tmp_path / "instance" / "secret_key"
    cmd = ["make", "-s", "-C", str(ROOT), f"SECRET_KEY_FILE={key}", str(key)]
    subprocess.run(cmd, check=True, capture_output=True)
    first = key.read_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert key.stat().st_mode & 0o077 == 0
    subprocess.run(cmd, check=True, capture_output=True)
    assert key.read_text().strip() == first  # once: the next runs keep it
    dry = subprocess.run(
        ["make", "-n", "-C", str(ROOT), f"SECRET_KEY_FILE={key}", "run"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "LMS_SECRET_KEY" in dry and str(key) in dry


def test_a_form_id_out_of_range_is_a_400(client, login_as):
    """Found by the fuzz test: marking notification 2^63 as read gave 500 (OverflowError)."""
    login_as("employee")
    for value in ("-9223372036854775809", "99999999999999999999", str(2**31)):
        resp = client.post("/compliance/notifications/read", data={"message_id": value})
        assert resp.status_code == 400, value
