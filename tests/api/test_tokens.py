"""Token auth: revoked 401, missing scope 403, the page permission still applies, problem details."""

from __future__ import annotations

from lms.api.tokens import create_token, revoke_token
from lms.extensions import db


def _token(user, scopes):
    token, secret = create_token(db.session, name="t", user=user, scopes=scopes, actor_id=None)
    db.session.commit()
    return token, {"Authorization": f"Bearer {secret}"}


def test_revoked_401_missing_scope_403_permission_403(client, make_user):
    admin = make_user("admin")
    token, headers = _token(admin, ["people:read"])
    assert client.get("/api/v1/people", headers=headers).status_code == 200
    assert token.token_hash not in (None, "") and len(token.token_hash) == 64
    resp = client.get("/api/v1/programs", headers=headers)
    assert resp.status_code == 403 and resp.mimetype == "application/problem+json"
    assert resp.get_json()["status"] == 403
    revoke_token(db.session, token, admin.id)
    db.session.commit()
    resp = client.get("/api/v1/people", headers=headers)
    assert resp.status_code == 401 and resp.get_json()["title"] == "Unauthorized"
    employee = make_user("employee")
    _, headers = _token(employee, ["people:read"])
    assert client.get("/api/v1/people", headers=headers).status_code == 403
    assert client.get("/api/v1/people").status_code == 401


def test_hr_sync_write_and_validation_problem(client, make_user, make_department):
    admin = make_user("admin")
    dept = make_department("Plant", "PLANT")
    _, headers = _token(admin, ["people:read", "people:write"])
    body = {
        "name": "Ilze",
        "email": "ilze@example.test",
        "department_id": dept.id,
        "personal_code": "32000000001",
    }
    resp = client.put("/api/v1/people/by-number/E9", json=body, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    person = resp.get_json()
    assert person["employee_number"] == "E9" and person["personal_code"] == "320000-00001"
    resp = client.post(
        f"/api/v1/people/{person['id']}/absences",
        json={"starts_on": "2025-05-01", "ends_on": "2025-04-01"},
        headers=headers,
    )
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"
    resp = client.put("/api/v1/people/by-number/E9", json={"name": "x"}, headers=headers)
    assert resp.status_code == 422
    assert any(e["field"] == "email" for e in resp.get_json()["errors"])
    resp = client.put(
        "/api/v1/people/by-number/E10",
        json={**body, "email": "z@example.test", "personal_code": "120345-12344"},
        headers=headers,
    )
    assert resp.status_code == 400 and "check digit" in resp.get_json()["title"]


def test_docs_page_served_from_the_app(client):
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert (
        "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
        and "http" not in html.split("<body>")[1]
    )
    assert client.get("/api/v1/openapi.json").get_json()["openapi"].startswith("3.1")


def test_every_api_operation_needs_a_token(app, client):
    """API endpoints are public to Flask's session check only: each one asks for a token."""
    import re

    seen = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint in ("api.openapi", "api.docs"):
            continue
        url = re.sub(r"<(?:int:)?(\w+)>", "1", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            resp = client.open(url, method=method, json={})
            assert resp.status_code == 401, (rule.rule, method, resp.status_code)
            assert resp.mimetype == "application/problem+json"
            seen += 1
    assert seen >= 18


def test_department_sync_by_code_is_idempotent(client, make_user):
    admin = make_user("admin")
    _, headers = _token(admin, ["people:read", "people:write"])
    first = client.put("/api/v1/departments/by-code/PLANT", json={"name": "Plant"}, headers=headers)
    assert first.status_code == 200
    plant = first.get_json()
    shop = client.put(
        "/api/v1/departments/by-code/WS1",
        json={"name": "Workshop", "parent_id": plant["id"]},
        headers=headers,
    ).get_json()
    again = client.put(
        "/api/v1/departments/by-code/WS1",
        json={"name": "Workshop 1", "parent_id": plant["id"]},
        headers=headers,
    ).get_json()
    assert again["id"] == shop["id"] and again["name"] == "Workshop 1"
    loop = client.put(
        "/api/v1/departments/by-code/PLANT",
        json={"name": "Plant", "parent_id": shop["id"]},
        headers=headers,
    )
    assert loop.status_code == 400 and loop.mimetype == "application/problem+json"
    listed = client.get("/api/v1/departments?per_page=1", headers=headers).get_json()
    assert listed["total"] == 2 and len(listed["items"]) == 1


def test_a_manager_token_sees_only_their_departments_as_on_the_pages(
    client, make_user, make_department, make_program
):
    from datetime import date

    from lms.completions.services import record_completion
    from lms.programs.models import ProgramVersion

    mine, other = make_department("Mine", "MINE"), make_department("Other", "OTHER")
    manager = make_user("manager", department=mine)
    inside, outside = make_user(department=mine), make_user(department=other)
    program = make_program()
    version = db.session.get(ProgramVersion, program.current_version_id)
    for person in (inside, outside):
        record_completion(
            db.session,
            user_id=person.id,
            version=version,
            completed_on=date(2026, 1, 5),
            earned_by="record",
            actor_id=None,
        )
    db.session.commit()
    _, headers = _token(manager, ["training:read"])
    people = {
        c["person_id"]
        for c in client.get("/api/v1/completions", headers=headers).get_json()["items"]
    }
    assert people == {inside.id}
    asked = client.get(f"/api/v1/status?department_id={other.id}", headers=headers).get_json()
    assert asked["total"] == 0


def test_an_auditor_token_writes_nothing(client, make_user):
    """The auditor role is read-only on the pages and through the API alike."""
    auditor = make_user("auditor")
    _, headers = _token(auditor, ["training:read", "sessions:write"])
    assert client.get("/api/v1/programs", headers=headers).status_code == 200
    resp = client.post(
        "/api/v1/sessions/1/enrolments", json={"user_id": auditor.id}, headers=headers
    )
    assert resp.status_code == 403 and resp.get_json()["status"] == 403
