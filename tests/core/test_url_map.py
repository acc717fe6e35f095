"""Walk every route: each declares a permission, and each role sees only what it may."""

from __future__ import annotations

import re

import pytest

from lms.core.permissions import PERMISSIONS, ROLES, declared

SKIP_METHODS = {"HEAD", "OPTIONS"}

# Permissions every role holds by name whose object-level rule also wants an appointment:
# support.work needs first- or second-line support (lms.support.services.staff_line);
# administrators are the third line and need none.
APPOINTED = {"support.work"}


def _rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        yield rule


def _url(rule) -> str:
    def fill(match: re.Match) -> str:
        conv = match.group(1) or "string"
        return "999999" if conv.startswith("int") else "does-not-exist"

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>", fill, rule.rule)


def test_every_endpoint_declares_a_permission(app):
    missing = []
    for rule in _rules(app):
        view = app.view_functions[rule.endpoint]
        decl = declared(view)
        if decl is None:
            missing.append(rule.endpoint)
        elif decl != "public":
            assert decl in PERMISSIONS, f"{rule.endpoint} declares unknown {decl!r}"
    assert not missing, f"routes without @requires/@public: {missing}"


def test_static_is_the_only_undeclared_endpoint(app):
    undeclared = {
        r.endpoint
        for r in app.url_map.iter_rules()
        if declared(app.view_functions[r.endpoint]) is None
    }
    assert undeclared == {"static"}


def test_anonymous_visitor_reaches_only_public_routes(app, client):
    for rule in _rules(app):
        view = app.view_functions[rule.endpoint]
        public = declared(view) == "public"
        for method in sorted(rule.methods - SKIP_METHODS):
            resp = client.open(_url(rule), method=method)
            if public:
                assert resp.status_code < 500, (rule.rule, method, resp.status_code)
                assert resp.status_code != 403, (rule.rule, method)
            elif method == "GET":
                assert resp.status_code == 302, (rule.rule, resp.status_code)
                assert "/login" in resp.headers["Location"], rule.rule
            else:
                assert resp.status_code == 401, (rule.rule, method, resp.status_code)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_exactly_its_routes(app, client, login_as, role):
    login_as(role, name=f"Role {role}")
    for rule in _rules(app):
        view = app.view_functions[rule.endpoint]
        decl = declared(view)
        if decl == "public" or "GET" not in rule.methods:
            continue
        resp = client.get(_url(rule))
        if decl in APPOINTED and role != "admin":
            assert resp.status_code == 403, (role, rule.rule, resp.status_code)
        elif role in PERMISSIONS[decl]:
            assert resp.status_code in (200, 302, 303, 400, 404), (
                role,
                rule.rule,
                resp.status_code,
            )
            if resp.status_code == 302:
                assert "/login" not in resp.headers["Location"], (role, rule.rule)
        else:
            assert resp.status_code == 403, (role, rule.rule, resp.status_code)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_refused_posts_outside_its_permissions(app, client, login_as, role):
    login_as(role)
    for rule in _rules(app):
        decl = declared(app.view_functions[rule.endpoint])
        if decl == "public" or "POST" not in rule.methods:
            continue
        if role not in PERMISSIONS[decl]:
            resp = client.post(_url(rule), data={})
            assert resp.status_code == 403, (role, rule.rule, resp.status_code)


@pytest.mark.parametrize("line", [1, 2])
def test_appointed_support_staff_reach_the_support_routes(app, client, login_as, line):
    from lms.extensions import db
    from lms.support import services

    user = login_as("employee", name=f"Support line {line}")
    services.appoint(db.session, user_id=user.id, line=line, actor_id=None)
    db.session.commit()
    reached = 0
    for rule in _rules(app):
        decl = declared(app.view_functions[rule.endpoint])
        if decl not in APPOINTED or "GET" not in rule.methods:
            continue
        resp = client.get(_url(rule))
        assert resp.status_code in (200, 302, 303, 400, 404), (line, rule.rule, resp.status_code)
        reached += 1
    assert reached


def test_a_route_without_a_permission_is_refused(app):
    """Deny by default: an endpoint that declares nothing answers 403 even to an admin."""
    from flask import Flask

    from lms.core.permissions import enforce_declared

    probe = Flask("probe")
    probe.secret_key = "x"
    probe.add_url_rule("/undeclared", "undeclared", lambda: "open")
    from flask_login import LoginManager

    lm = LoginManager(probe)

    class Admin:
        is_authenticated = True

        def can(self, _p):
            return True

    lm.user_loader(lambda _i: None)
    lm.request_loader(lambda _r: Admin())
    probe.before_request(enforce_declared)
    assert probe.test_client().get("/undeclared").status_code == 403


# The exam routes and the permission each declares (object-level rules live in
# lms.exams.services: appointed people and candidates only, 404 for anyone else).
EXAM_ROUTES = {
    "exams.index": "exams.run",
    "exams.points": "exams.manage",
    "exams.point": "exams.manage",
    "exams.retire_item": "exams.manage",
    "exams.new": "exams.manage",
    "exams.show": "exams.run",
    "exams.appoint": "exams.manage",
    "exams.add_candidate": "exams.manage",
    "exams.withdraw": "exams.manage",
    "exams.tick": "exams.run",
    "exams.open_exam": "exams.run",
    "exams.close_exam": "exams.run",
    "exams.record_access": "exams.run",
    "exams.record_exit": "exams.run",
    "exams.correct_access": "exams.run",
    "exams.sign_in": "exams.run",
    "exams.sign_out": "exams.run",
    "exams.journal_export": "exams.run",
    "exams.results": "exams.run",
    "exams.sign": "exams.run",
    "exams.protocol_pdf": "exams.run",
}


def test_exam_routes_declare_the_expected_permissions(app):
    found = {
        rule.endpoint: declared(app.view_functions[rule.endpoint])
        for rule in _rules(app)
        if rule.endpoint.startswith("exams.")
    }
    assert found == EXAM_ROUTES
    assert PERMISSIONS["exams.manage"] == {"admin", "instructor"}
    assert PERMISSIONS["exams.view_all"] == {"admin", "instructor", "manager", "auditor"}
    assert PERMISSIONS["exams.run"] == set(ROLES)


# ----- the auditor reads and never writes ---------------------------------------------------

# An auditor may post only to look after their own sign-in and to ask for an export of what they
# may read; everything else that could change a record answers 403, their own learner record
# (enrolment, acknowledgment, quiz attempts, progress) included.
AUDITOR_MAY_POST = {
    "accounts.login",  # public
    "accounts.set_language",  # public
    "completions.verify_form",  # public: is this PDF ours?
    "accounts.logout",
    "accounts.account",
    "accounts.change_password",
    "auditor.export",
    "support.new",  # asking for help is not a record of training
    "support.reply",
    "support.close",
}


def _signed_records() -> dict[str, int]:
    import sqlalchemy as sa

    from lms.extensions import db

    tables = [
        "ledger",
        "program_signatures",
        "session_signatures",
        "session_attendance",
        "session_acknowledgments",
        "session_enrolments",
        "completions",
        "certificates",
        "learning_attempts",
        "learning_topic_progress",
    ]
    return {
        t: db.session.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables
    }


def _post_url(rule, ids: dict[str, int]) -> str:
    def fill(m: re.Match) -> str:
        if (m.group(1) or "").startswith("int"):
            return str(ids.get(m.group(2), 1))
        return "x"

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", fill, rule.rule)


def test_the_auditor_role_performs_no_writes(app, client, login_as, make_program):
    """Every POST in the URL map, against real objects the auditor could otherwise reach."""
    from lms.core.permissions import READ_ONLY_MAY_POST, READ_ONLY_ROLES

    assert {"auditor"} == READ_ONLY_ROLES
    program = make_program(approved=True, refresher_months=12)
    login_as("auditor", name="Rūta Vītola")
    before = _signed_records()
    allowed = set()
    for rule in _rules(app):
        if "POST" not in rule.methods or rule.endpoint == "accounts.logout":
            continue  # signing out is allowed, and would end the walk
        if rule.rule.startswith("/api/"):
            # the API takes no session: a signed-in auditor's cookie is refused there as none
            assert client.post(_post_url(rule, {})).status_code == 401, rule.rule
            continue
        decl = declared(app.view_functions[rule.endpoint])
        url = _post_url(rule, {"program_id": program.id, "position": 1, "number": 1})
        resp = client.post(url, data={"lang": "en", "submit": "1"})
        if resp.status_code != 403:
            allowed.add(rule.endpoint)
            assert decl == "public" or decl in READ_ONLY_MAY_POST, (rule.rule, resp.status_code)
        else:
            assert decl not in READ_ONLY_MAY_POST, rule.rule
    assert allowed <= AUDITOR_MAY_POST, allowed - AUDITOR_MAY_POST
    # still signed in: every 403 above was the role's, not a lost session
    assert client.get("/").status_code == 200
    # the learner's own record: no quiz attempt, no topic read, nothing signed
    for url in (
        f"/learning/programs/{program.id}/attempts",
        f"/learning/programs/{program.id}/topics/1/read",
    ):
        assert client.post(url).status_code == 403, url
    assert _signed_records() == before


def test_an_auditor_who_is_also_an_employee_keeps_the_employee_rights(
    client, login_as, make_program
):
    program = make_program(approved=True)
    login_as("auditor", "employee")
    before = _signed_records()
    resp = client.post(f"/learning/programs/{program.id}/topics/1/read")
    assert resp.status_code in (302, 303), resp.status_code
    assert _signed_records()["learning_topic_progress"] == before["learning_topic_progress"] + 1


def test_an_auditor_is_not_offered_buttons_that_would_write(client, login_as, make_program):
    from tests.conftest import text_of

    program = make_program(approved=True)
    login_as("auditor")
    course = client.get(f"/learning/programs/{program.id}")
    assert course.status_code == 200
    assert "Start the quiz" not in text_of(course)
    topic = client.get(f"/learning/programs/{program.id}/topics/1")
    assert topic.status_code == 200 and "Fire triangle" in text_of(topic)
    assert "Mark as read" not in text_of(topic)
    # the same pages offer them to an employee
    client.post("/logout")
    login_as("employee")
    assert "Start the quiz" in text_of(client.get(f"/learning/programs/{program.id}"))
    assert "Mark as read" in text_of(client.get(f"/learning/programs/{program.id}/topics/1"))


# ----- the registers: who reads them, who records what makes a briefing due ------------------

REGISTER_ROUTES = {
    "registers.index": "registers.view",
    "registers.register": "registers.view",
    "registers.export": "registers.view",
    "registers.evidence": "registers.view",
    "registers.issued_copy": "registers.view",
    "registers.issued_list": "registers.view",
    "registers.due": "registers.view",
    "registers.queue": "registers.countersign",
    "registers.countersign": "registers.countersign",
    "registers.incidents": "registers.record",
    "registers.absences": "registers.record",
    "registers.new_rules": "compliance.manage",
    "registers.choose_regimes": "compliance.manage",
}


def test_register_routes_declare_the_expected_permissions(app):
    found = {
        rule.endpoint: declared(app.view_functions[rule.endpoint])
        for rule in _rules(app)
        if rule.endpoint.startswith("registers.")
    }
    assert found == REGISTER_ROUTES
    assert PERMISSIONS["registers.record"] == {"admin", "manager"}
    assert PERMISSIONS["compliance.manage"] == {"admin"}
