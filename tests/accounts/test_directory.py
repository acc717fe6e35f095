"""Directory sign-in against a real slapd: roles from groups, department from an attribute,
created then updated at sign-in, disabled account, changed password, directory down."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from lms.accounts.directory import DirectorySettings
from lms.accounts.models import User
from lms.extensions import db
from tests.conftest import text_of
from tests.ldapserver import BASE, SERVICE_DN, SERVICE_PASSWORD, LdapServer


@pytest.fixture(scope="module")
def slapd():
    server = LdapServer().start()
    yield server
    server.stop()


def _settings(server: LdapServer, **kw) -> DirectorySettings:
    env = {
        "LMS_LDAP_URL": server.url,
        "LMS_LDAP_STARTTLS": "1",
        "LMS_LDAP_CA_FILE": server.cert,
        "LMS_LDAP_BASE_DN": f"ou=people,{BASE}",
        "LMS_LDAP_BIND_DN": SERVICE_DN,
        "LMS_LDAP_BIND_PASSWORD": SERVICE_PASSWORD,
        "LMS_LDAP_GROUP_BASE_DN": f"ou=groups,{BASE}",
        "LMS_LDAP_GROUP_ROLES": (
            f"admin:cn=brigade-admins,ou=groups,{BASE};manager:cn=brigade-managers,ou=groups,{BASE}"
        ),
        "LMS_LDAP_DISABLED_FILTER": "(employeeType=disabled)",
    }
    cfg = DirectorySettings.from_env(env)
    assert cfg is not None
    return dataclasses.replace(cfg, **kw)


@pytest.fixture
def directory(app, slapd):
    app.config["LMS_DIRECTORY"] = _settings(slapd)
    yield slapd
    app.config["LMS_DIRECTORY"] = None


def _user(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.email == email))


def test_first_sign_in_creates_person_with_role_and_department(directory, client, make_department):
    plant = make_department("Plant", "PLANT")
    resp = client.post("/login", data={"email": "anna@brigade.test", "password": "anna-password-1"})
    assert resp.status_code == 302
    anna = _user("anna@brigade.test")
    assert anna is not None
    assert anna.roles == {"admin", "manager"}
    assert anna.department_id == plant.id
    assert (anna.name, anna.auth_source, anna.employee_number) == ("Anna Ozola", "ldap", "L-anna")
    assert "Anna Ozola" in text_of(client.get("/"))


def test_bind_as_user_over_ldaps_and_update_on_next_sign_in(
    app, directory, client, make_department
):
    make_department("Office", "OFFICE")
    app.config["LMS_DIRECTORY"] = _settings(
        directory,
        url=directory.ldaps_url,
        starttls=False,
        bind_dn="",
        bind_password="",
        user_dn=f"uid={{username}},ou=people,{BASE}",
    )
    assert (
        client.post("/login", data={"email": "boris", "password": "boris-password-1"}).status_code
        == 302
    )
    boris = _user("boris@brigade.test")
    assert boris.roles == {"manager"}
    client.post("/logout")
    # the group mapping changes: next sign-in updates the roles
    app.config["LMS_DIRECTORY"] = dataclasses.replace(app.config["LMS_DIRECTORY"], group_roles={})
    assert (
        client.post("/login", data={"email": "boris", "password": "boris-password-1"}).status_code
        == 302
    )
    assert _user("boris@brigade.test").roles == {"employee"}


def test_wrong_password_disabled_and_changed_password(directory, client):
    resp = client.post("/login", data={"email": "anna@brigade.test", "password": "nope"})
    assert resp.status_code == 401 and "Wrong e-mail address or password" in text_of(resp)
    resp = client.post("/login", data={"email": "dora@brigade.test", "password": "dora-password-1"})
    assert resp.status_code == 401 and "deactivated" in text_of(resp)
    assert _user("dora@brigade.test") is None
    ok = client.post(
        "/login", data={"email": "chris@brigade.test", "password": "chris-old-password"}
    )
    assert ok.status_code == 302
    client.post("/logout")
    directory.set_password("chris", "chris-new-password")
    old = client.post(
        "/login", data={"email": "chris@brigade.test", "password": "chris-old-password"}
    )
    assert old.status_code == 401
    new = client.post(
        "/login", data={"email": "chris@brigade.test", "password": "chris-new-password"}
    )
    assert new.status_code == 302


def test_directory_down_local_accounts_still_sign_in(app, slapd, client, make_user):
    down = _settings(slapd, url="ldap://127.0.0.1:1", timeout=2)
    app.config["LMS_DIRECTORY"] = down
    try:
        resp = client.post(
            "/login", data={"email": "anna@brigade.test", "password": "anna-password-1"}
        )
        assert resp.status_code == 401
        assert "directory is unavailable" in text_of(resp)
        local = make_user("admin")
        from tests.conftest import PASSWORD

        assert (
            client.post("/login", data={"email": local.email, "password": PASSWORD}).status_code
            == 302
        )
    finally:
        app.config["LMS_DIRECTORY"] = None


def test_sign_in_keeps_the_search_text_current(directory, client, make_user):
    from lms.accounts.services import search_users

    stale = make_user(name="Anna Vecā", email="anna@brigade.test")
    stale.password_hash, stale.auth_source = "!ldap", "ldap"
    db.session.commit()
    resp = client.post("/login", data={"email": "anna@brigade.test", "password": "anna-password-1"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert [u.name for u in db.session.scalars(search_users(db.session, "ОЗОЛА"))] == ["Anna Ozola"]
    assert list(db.session.scalars(search_users(db.session, "veca"))) == []
