"""Issued certificates kept as issued, the organisation seal, readable verification codes and
the holder's language."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pypdf
import pytest
import sqlalchemy as sa

from lms import create_app
from lms.completions import certificates, codes, issued, services
from lms.completions.models import Certificate, CertificatePdf
from lms.config import Config, ConfigError
from lms.core import anchors, ledger, seal
from lms.extensions import db
from tests.conftest import text_of

PASS = "seal-pass"


def pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)


def cert_of(completion) -> Certificate:
    return db.session.execute(
        sa.select(Certificate).where(Certificate.completion_id == completion.id)
    ).scalar_one()


@pytest.fixture(scope="session")
def seal_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("seal") / "seal.p12"
    seal.make_demo_seal(path, PASS, "Brigade Demo Ltd")
    return path


@pytest.fixture
def sealed(app, seal_file, monkeypatch):
    """The app issues sealed PDFs for this test."""
    loaded = seal.load(seal_file, PASS, "Brigade Demo Ltd")
    monkeypatch.setitem(app.extensions, "brigade_seal", loaded)
    return loaded


def test_a_certificate_is_rendered_once_and_served_as_stored(
    client, login_as, make_completion, app, monkeypatch
):
    me = login_as("employee")
    cert = cert_of(make_completion(user=me))
    assert issued.stored(db.session, cert.id) is None
    page = text_of(client.get("/my/records"))
    assert "PDF being prepared" in page
    first = client.get(f"/certificates/{cert.id}.pdf")
    assert first.status_code == 200
    db.session.expire_all()
    row = issued.stored(db.session, cert.id)
    assert row is not None and row.data == first.data
    assert (
        row.sha256 == ledger.sha256(first.data) == db.session.get(Certificate, cert.id).pdf_sha256
    )
    assert "PDF being prepared" not in text_of(client.get("/my/records"))

    # a new layout (and another template choice) after the certificate was issued
    def new_layout(c) -> str:
        return "<div class='page'><p>A completely new layout</p></div>"

    monkeypatch.setattr(certificates, "certificate_html", new_layout)
    assert b"new layout" not in first.data
    assert pdf_text(certificates.render_pdf(cert)).strip() == "A completely new layout"
    second = client.get(f"/certificates/{cert.id}.pdf")
    assert second.data == first.data  # byte for byte: served as issued
    n = db.session.scalar(sa.select(sa.func.count()).select_from(CertificatePdf))
    assert n == 1
    assert ledger.verify(db.session).ok


def test_a_new_template_version_applies_to_new_certificates_only(make_completion, monkeypatch):
    old = cert_of(make_completion())
    old_pdf = services.certificate_pdf(db.session, old)
    db.session.commit()
    assert old.template_version == certificates.TEMPLATE_VERSION
    monkeypatch.setattr(certificates, "TEMPLATE_VERSION", certificates.TEMPLATE_VERSION + 1)
    # the layout of the old version is kept under v<n>/ for certificates not rendered yet
    assert certificates.template_path("classic", old.template_version) == (
        f"certificates/v{old.template_version}/classic.html"
    )
    new = cert_of(make_completion())
    assert new.template_version == certificates.TEMPLATE_VERSION
    assert services.certificate_pdf(db.session, old) == old_pdf


def test_a_retried_render_stores_one_pdf(make_completion):
    cert = cert_of(make_completion())
    issued.render_job(cert.id)
    first = issued.stored(db.session, cert.id).data
    issued.render_job(cert.id)  # the job again (a retry): nothing new
    again = issued.render([cert], ledger.head_text(db.session))[0]
    assert issued.store(db.session, cert, again) == first  # a late second render loses
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CertificatePdf)) == 1
    kinds = db.session.scalars(
        sa.select(ledger.LedgerEntry.kind).where(ledger.LedgerEntry.kind == "certificate_pdf")
    ).all()
    assert kinds == ["certificate_pdf"]
    assert ledger.verify(db.session).ok


def test_a_changed_stored_pdf_is_named_by_verify(make_completion):
    cert = cert_of(make_completion())
    services.certificate_pdf(db.session, cert)
    db.session.commit()
    db.session.execute(
        sa.update(CertificatePdf)
        .where(CertificatePdf.certificate_id == cert.id)
        .values(data=b"%PDF-1.7 forged")
    )
    db.session.commit()
    problems = ledger.verify(db.session).problems
    assert [(p.kind, p.object_id, p.reason) for p in problems] == [
        ("certificate_pdf", str(cert.id), "the signed record was changed after signing")
    ]


def test_pdf_metadata_carries_the_ledger_head(make_completion):
    cert = cert_of(make_completion())
    head = ledger.head(db.session)
    pdf = services.certificate_pdf(db.session, cert)
    anchor = anchors.pdf_anchor(pdf, "the certificate")
    assert (anchor.seq, anchor.entry_hash) == head


def test_sealed_certificate_validates_with_pyhanko_and_a_changed_byte_does_not(
    client, login_as, make_completion, sealed
):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    me = login_as("employee")
    cert = cert_of(make_completion(user=me))
    pdf = client.get(f"/certificates/{cert.id}.pdf").data
    context = ValidationContext(trust_roots=[sealed.certificate], allow_fetching=False)
    (sig,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    status = seal.run_sync(lambda: validate_pdf_signature(sig, context))
    assert status.intact and status.valid and status.trusted
    assert anchors.pdf_anchor(pdf, "sealed").seq > 0  # the seal keeps the ledger head
    assert "Brigade Demo Ltd" in status.signing_cert.subject.human_friendly
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES

    # one byte of the sealed content changed
    changed = bytearray(pdf)
    at = pdf.index(b"stream", len(pdf) // 8) + 20
    changed[at] ^= 0x01
    (sig2,) = PdfFileReader(io.BytesIO(bytes(changed)), strict=False).embedded_signatures
    status2 = seal.run_sync(lambda: validate_pdf_signature(sig2, context))
    assert not (status2.intact and status2.valid)

    # the public check reports issuer, time and integrity
    anon = client.application.test_client()
    resp = anon.post(
        "/verify", data={"file": (io.BytesIO(pdf), "c.pdf")}, content_type="multipart/form-data"
    )
    text = text_of(resp)
    assert "is the certificate" in text and "unchanged since it was sealed" in text
    assert "Brigade Demo Ltd" in text and "our organisation seal" in text
    resp = anon.post(
        "/verify",
        data={"file": (io.BytesIO(bytes(changed)), "c.pdf")},
        content_type="multipart/form-data",
    )
    text = text_of(resp)
    assert "not a document we issued" in text
    assert "changed after it was sealed" in text


def _config(tmp_path, **kw) -> Config:
    return Config(
        env="testing",
        secret_key="x",
        database_url=f"sqlite:///{tmp_path / 'seal.db'}",
        testing=True,
        **kw,
    )


def test_a_bad_seal_stops_the_start_with_a_clear_message(tmp_path, seal_file):
    damaged = tmp_path / "damaged.p12"
    damaged.write_bytes(seal_file.read_bytes()[:300])
    with pytest.raises(ConfigError, match="damaged or not a PKCS#12"):
        create_app(_config(tmp_path, seal_file=str(damaged), seal_passphrase=PASS))
    with pytest.raises(ConfigError, match="passphrase"):
        create_app(_config(tmp_path, seal_file=str(seal_file), seal_passphrase="wrong"))
    expired = tmp_path / "expired.p12"
    seal.make_demo_seal(
        expired, PASS, "Old Ltd", days=30, valid_from=datetime.now(UTC) - timedelta(days=60)
    )
    with pytest.raises(ConfigError, match="expired on"):
        create_app(_config(tmp_path, seal_file=str(expired), seal_passphrase=PASS))
    with pytest.raises(ConfigError, match="does not exist"):
        create_app(_config(tmp_path, seal_file=str(tmp_path / "none.p12"), seal_passphrase=PASS))
    # unsealed PDFs only when the configuration says so
    app = create_app(
        _config(tmp_path, seal_file=str(damaged), seal_passphrase=PASS, seal_optional=True)
    )
    assert app.extensions["brigade_seal"] is None
    good = create_app(_config(tmp_path, seal_file=str(seal_file), seal_passphrase=PASS))
    assert good.extensions["brigade_seal"].subject.startswith("Common Name: Brigade Demo Ltd")


def test_verification_codes_have_no_look_alikes_and_old_codes_still_work(client, make_completion):
    cert = cert_of(make_completion())
    assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4}-){4}[0-9A-HJKMNP-TV-Z]{4}", cert.code)
    typed = cert.code.replace("-", "").lower().replace("0", "o").replace("1", "l")
    for form in (cert.code, typed, cert.code.lower(), " ".join(cert.code.split("-"))):
        assert codes.normalise(form) == cert.code
        assert client.get(f"/verify/{form}").status_code == 200, form
    # a certificate issued with an old-style code is still found by it
    old = cert_of(make_completion())
    db.session.execute(
        sa.update(Certificate).where(Certificate.id == old.id).values(code="aB3_x-Yz9QrT2lOI0pWm")
    )
    db.session.commit()
    assert client.get("/verify/aB3_x-Yz9QrT2lOI0pWm").status_code == 200
    assert client.get("/verify/AB3_X-YZ9QRT2LOI0PWM").status_code == 404


def test_the_upload_check_is_linked_from_verify_pages_and_login(client, make_completion):
    cert = cert_of(make_completion())
    for url in (f"/verify/{cert.code}", "/login"):
        html = client.get(url).get_data(as_text=True)
        assert 'href="/verify"' in html, url


def test_issued_in_the_holders_language_with_its_numbers(make_completion, make_user):
    ru = make_user(name="Жанна Щукина", locale="ru")
    cert = cert_of(make_completion(user=ru))
    assert cert.language == "ru"
    text = pdf_text(services.certificate_pdf(db.session, cert))
    assert "Жанна Щукина" in text and "1,2" in text and "1.2" not in text
    lv = cert_of(make_completion(user=make_user(locale="lv")))
    assert lv.language == "lv"
    assert "1,2" in pdf_text(services.certificate_pdf(db.session, lv))
    en = cert_of(make_completion(user=make_user(locale="en")))
    assert "1.2" in pdf_text(services.certificate_pdf(db.session, en))


def test_a_background_job_renders_the_certificate_after_the_commit(app, make_user, make_program):
    from lms.core import afterwork

    person = make_user()
    version = make_program(approved=True).versions[0]
    with app.test_request_context("/"):
        c = services.record_completion(
            db.session,
            user_id=person.id,
            version=version,
            completed_on=datetime(2026, 3, 2).date(),
            earned_by="session",
            actor_id=None,
        )
        cert = cert_of(c)
        assert issued.stored(db.session, cert.id) is None  # nothing before the commit
        db.session.commit()
        afterwork.run_pending()  # what the request does after its commit: queue the job
    db.session.expire_all()
    row = issued.stored(db.session, cert.id)
    assert row is not None and row.sha256 == db.session.get(Certificate, cert.id).pdf_sha256
    assert ledger.verify(db.session).ok


def test_one_render_job_lays_out_the_certificates_issued_with_its_own(app, make_completion):
    """A session's signature issues a certificate per person: the first render job stores all
    of them (one layout pass), the next jobs find theirs stored; each is as issued one by one."""
    first, second, third = (cert_of(make_completion()) for _ in range(3))
    db.session.commit()
    issued.render_job(first.id)
    db.session.expire_all()
    rows = {c.id: issued.stored(db.session, c.id) for c in (first, second, third)}
    assert all(rows.values())
    for cert_id, row in rows.items():
        cert = db.session.get(Certificate, cert_id)
        assert row.sha256 == cert.pdf_sha256 == ledger.sha256(row.data)
        assert pdf_text(row.data).count(cert.number) == 1  # its own page only
    issued.render_job(second.id)  # its own job: nothing left to do
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CertificatePdf)) == 3
    assert ledger.verify(db.session).ok


def test_the_data_step_stores_certificates_issued_before_pdfs_were_stored(make_completion):
    """What the migration does: certificates with a recorded PDF hash (issued with layout 1,
    unsealed) are rendered as they were made and stored, checked against their hash."""
    same, drifted = cert_of(make_completion()), cert_of(make_completion())
    for cert in (same, drifted):
        db.session.execute(
            sa.update(Certificate).where(Certificate.id == cert.id).values(template_version=None)
        )
    db.session.commit()
    db.session.expire_all()
    legacy = certificates.render_pdf(db.session.get(Certificate, same.id))  # as first made
    db.session.execute(
        sa.update(Certificate)
        .where(Certificate.id == same.id)
        .values(pdf_sha256=ledger.sha256(legacy))
    )
    db.session.execute(  # rendered with other fonts back then: its hash cannot be reproduced
        sa.update(Certificate).where(Certificate.id == drifted.id).values(pdf_sha256="ab" * 32)
    )
    db.session.commit()
    with db.engine.connect() as conn:
        assert issued.store_already_issued(conn) == (1, 1)
        conn.commit()
    db.session.expire_all()
    kept = issued.stored(db.session, same.id)
    assert kept.data == legacy and kept.template_version == 1 and not kept.sealed
    assert b"BrigadeLedgerHead" not in legacy and b"brigadeledgerhead" not in legacy
    # the holder's copy of the drifted one is still recognised by its recorded hash
    assert issued.find_by_sha(db.session, "ab" * 32).id == drifted.id
    again = issued.stored(db.session, drifted.id)
    assert issued.find_by_sha(db.session, again.sha256).id == drifted.id
    with db.engine.connect() as conn:
        assert issued.store_already_issued(conn) == (0, 0)  # once


def test_registers_and_summaries_are_sealed_too(client, login_as, sealed):
    from pyhanko.pdf_utils.reader import PdfFileReader

    login_as("admin")
    for url in ("/sessions/journal.pdf", "/compliance/summary.pdf"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        (sig,) = PdfFileReader(io.BytesIO(resp.data)).embedded_signatures
        check = seal.check(resp.data, sealed)
        assert check.intact and check.trusted, url
        assert sig.field_name == seal.FIELD_NAME
