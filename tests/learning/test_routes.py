"""Every learning route with every role: permitted roles never get a 5xx or a log-in page,
others get 403 (the same rules as tests/core/test_url_map.py, for this blueprint only)."""

from __future__ import annotations

import re

import pytest

from lms.core.permissions import PERMISSIONS, ROLES, declared, may_write


def _rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("learning.")]


def _url(rule) -> str:
    return re.sub(r"<(?:\w+(?:\([^)]*\))?:)?\w+>", "999999", rule.rule)


@pytest.mark.parametrize("role", ROLES)
def test_learning_routes_for_each_role(app, client, login_as, role, make_program):
    make_program()
    login_as(role)
    rules = _rules(app)
    assert len(rules) >= 15
    for rule in rules:
        decl = declared(app.view_functions[rule.endpoint])
        assert decl in PERMISSIONS, rule.endpoint
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            # a read-only role (auditor) may read but not post
            allowed = role in PERMISSIONS[decl] if method == "GET" else may_write({role}, decl)
            resp = client.open(_url(rule), method=method, data={})
            if allowed:
                assert resp.status_code in (200, 302, 400, 404), (role, rule.rule, method)
            else:
                assert resp.status_code == 403, (role, rule.rule, method, resp.status_code)
    # the pages without ids answer 200 to those allowed
    for path, permission in (
        ("/learning/", "learning.take"),
        ("/learning/results", "learning.results"),
    ):
        assert client.get(path).status_code == (200 if role in PERMISSIONS[permission] else 403)
