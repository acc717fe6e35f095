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


def _summary(call: ast.Call) -> ast.AST | None:
    if len(call.args) > 5:
        return call.args[5]
    return next((k.value for k in call.keywords if k.arg == "summary"), None)


def _is_key_or_data(node: ast.AST) -> bool:
    """A summary Brigade may write: a message key (texts.stored), nothing, or data as it is
    (a name, a code, a reason typed by a person: an attribute or a variable, maybe cut or
    stripped). A sentence or an f-string composed in English is refused, and so is a text
    translated when written (it would stay in the writer's language)."""
    if isinstance(node, ast.Constant):
        return node.value == ""
    if isinstance(node, ast.IfExp):
        return _is_key_or_data(node.body) and _is_key_or_data(node.orelse)
    if isinstance(node, ast.Name | ast.Attribute):
        return True
    if isinstance(node, ast.Subscript):  # reason[:200]
        return isinstance(node.slice, ast.Slice) and _is_key_or_data(node.value)
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "stored":
            return True
        if isinstance(func, ast.Attribute) and func.attr in ("strip", "lower", "upper"):
            return _is_key_or_data(func.value)
        if isinstance(func, ast.Name) and func.id == "next":  # the first of a person's titles
            return True
    return False


def _summaries() -> list[tuple[str, int, str, bool]]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Call) or len(node.args) < 4:
                continue
            func = node.func
            if not (
                isinstance(func, ast.Attribute)
                and func.attr in ("record", "record_apart")
                and isinstance(func.value, ast.Name)
                and func.value.id == "audit"
            ):
                continue
            summary = _summary(node)
            text = ast.get_source_segment(source, summary) if summary is not None else ""
            ok = summary is None or _is_key_or_data(summary)
            found.append((str(path.relative_to(ROOT.parent)), node.lineno, text or "", ok))
    return found


def test_no_audit_summary_is_an_english_sentence_of_brigades_own():
    found = _summaries()
    assert len(found) > 80, len(found)  # the scan found the calls
    keys = [f for f in found if "texts.stored(" in f[2]]
    assert len(keys) > 20, len(keys)
    assert [f[:3] for f in found if not f[3]] == []


def test_the_scan_refuses_sentences_fstrings_and_texts_translated_when_written():
    def judged(expr: str) -> bool:
        return _is_key_or_data(ast.parse(expr, mode="eval").body)

    assert judged('texts.stored("core.wrong_password")')
    assert judged("user.name") and judged("reason.strip()[:200]") and judged('""')
    assert not judged('"wrong password"')
    assert not judged('f"{program.code} v{version.number}"')
    assert not judged('_("%(n)d people added", n=n)')
    assert not judged("str(written)")
    assert not judged('"a" if x else user.name')


def test_summaries_brigade_writes_read_in_the_readers_language(client, login_as):
    """A refused signature and a scheduled session as the log shows them in Latvian, on the
    page and in the CSV; an older row holding an English sentence still shows as stored."""
    import csv
    import io

    from lms.core import texts

    admin = login_as("admin")
    admin.locale = "lv"
    audit.record(
        db.session,
        admin.id,
        "sign_failed",
        "training_session",
        3,
        texts.stored("core.wrong_password"),
    )
    audit.record(
        db.session,
        admin.id,
        "create",
        "training_session",
        4,
        texts.stored("sessions.scheduled", code="FS-1", n=2, when="2026-12-10T08:00:00+00:00"),
    )
    audit.record(db.session, admin.id, "change", "training_session", 5, "Something else, old")
    db.session.commit()
    page = client.get("/audit?object_type=training_session").get_data(as_text=True)
    assert "Nepareiza parole" in page and "FS-1, 2. versija, 2026. gada 10. dec." in page
    assert "msg:" not in page and "Something else, old" in page
    resp = client.get("/audit.csv?object_type=training_session")
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    summaries = [r[5] for r in rows[1:]]
    assert "Nepareiza parole" in summaries and "Something else, old" in summaries
    assert not any(s.startswith("msg:") for s in summaries)


def test_the_evidence_pack_audit_extract_reads_in_the_readers_language(client, login_as):
    import csv
    import io
    import zipfile

    from lms.core import texts

    admin = login_as("admin")
    admin.locale = "lv"
    audit.record(
        db.session, admin.id, "revoke_failed", "completion", 8, texts.stored("core.wrong_password")
    )
    db.session.commit()
    resp = client.get("/registers/evidence.zip")
    assert resp.status_code == 200
    with zipfile.ZipFile(io.BytesIO(resp.data)) as z:
        text = z.read("audit-extract.csv").decode("utf-8").lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][2] == "Darbība"
    mine = [r for r in rows[1:] if r[4] == "8"]
    assert mine and mine[0][2] == "anulēšana noraidīta" and mine[0][5] == "Nepareiza parole", mine
    assert mine[0][1] == admin.name and ":" in mine[0][0] and "T" not in mine[0][0]
