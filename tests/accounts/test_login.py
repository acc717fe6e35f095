from __future__ import annotations

import sqlalchemy as sa

from lms.accounts import services
from lms.core.audit import AuditEntry
from lms.extensions import db
from tests.conftest import PASSWORD, text_of


def test_login_and_home(client, auth, make_user):
    user = make_user("employee", name="Jānis Bērziņš")
    resp = auth.login(user)
    assert resp.status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert "Jānis Bērziņš" in text_of(home)


def test_wrong_password_is_refused_with_401(client, auth, make_user):
    user = make_user()
    resp = auth.login(user, "wrong-password-123")
    assert resp.status_code == 401
    assert client.get("/").status_code == 302


def test_a_failed_sign_in_stays_in_the_audit_log(client, auth, make_user):
    """The request answers 401 and rolls back; the audit entry was committed on its own."""
    user = make_user()
    assert auth.login(user, "wrong-password-123").status_code == 401
    db.session.rollback()
    entries = db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.action == "login_failed")
    ).scalars()
    assert [(e.object_id, e.summary) for e in entries] == [(str(user.id), user.email)]


def test_unknown_user_gets_the_same_message(client, auth, make_user):
    make_user()
    unknown = auth.login("nobody@example.test", "whatever-1234")
    assert unknown.status_code == 401
    assert "Wrong e-mail address or password" in text_of(unknown)


def test_deactivated_user_cannot_sign_in(client, auth, make_user):
    user = make_user()
    services.set_active(db.session, user, False, actor_id=None)
    db.session.commit()
    resp = auth.login(user)
    assert resp.status_code == 401
    assert "deactivated" in text_of(resp)


def test_deactivation_ends_an_open_session(client, auth, make_user):
    user = make_user()
    auth.login(user)
    assert client.get("/").status_code == 200
    services.set_active(db.session, user, False, actor_id=None)
    db.session.commit()
    assert client.get("/").status_code == 302


def test_failed_logins_are_throttled(client, auth, make_user):
    user = make_user()
    codes = [auth.login(user, "bad-password-xx").status_code for _ in range(10)]
    assert set(codes) == {401}
    assert auth.login(user, "bad-password-xx").status_code == 429
    # the right password is throttled too while the window lasts
    assert auth.login(user, PASSWORD).status_code == 429


def test_successful_logins_are_not_counted(client, auth, make_user):
    user = make_user()
    for _ in range(12):
        assert auth.login(user).status_code == 302
        auth.logout()


def test_empty_form_is_a_400_naming_the_fields(client):
    resp = client.post("/login", data={})
    assert resp.status_code == 400
    text = text_of(resp)
    assert "E-mail" in text and "This field is required" in text


def test_missing_csrf_token_is_refused(client, make_user, csrf_on):
    user = make_user()
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 400
    assert client.get("/").status_code == 302


def test_tampered_session_cookie_is_ignored(client, auth, make_user):
    user = make_user()
    auth.login(user)
    cookie = client.get_cookie("session")
    assert cookie is not None
    client.set_cookie("session", cookie.value[:-3] + "abc")
    resp = client.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_unknown_url_is_a_friendly_404(client):
    resp = client.get("/no/such/page")
    assert resp.status_code == 404
    assert "There is no such page" in text_of(resp)


def test_next_redirect_stays_on_this_site(client, make_user):
    user = make_user()
    for evil in (
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
    ):
        resp = client.post("/login", data={"email": user.email, "password": PASSWORD, "next": evil})
        assert resp.status_code == 302
        assert resp.headers["Location"] == "/", evil
        client.post("/logout")
    resp = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "next": "/account"}
    )
    assert resp.headers["Location"] == "/account"


def test_anonymous_is_sent_to_login_with_next(client):
    resp = client.get("/account")
    assert resp.status_code == 302
    assert "/login?next=/account" in resp.headers["Location"]


def test_security_headers(client):
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"


def test_session_cookie_flags(client, auth, make_user):
    auth.login(make_user())
    cookie = client.get_cookie("session")
    assert cookie.http_only
    assert cookie.same_site == "Lax"


def test_logout_needs_post(client, auth, make_user):
    auth.login(make_user())
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302
