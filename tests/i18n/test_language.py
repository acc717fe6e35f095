from __future__ import annotations

from lms.accounts.models import User
from lms.extensions import db
from tests.conftest import text_of


def test_browser_language_for_visitors(client):
    assert "Войти" in text_of(client.get("/login", headers={"Accept-Language": "ru"}))
    assert "Pieteikties" in text_of(
        client.get("/login", headers={"Accept-Language": "lv,en;q=0.5"})
    )
    assert "Sign in" in text_of(client.get("/login", headers={"Accept-Language": "en-GB"}))


def test_organisation_default_is_latvian(client):
    resp = client.get("/login", headers={"Accept-Language": "de"})
    assert 'lang="lv"' in resp.get_data(as_text=True)
    assert "Pieteikties" in text_of(resp)


def test_unknown_language_code_falls_back_without_error(client):
    resp = client.get("/login?lang=xx", headers={"Accept-Language": "zz"})
    assert resp.status_code == 200 and "Pieteikties" in text_of(resp)
    resp = client.post(
        "/language", data={"lang": "klingon", "next": "/login"}, headers={"Accept-Language": "zz"}
    )
    assert resp.status_code == 302
    assert "Pieteikties" in text_of(client.get("/login", headers={"Accept-Language": "zz"}))


def test_switcher_changes_the_language_and_returns(client):
    resp = client.post("/language", data={"lang": "ru", "next": "/login"})
    assert resp.headers["Location"] == "/login"
    assert "Войти" in text_of(client.get("/login"))


def test_user_preference_wins_and_is_saved(client, auth, make_user):
    user = make_user(locale="ru")
    auth.login(user)
    assert "Здравствуйте" in text_of(client.get("/"))
    client.post("/language", data={"lang": "lv", "next": "/"})
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "lv"
    assert "Sveicināti" in text_of(client.get("/"))


def test_stored_unknown_preference_falls_back(client, auth, make_user):
    user = make_user()
    user.locale = "xx"
    db.session.commit()
    auth.login(user)
    assert client.get("/", headers={"Accept-Language": "ru"}).status_code == 200
    assert "Здравствуйте" in text_of(client.get("/", headers={"Accept-Language": "ru"}))


def test_dates_follow_the_locale(app):
    from datetime import date

    with app.app_context(), app.test_request_context(headers={"Accept-Language": "lv"}):
        rendered = app.jinja_env.from_string("{{ d|date_long }}").render(d=date(2026, 3, 5))
        assert "marts" in rendered or "marta" in rendered
    with app.app_context(), app.test_request_context(headers={"Accept-Language": "ru"}):
        rendered = app.jinja_env.from_string("{{ d|date_long }}").render(d=date(2026, 3, 5))
        assert "марта" in rendered
