from __future__ import annotations

import sqlalchemy as sa

from lms.accounts.models import User
from lms.core.audit import AuditEntry
from lms.extensions import db
from tests.conftest import PASSWORD, text_of


def test_admin_creates_a_user_who_can_sign_in(client, login_as, make_department, auth):
    admin = login_as("admin")
    dept = make_department("Workshop", "WS")
    resp = client.post(
        "/admin/users/new",
        data={
            "name": "Ģirts Ķeniņš",
            "email": "Girts@Example.test",
            "job_title": "Welder",
            "department_id": dept.id,
            "roles": ["employee", "instructor"],
            "password": "a-long-password",
        },
    )
    assert resp.status_code == 302, text_of(resp)
    user = db.session.execute(
        sa.select(User).where(User.email == "girts@example.test")
    ).scalar_one()
    assert user.roles == {"employee", "instructor"}
    assert user.department_id == dept.id
    entry = db.session.execute(
        sa.select(AuditEntry).where(
            AuditEntry.action == "create",
            AuditEntry.object_type == "user",
            AuditEntry.object_id == str(user.id),
        )
    ).scalar_one()
    assert entry.actor_id == admin.id
    auth.logout()
    assert auth.login("girts@example.test", "a-long-password").status_code == 302


def test_duplicate_email_is_refused_on_the_field(client, login_as, make_user):
    login_as("admin")
    other = make_user(email="taken@example.test")
    resp = client.post(
        "/admin/users/new",
        data={
            "name": "X",
            "email": other.email,
            "department_id": 0,
            "roles": ["employee"],
            "password": "a-long-password",
        },
    )
    assert resp.status_code == 400
    assert "already exists" in text_of(resp)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 2


def test_bad_user_form_names_the_fields(client, login_as):
    login_as("admin")
    resp = client.post(
        "/admin/users/new",
        data={"name": "", "email": "not-an-email", "department_id": 0, "password": "short"},
    )
    assert resp.status_code == 400
    text = text_of(resp)
    assert "Full name" in text and "valid e-mail" in text and "Roles" in text


def test_edit_user_records_the_change(client, login_as, make_user):
    admin = login_as("admin")
    user = make_user(name="Old Name")
    resp = client.post(
        f"/admin/users/{user.id}",
        data={
            "name": "New Name",
            "email": user.email,
            "job_title": "Boss",
            "department_id": 0,
            "roles": ["manager"],
        },
    )
    assert resp.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.name == "New Name" and user.roles == {"manager"}
    entry = db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.action == "change")
    ).scalar_one()
    assert entry.actor_id == admin.id
    assert entry.details["changed"]["name"] == ["Old Name", "New Name"]


def test_deactivate_and_reactivate(client, login_as, make_user, app):
    admin = login_as("admin")
    user = make_user()
    assert client.post(f"/admin/users/{user.id}/active", data={"active": "0"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).active is False
    other = app.test_client()
    assert other.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 401
    client.post(f"/admin/users/{user.id}/active", data={"active": "1"})
    assert other.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    # an admin cannot lock themselves out
    resp = client.post(f"/admin/users/{admin.id}/active", data={"active": "0"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, admin.id).active is True


def test_user_list_search_and_filters(client, login_as, make_user, make_department):
    login_as("admin", name="Admin Person")
    dept = make_department("Warehouse", "WH")
    make_user(name="Anna Kļaviņa", department=dept)
    make_user("auditor", name="Rūta Vītola")
    text = text_of(client.get("/admin/users?q=kļav"))
    assert "Anna Kļaviņa" in text and "Rūta" not in text
    text = text_of(client.get("/admin/users?role=auditor"))
    assert "Rūta Vītola" in text and "Anna" not in text
    text = text_of(client.get(f"/admin/users?department={dept.id}"))
    assert "Anna" in text and "1 person found" in text
    assert client.get("/admin/users?department=abc&page=-3").status_code == 200


def test_departments_tree_and_cycles(client, login_as, make_department):
    login_as("admin")
    top = make_department("Top", "TOP")
    child = make_department("Child", "CH", parent=top)
    resp = client.post(
        f"/admin/departments/{top.id}",
        data={"name": "Top", "code": "TOP", "parent_id": child.id, "manager_id": 0},
    )
    assert resp.status_code == 400
    assert "inside itself" in text_of(resp)
    resp = client.post(
        "/admin/departments/new",
        data={"name": "Other", "code": "ch", "parent_id": 0, "manager_id": 0},
    )
    assert resp.status_code == 400 and "already exists" in text_of(resp)
    resp = client.post(
        "/admin/departments/new",
        data={"name": "Grandchild", "code": "gc", "parent_id": child.id, "manager_id": 0},
    )
    assert resp.status_code == 302
    page = text_of(client.get("/admin/departments"))
    assert page.index("Top") < page.index("Child") < page.index("Grandchild")


def test_password_change(client, auth, make_user, app):
    user = make_user()
    auth.login(user)
    resp = client.post(
        "/account/password", data={"current": "wrong", "password": "another-long-one"}
    )
    assert resp.status_code == 400 and "current password is wrong" in text_of(resp)
    resp = client.post("/account/password", data={"current": PASSWORD, "password": "short"})
    assert resp.status_code == 400
    other = app.test_client()
    other.post("/login", data={"email": user.email, "password": PASSWORD})
    resp = client.post(
        "/account/password", data={"current": PASSWORD, "password": "another-long-one"}
    )
    assert resp.status_code == 302
    assert client.get("/").status_code == 200  # this session stays
    assert other.get("/").status_code == 302  # the other one ends
    auth.logout()
    assert auth.login(user, "another-long-one").status_code == 302


def test_pin_and_language_preferences(client, auth, make_user):
    user = make_user()
    auth.login(user)
    assert client.post("/account", data={"pin-pin": "12ab", "pin-submit": "1"}).status_code == 400
    assert client.post("/account", data={"pin-pin": "4821", "pin-submit": "1"}).status_code == 302
    assert (
        client.post("/account", data={"prefs-locale": "ru", "prefs-submit": "1"}).status_code == 302
    )
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.locale == "ru" and user.pin_hash
