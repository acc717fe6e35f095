"""The audit log shows actions and object kinds in the reader's language, never a bare key."""

from __future__ import annotations

import ast
import pathlib

from flask_babel import force_locale

from lms.core import audit
from lms.core.audit_labels import ACTIONS, OBJECTS, action_label, object_label
from lms.extensions import db

ROOT = pathlib.Path(__file__).resolve().parents[2] / "lms"


def _constants(node: ast.AST) -> set[str]:
    """The strings an argument can be: a constant, or either branch of "a if ... else b"."""
    if isinstance(node, ast.IfExp):
        return _constants(node.body) | _constants(node.orelse)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    return set()


def _written_keys() -> tuple[set[str], set[str]]:
    """Every action and object kind the code passes to audit.record / record_apart."""
    actions: set[str] = set()
    objects: set[str] = set()
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or len(node.args) < 4:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("record", "record_apart"):
                actions |= _constants(node.args[2])
                objects |= _constants(node.args[3])
    return actions, objects


def test_every_key_the_code_writes_has_a_label():
    actions, objects = _written_keys()
    assert len(actions) > 30 and len(objects) > 20  # the scan found the calls
    assert actions <= set(ACTIONS), sorted(actions - set(ACTIONS))
    assert objects <= set(OBJECTS), sorted(objects - set(OBJECTS))


def test_labels_are_translated_and_unknown_keys_show_as_keys(app):
    with app.test_request_context():
        with force_locale("lv"):
            assert action_label("revoke") == "anulēta"
            assert object_label("completion") == "apmācības izpilde"
        with force_locale("ru"):
            assert action_label("revoke") == "аннулирован"
        with force_locale("en"):
            assert action_label("revoke") == "revoked"
            assert action_label("frobnicate") == "‹frobnicate›"
            assert object_label(None) == ""


def test_the_audit_page_shows_labels_in_the_readers_language(client, login_as):
    admin = login_as("admin")
    audit.record(db.session, admin.id, "revoke", "completion", 7, "x")
    audit.record(db.session, admin.id, "frobnicate", "gizmo", 8, "y")
    db.session.commit()
    page = client.get("/audit?lang=ru", headers={"Accept-Language": "ru"})
    admin.locale = "ru"
    db.session.commit()
    page = client.get("/audit").get_data(as_text=True)
    assert "аннулирован" in page and ">revoke<" not in page
    assert "‹frobnicate›" in page and "‹gizmo›" in page


def test_the_audit_export_carries_the_labels_in_the_readers_language(client, login_as):
    import csv
    import io

    admin = login_as("admin")
    admin.locale = "lv"
    audit.record(db.session, admin.id, "nominate", "session_enrolment", 5, "note")
    db.session.commit()
    resp = client.get("/audit.csv?object_type=session_enrolment")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][2] == "Darbība"
    assert rows[1][2:5] == ["nominēts", "pieraksts", "5"]
