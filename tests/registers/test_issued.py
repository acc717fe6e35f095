"""Register PDFs and evidence packs are kept as issued: stored with their SHA-256, downloaded
again byte for byte after the template changed, sealed and validated by pyHanko, recognised by
the public upload check, recorded in the ledger and the audit log."""

from __future__ import annotations

import io
import json
import zipfile

import sqlalchemy as sa
from flask import render_template

from lms.core import anchors, documents, ledger, seal
from lms.core.audit import AuditEntry
from lms.core.documents import IssuedDocument
from lms.extensions import db
from lms.registers import exports
from tests.conftest import text_of
from tests.learning.conftest import attend_held_session


def _use(app, monkeypatch, *codes):
    monkeypatch.setitem(app.config, "LMS_REGIMES", codes)


def _docs(kind: str | None = None) -> list[IssuedDocument]:
    query = sa.select(IssuedDocument).order_by(IssuedDocument.id)
    if kind:
        query = query.where(IssuedDocument.kind == kind)
    return list(db.session.scalars(query))


def _upload(client, data: bytes, name: str) -> str:
    anon = client.application.test_client()
    resp = anon.post(
        "/verify", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )
    assert resp.status_code == 200
    return text_of(resp)


def test_a_register_pdf_is_kept_as_issued_and_downloaded_again_byte_identical(
    app, world, client, auth, monkeypatch
):
    dept, instructor, person, fire, ohs = world
    _use(app, monkeypatch, "LV-FIRE")
    attend_held_session(fire, instructor, person, days_ago=3)
    auth.login(instructor)
    url = f"/registers/LV-FIRE.pdf?unit={dept.id}&from=2000-01-01"
    first = client.get(url)
    assert first.status_code == 200 and first.data.startswith(b"%PDF-")
    db.session.expire_all()
    (doc,) = _docs(documents.REGISTER)
    assert doc.sha256 == ledger.sha256(first.data) == first.headers["X-Content-SHA256"]
    assert doc.size == len(first.data) and doc.subject == "LV-FIRE"
    assert doc.params["unit"] == dept.id and doc.params["unit_name"] == "Warehouse"
    assert doc.params["from"] == "2000-01-01" and doc.params["to"] is None
    assert doc.issued_by_id == instructor.id
    # the PDF carries the ledger head it was issued under, and the row records it
    assert doc.ledger_head and anchors.pdf_anchor(first.data, "register").seq > 0
    # a ledger entry with its hash and an audit entry name the document
    entry = db.session.scalars(
        sa.select(ledger.LedgerEntry).where(
            ledger.LedgerEntry.kind == documents.LEDGER_KIND,
            ledger.LedgerEntry.object_id == str(doc.id),
        )
    ).one()
    assert entry.content_hash == doc.sha256
    assert db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.action == "issue", AuditEntry.object_id == str(doc.id)
        )
    ).one()

    # the register page lists the copy; its link gives the issued bytes
    page = client.get("/registers/LV-FIRE")
    assert f"/registers/issued/{doc.id}" in page.get_data(as_text=True)
    assert "Download as issued" in text_of(page)

    # the template changes: a new issue differs, the issued copy does not
    def changed_template(name, **context):
        return render_template(name, **context).replace("<h1>", "<h1>Revised layout ")

    monkeypatch.setattr(exports, "render_template", changed_template)
    second = client.get(url)
    assert second.status_code == 200 and second.data != first.data
    again = client.get(f"/registers/issued/{doc.id}")
    assert again.status_code == 200 and again.data == first.data
    assert again.mimetype == "application/pdf"
    db.session.expire_all()
    # a new issue of the same register for the same period is a new row; the first unchanged
    assert [d.sha256 for d in _docs(documents.REGISTER)] == [
        ledger.sha256(first.data),
        ledger.sha256(second.data),
    ]
    assert ledger.verify(db.session).ok
    assert client.get("/registers/issued/999999").status_code == 404


def test_a_sealed_register_validates_with_pyhanko_and_the_upload_check_finds_it(
    app, world, client, auth, monkeypatch, sealed
):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    dept, instructor, person, fire, ohs = world
    _use(app, monkeypatch, "LV-FIRE")
    attend_held_session(fire, instructor, person, days_ago=3)
    auth.login(instructor)
    client.get(f"/registers/LV-FIRE.pdf?unit={dept.id}")
    db.session.expire_all()
    (doc,) = _docs(documents.REGISTER)
    assert doc.sealed
    stored = client.get(f"/registers/issued/{doc.id}").data
    context = ValidationContext(trust_roots=[sealed.certificate], allow_fetching=False)
    (sig,) = PdfFileReader(io.BytesIO(stored)).embedded_signatures
    status = seal.run_sync(lambda: validate_pdf_signature(sig, context))
    assert status.intact and status.valid and status.trusted

    text = _upload(client, stored, "register.pdf")
    assert "is the register LV-FIRE that we issued on" in text
    assert "Warehouse" in text and "unchanged since it was sealed" in text

    changed = bytearray(stored)
    changed[stored.index(b"stream", len(stored) // 8) + 20] ^= 0x01
    (sig2,) = PdfFileReader(io.BytesIO(bytes(changed)), strict=False).embedded_signatures
    status2 = seal.run_sync(lambda: validate_pdf_signature(sig2, context))
    assert not (status2.intact and status2.valid)
    text = _upload(client, bytes(changed), "register.pdf")
    assert "not a document we issued" in text and "changed after it was sealed" in text


def test_an_evidence_pack_is_kept_as_issued_with_its_registers(
    app, world, client, auth, monkeypatch
):
    dept, instructor, person, fire, ohs = world
    _use(app, monkeypatch, "LV-OHS", "LV-FIRE")
    attend_held_session(fire, instructor, person, days_ago=3)
    auth.login(instructor)
    resp = client.get(f"/registers/evidence.zip?unit={dept.id}")
    assert resp.status_code == 200
    db.session.expire_all()
    (pack,) = _docs(documents.EVIDENCE_PACK)
    assert pack.sha256 == ledger.sha256(resp.data) and pack.mimetype == "application/zip"
    assert pack.params["regimes"] == ["LV-OHS", "LV-FIRE"]
    # each register PDF in the pack is kept too, marked as such
    inner = {d.subject: d for d in _docs(documents.REGISTER)}
    assert set(inner) == {"LV-OHS", "LV-FIRE"} and all(d.params["in_pack"] for d in inner.values())
    zf = zipfile.ZipFile(io.BytesIO(resp.data))
    assert ledger.sha256(zf.read("registers/LV-FIRE.pdf")) == inner["LV-FIRE"].sha256
    assert b"result: OK" in zf.read("ledger-verification.txt")
    assert json.loads(zf.read("manifest.json"))["files"]

    # listed, downloaded again byte for byte, found by the upload check
    listing = client.get("/registers/issued")
    assert f"/registers/issued/{pack.id}" in listing.get_data(as_text=True)
    assert client.get(f"/registers/issued/{pack.id}").data == resp.data
    text = _upload(client, resp.data, "pack.zip")
    assert "evidence pack (LV-OHS,LV-FIRE) that we issued on" in text
    assert "is the register LV-FIRE" in _upload(client, zf.read("registers/LV-FIRE.pdf"), "r.pdf")
    changed = bytearray(resp.data)
    changed[len(changed) // 2] ^= 0x01
    assert "not a document we issued" in _upload(client, bytes(changed), "pack.zip")
    # a file that is neither a PDF nor a ZIP: a clear message, a 400
    anon = client.application.test_client()
    bad = anon.post(
        "/verify",
        data={"file": (io.BytesIO(b"hello"), "x.txt")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400 and "neither a PDF nor a ZIP" in text_of(bad)


def test_verify_names_a_changed_or_deleted_issued_document(app, world, client, auth, monkeypatch):
    dept, instructor, person, fire, ohs = world
    _use(app, monkeypatch, "LV-FIRE")
    attend_held_session(fire, instructor, person, days_ago=3)
    auth.login(instructor)
    client.get("/registers/LV-FIRE.pdf")
    client.get("/registers/LV-FIRE.pdf")
    db.session.expire_all()
    first, second = _docs(documents.REGISTER)
    assert ledger.verify(db.session).ok
    db.session.execute(
        sa.update(IssuedDocument).where(IssuedDocument.id == first.id).values(data=b"%PDF-forged")
    )
    db.session.execute(sa.delete(IssuedDocument).where(IssuedDocument.id == second.id))
    db.session.commit()
    report = ledger.verify(db.session)
    named = {(p.kind, p.object_id) for p in report.problems}
    assert (documents.LEDGER_KIND, str(first.id)) in named
    assert (documents.LEDGER_KIND, str(second.id)) in named
