"""Each regime's register, built from events made through the services: every column the
regime lists is filled; a self-paced completion enters only after the countersignature; an
unscheduled briefing prints its reason."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from lms.completions.models import Completion
from lms.compliance import regimes
from lms.compliance import services as compliance
from lms.core import clock as org_clock
from lms.core.audit import AuditEntry
from lms.extensions import db
from lms.learning import attempts
from lms.registers import queries, services
from lms.registers.models import Countersignature
from tests.conftest import PASSWORD
from tests.learning.conftest import answers_for, attend_held_session


def _quiz_completion(person, program) -> Completion:
    attempt = attempts.start_attempt(db.session, person, program)
    attempts.submit_attempt(db.session, attempt, person, answers_for(attempt))
    db.session.commit()
    return db.session.query(Completion).filter_by(user_id=person.id, program_id=program.id).one()


def _use(app, monkeypatch, *codes):
    monkeypatch.setitem(app.config, "LMS_REGIMES", codes)


def test_every_regime_register_has_every_column_filled(app, world, monkeypatch):
    dept, instructor, person, fire, ohs = world
    attend_held_session(fire, instructor, person, days_ago=20)
    compliance.trigger_unscheduled(
        db.session,
        program_id=fire.id,
        reason="A fire in the warehouse on 1 March",
        due_on=org_clock.local_today(),
        department_id=dept.id,
        actor_id=None,
        since=org_clock.local_today() - timedelta(days=10),
    )
    db.session.commit()
    attend_held_session(fire, instructor, person, days_ago=2)
    completion = _quiz_completion(person, ohs)
    services.countersign(db.session, completion.id, instructor, PASSWORD)
    db.session.commit()

    for code, regime in regimes.all_regimes().items():
        rows = queries.entries(db.session, regime, queries.Filters(), regime.language)
        assert rows, code
        for e in rows:
            assert list(e.values) == list(regime.columns)
            for col, value in e.values.items():
                assert value.strip(), (code, col)
                assert value != queries.NONE or col == "reason", (code, col, e.values)
            if regime.briefing_types[e.type_key].needs_reason:
                assert e.values["reason"] != queries.NONE
    lv_fire = queries.entries(db.session, regimes.get("LV-FIRE"), queries.Filters(), "lv")
    assert [e.type_key for e in lv_fire] == ["fire_briefing", "repeated"]
    assert lv_fire[1].values["reason"] == "A fire in the warehouse on 1 March"
    assert lv_fire[0].values["personal_code"] == "325678-12345"
    assert lv_fire[0].values["instructor_position"] == "OHS specialist"
    ru_fire = queries.entries(db.session, regimes.get("RU-FIRE"), queries.Filters(), "ru")
    assert ru_fire[1].values["briefing_type"] == "Внеплановый противопожарный инструктаж"
    assert ru_fire[0].values["patronymic"] == "Ivanovich"
    lv_ohs = queries.entries(db.session, regimes.get("LV-OHS"), queries.Filters(), "lv")
    assert [e.values["briefing_type"] for e in lv_ohs] == ["Ievadapmācība"]
    assert lv_ohs[0].values["knowledge_check"].startswith("100%")
    # filters: type, period, unit
    only = queries.Filters(briefing_type="repeated")
    assert len(queries.entries(db.session, regimes.get("LV-FIRE"), only, "lv")) == 1
    later = queries.Filters(date_from=org_clock.local_today() - timedelta(days=5))
    assert len(queries.entries(db.session, regimes.get("LV-FIRE"), later, "lv")) == 1
    other = queries.Filters(department_id=dept.id + 999)
    assert queries.entries(db.session, regimes.get("LV-FIRE"), other, "lv") == []


def test_self_paced_introductory_enters_after_countersignature(
    app, world, client, auth, monkeypatch
):
    dept, instructor, person, fire, ohs = world
    _use(app, monkeypatch, "LV-OHS", "LV-FIRE")
    completion = _quiz_completion(person, ohs)
    regime = regimes.get("LV-OHS")
    assert queries.entries(db.session, regime, queries.Filters(), "lv") == []
    auth.login(instructor)
    page = client.get("/registers/countersign")
    assert page.status_code == 200 and "OHS-IN" in page.get_data(as_text=True)
    wrong = client.post(f"/registers/countersign/{completion.id}", data={"password": "nope"})
    assert wrong.status_code == 400
    assert db.session.query(Countersignature).count() == 0
    # the refused attempt stays in the audit log although the request rolled back
    failed = db.session.query(AuditEntry).filter_by(action="sign_failed", object_type="completion")
    assert [e.actor_id for e in failed] == [instructor.id]
    ok = client.post(f"/registers/countersign/{completion.id}", data={"password": PASSWORD})
    assert ok.status_code == 303
    assert "OHS-IN" not in client.get("/registers/countersign").get_data(as_text=True)
    (entry,) = queries.entries(db.session, regime, queries.Filters(), "lv")
    assert entry.values["briefing_type"] == "Ievadapmācība"
    assert entry.values["instructor"] == "Ilze Instructor"
    # the same entry in the exports, in the regime's language
    data = client.get("/registers/LV-OHS.csv").get_data()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][rows[0].index("Personas kods")] == "325678-12345"
    assert client.get("/registers/LV-OHS.xlsx").status_code == 200
    pdf = client.get("/registers/LV-OHS.pdf?paper=1")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.get("/registers/LV-OHS?type=nonsense").status_code == 400
    assert client.get("/registers/LV-OHS?from=2025-13-01").status_code == 400
    assert client.get("/registers/RU-OHS").status_code == 404  # not a chosen regime


def test_nobody_countersigns_their_own_or_twice(app, world):
    dept, instructor, person, fire, ohs = world
    completion = _quiz_completion(person, ohs)
    from lms.core.errors import Conflict, DomainError

    with pytest.raises(DomainError):
        services.countersign(db.session, completion.id, person, PASSWORD)
    services.countersign(db.session, completion.id, instructor, PASSWORD)
    with pytest.raises(Conflict):
        services.countersign(db.session, completion.id, instructor, PASSWORD)


def test_the_evidence_pack_manifest_hashes_match_its_files(app, world, client, auth, monkeypatch):
    import hashlib
    import json
    import zipfile

    dept, instructor, person, fire, ohs = world
    _use(app, monkeypatch, "LV-OHS", "LV-FIRE")
    attend_held_session(fire, instructor, person, days_ago=3)
    completion = _quiz_completion(person, ohs)
    services.countersign(db.session, completion.id, instructor, PASSWORD)
    db.session.commit()
    auth.login(instructor)
    resp = client.get(f"/registers/evidence.zip?unit={dept.id}")
    assert resp.status_code == 200
    zf = zipfile.ZipFile(io.BytesIO(resp.data))
    manifest = json.loads(zf.read("manifest.json"))
    names = {f["path"] for f in manifest["files"]}
    assert set(zf.namelist()) == names | {"manifest.json"}
    assert {
        "registers/LV-OHS.pdf",
        "registers/LV-FIRE.csv",
        "audit-extract.csv",
        "ledger-verification.txt",
    } <= names
    assert any(n.startswith("programs/FS-v") for n in names)
    assert any(n.startswith("certificates/") for n in names)
    for f in manifest["files"]:
        assert hashlib.sha256(zf.read(f["path"])).hexdigest() == f["sha256"], f["path"]
    assert b"result: OK" in zf.read("ledger-verification.txt")
    lv_ohs = zf.read("registers/LV-OHS.csv").decode("utf-8-sig")
    assert "325678-12345" in lv_ohs and "Ievadapmācība" in lv_ohs


def test_the_evidence_pack_holds_the_access_journals_of_the_exams_of_the_person(
    app, client, auth, exam_setup, monkeypatch
):
    import hashlib
    import json
    import zipfile

    _use(app, monkeypatch, "LV-OHS", "LV-FIRE")
    mine = exam_setup()
    auth.login(mine.member)  # an instructor of the commission
    boris_only = f"/registers/evidence.zip?person={mine.boris.id}&from=2000-01-01&to=2000-01-02"
    resp = client.get(f"/registers/evidence.zip?person={mine.anna.id}")
    assert resp.status_code == 200
    zf = zipfile.ZipFile(io.BytesIO(resp.data))
    manifest = json.loads(zf.read("manifest.json"))
    names = {f["path"] for f in manifest["files"]}
    journal = f"exams/exam-{mine.exam.id}-access-journal"
    assert {f"{journal}.pdf", f"{journal}.csv"} <= names
    # an exam outside the period is left out
    other = zipfile.ZipFile(io.BytesIO(client.get(boris_only).data))
    assert not any(n.startswith("exams/") for n in other.namelist())
    for f in manifest["files"]:
        assert hashlib.sha256(zf.read(f["path"])).hexdigest() == f["sha256"], f["path"]
