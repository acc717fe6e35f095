"""Certificates: every printed field, QR, reproducible PDFs, verification, revocation, bulk."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pypdf
import pytest
import sqlalchemy as sa
import time_machine
import zxingcpp
from PIL import Image

from lms.completions import certificates, services
from lms.completions.models import Certificate, Revocation
from lms.core import ledger
from lms.extensions import db
from tests.conftest import PASSWORD, text_of


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def qr_payloads(data: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    found = []
    for image in reader.pages[0].images:
        img = Image.open(io.BytesIO(image.data)).convert("L")
        img = img.resize((img.width * 3, img.height * 3))
        found += [r.text for r in zxingcpp.read_barcodes(img)]
    return found


def cert_of(completion) -> Certificate:
    return db.session.execute(
        sa.select(Certificate).where(Certificate.completion_id == completion.id)
    ).scalar_one()


def test_pdf_holds_every_field_and_the_qr(app, make_completion, make_user):
    trainer = make_user("instructor", name="Ivars Ozols")
    c = make_completion(trainer=trainer)
    cert = cert_of(c)
    assert cert.number == f"BRG-2026-{c.id:07d}"
    assert len(cert.code) >= 20
    pdf = services.certificate_pdf(db.session, cert, "en")
    text = pdf_text(pdf)
    for expected in (
        "Brigade Demo Ltd",
        "Certificate of completion",
        "Jānis Krūmiņš",
        "Metinātājs",
        "P-1",
        "Program 1",
        "Repeated briefing",
        "1.2",
        "March 2, 2026",
        "March 2, 2027",
        "Ivars Ozols",
        cert.number,
        cert.code,
    ):
        assert expected in text, expected
    url = f"http://127.0.0.1:5000/verify/{cert.code}"
    assert url in text.replace("\n", "")
    assert qr_payloads(pdf) == [url]
    fonts = {
        str(f.get_object()["/BaseFont"])
        for page in pypdf.PdfReader(io.BytesIO(pdf)).pages
        for f in page["/Resources"]["/Font"].values()
    }
    # embedded subsets ("ABCDEF+name") of our own DejaVu-based face, not system fonts
    assert fonts and all("+Brigade-Sans" in name for name in fonts), fonts


def test_latvian_russian_and_bilingual_certificates(make_completion, make_user):
    c = make_completion(user=make_user(name="Жанна Щукина", job_title="Кладовщик"))
    cert = cert_of(c)
    lv = pdf_text(certificates.render_pdf(cert))  # issued in the default language, Latvian
    assert "Apliecība" in lv or "apliecība" in lv.lower()
    assert "Жанна Щукина" in lv
    ru_variant = pdf_text(services.certificate_pdf(db.session, cert, "ru"))
    assert "Жанна Щукина" in ru_variant and "Кладовщик" in ru_variant
    both = pdf_text(services.certificate_pdf(db.session, cert, "lv+en"))
    assert "Certificate of completion" in both


def test_pdf_is_reproducible_and_checkable(client, login_as, make_completion):
    c = make_completion()
    cert = cert_of(c)
    first = services.certificate_pdf(db.session, cert)
    db.session.commit()
    assert services.certificate_pdf(db.session, cert) == first
    assert cert.pdf_sha256 == ledger.sha256(first)
    resp = client.post(
        "/verify", data={"file": (io.BytesIO(first), "c.pdf")}, content_type="multipart/form-data"
    )
    assert resp.status_code == 200 and "is the certificate" in text_of(resp)
    forged = first[:-20] + b"%tampered" + first[-11:]
    resp = client.post(
        "/verify", data={"file": (io.BytesIO(forged), "c.pdf")}, content_type="multipart/form-data"
    )
    assert "not a document we issued" in text_of(resp)


def test_bad_uploads(client, make_completion):
    resp = client.post(
        "/verify",
        data={"file": (io.BytesIO(b"GIF89a not a pdf"), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 400 and "neither a PDF nor a ZIP" in text_of(resp)
    huge = b"%PDF-" + b"0" * (6 * 1024 * 1024)
    resp = client.post(
        "/verify", data={"file": (io.BytesIO(huge), "x.pdf")}, content_type="multipart/form-data"
    )
    assert resp.status_code == 413
    assert client.post("/verify", data={}).status_code == 400


def test_verification_page_states(client, make_completion, login_as):
    c = make_completion(completed_on=date(2026, 3, 2))
    cert = cert_of(c)
    with time_machine.travel("2026-06-01 10:00Z"):
        text = text_of(client.get(f"/verify/{cert.code}"))
        assert "Valid" in text and "Jānis Krūmiņš" in text and "P-1" in text
        assert cert.fields["job_title"] not in text  # nothing more than name and program
    with time_machine.travel("2027-06-01 10:00Z"):
        assert "Expired" in text_of(client.get(f"/verify/{cert.code}"))
    admin = login_as("admin")
    # a revocation is a signature: no password, a wrong one, no reason -> nothing revoked
    url = f"/certificates/{cert.id}/revoke"
    assert client.post(url, data={"reason": "Trainer not qualified"}).status_code == 400
    resp = client.post(url, data={"reason": "Trainer not qualified", "password": "wrong"})
    assert resp.status_code == 400 and "password is wrong" in text_of(resp)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Revocation)) == 0
    resp = client.post(url, data={"reason": "Trainer not qualified", "password": PASSWORD})
    assert resp.status_code == 302
    (r,) = db.session.scalars(sa.select(Revocation)).all()
    assert (r.meaning, r.method, r.printed_name) == ("revoked", "password", admin.name)
    # an already revoked certificate cannot be revoked again
    resp = client.post(url, data={"reason": "Again", "password": PASSWORD})
    assert resp.status_code == 409 and "already revoked" in text_of(resp)
    anon = client.application.test_client()
    text = text_of(anon.get(f"/verify/{cert.code}"))
    assert "Revoked" in text
    kinds = db.session.scalars(sa.select(ledger.LedgerEntry.kind)).all()
    assert "completion_revocation" in kinds
    assert ledger.verify(db.session).ok
    assert admin is not None


def test_bad_codes(client):
    assert client.get("/verify/short").status_code == 400
    assert client.get("/verify/" + "x" * 24).status_code == 404
    assert client.get("/verify/bad%20code%20with%20spaces!!").status_code == 400


def test_verification_is_rate_limited(client):
    codes = [client.get("/verify/" + "y" * 24).status_code for _ in range(31)]
    assert codes[:30] == [404] * 30 and codes[30] == 429


def test_auditor_reads_but_cannot_revoke(client, login_as, make_completion):
    cert = cert_of(make_completion())
    login_as("auditor")
    assert client.get(f"/certificates/{cert.id}.pdf").status_code == 200
    assert client.post(f"/certificates/{cert.id}/revoke", data={"reason": "x"}).status_code == 403
    assert client.get("/certificates/templates").status_code == 403


def test_employee_sees_only_own_certificates(client, login_as, make_completion, make_user):
    other = cert_of(make_completion())
    me = login_as("employee")
    mine = cert_of(make_completion(user=me))
    assert client.get(f"/certificates/{mine.id}.pdf").status_code == 200
    assert client.get(f"/certificates/{other.id}.pdf").status_code == 403
    assert client.get(f"/people/{other.completion.user_id}/training").status_code == 403


def test_lineage_is_printed(make_completion, make_user, make_program):
    program = make_program(approved=True)
    specialist = make_user("instructor", name="Ivars Ozols")
    manager = make_user("manager", name="Līga Bērziņa")
    top = make_completion(user=manager, program=program, trainer=specialist)
    staff = make_completion(
        user=make_user(name="Anna Kļaviņa"),
        program=program,
        trainer=manager,
        trainer_completion=top,
    )
    text = pdf_text(services.certificate_pdf(db.session, cert_of(staff), "en"))
    assert "Līga Bērziņa" in text and "Ivars Ozols" in text
    assert "Trainer's own training from" in text


def test_bulk_zip_has_one_valid_pdf_per_certificate(
    client, login_as, make_completion, make_user, make_program
):
    program = make_program(approved=True)
    made = [
        make_completion(user=make_user(name=f"Darbinieks {i}"), program=program) for i in range(6)
    ]
    make_completion()  # another program: not in the filter
    login_as("auditor")
    text = text_of(client.get(f"/auditor/?program={program.id}"))
    assert text.count("Darbinieks ") == 6 and "Jānis Krūmiņš" not in text
    resp = client.post("/auditor/export", data={"program": program.id})
    assert resp.status_code == 302
    status = client.get(resp.headers["Location"])
    assert "6 certificates are ready" in text_of(status)
    job_url = resp.headers["Location"]
    zresp = client.get(job_url + "/download")
    assert zresp.status_code == 200
    zf = zipfile.ZipFile(io.BytesIO(zresp.data))
    names = sorted(zf.namelist())
    certs = [cert_of(c) for c in made]
    assert names == sorted(f"{c.number}.pdf" for c in certs)
    db.session.expire_all()
    for cert in certs:
        data = zf.read(f"{cert.number}.pdf")
        assert cert.fields["person_name"] in pdf_text(data)
        assert ledger.sha256(data) == db.session.get(Certificate, cert.id).pdf_sha256
        # the stored PDF as issued: the same bytes as a single download
        assert data == services.certificate_pdf(db.session, db.session.get(Certificate, cert.id))


def test_export_of_nothing_is_refused(client, login_as):
    login_as("auditor")
    resp = client.post("/auditor/export", data={"q": "nobody"})
    assert resp.status_code == 303


def test_admin_chooses_template_per_category(client, login_as, make_completion, make_program):
    login_as("admin")
    assert (
        client.post("/certificates/templates", data={"template-fire": "compact"}).status_code == 302
    )
    cert = cert_of(make_completion())
    assert cert.template == "compact"


@pytest.mark.parametrize("code", ["", "../../etc/passwd"])
def test_verify_form_with_code_redirects_or_refuses(client, code):
    resp = client.post("/verify", data={"code": code})
    assert resp.status_code in (302, 400)


def test_bulk_export_in_worker_processes_gives_the_same_bytes(
    client, login_as, make_completion, make_user, make_program, monkeypatch
):
    from lms.completions import exports

    monkeypatch.setattr(exports, "BATCH", 2)  # three batches: laid out in worker processes
    monkeypatch.setattr(exports.os, "cpu_count", lambda: 2)
    program = make_program(approved=True)
    made = [
        make_completion(user=make_user(name=f"Darbinieks {i}"), program=program) for i in range(5)
    ]
    login_as("auditor")
    resp = client.post("/auditor/export", data={"program": program.id})
    zf = zipfile.ZipFile(io.BytesIO(client.get(resp.headers["Location"] + "/download").data))
    db.session.expire_all()
    for cert in (cert_of(c) for c in made):
        data = zf.read(f"{cert.number}.pdf")
        assert ledger.sha256(data) == db.session.get(Certificate, cert.id).pdf_sha256
        # the stored PDF as issued: the same bytes as a single download
        assert data == services.certificate_pdf(db.session, db.session.get(Certificate, cert.id))


def test_whose_records_each_role_sees(client, login_as, make_user, make_department):
    """Named permissions: records.view_any (admin, auditor, instructor) sees everyone,
    records.view_department (manager) the own department tree, anyone else only their own."""
    top = make_department()
    unit = make_department(parent=top)
    elsewhere = make_department()
    inside = make_user(department=unit)
    outside = make_user(department=elsewhere)

    def seen(person) -> int:
        return client.get(f"/people/{person.id}/training").status_code

    login_as("manager", department=top)
    assert (seen(inside), seen(outside)) == (200, 403)
    client.post("/logout")
    login_as("instructor", department=top)
    assert (seen(inside), seen(outside)) == (200, 200)
    client.post("/logout")
    login_as("employee", department=unit)
    assert (seen(inside), seen(outside)) == (403, 403)
    assert client.get("/people/999999/training").status_code == 404


def test_a_certificate_names_its_signatories_in_its_language(make_completion, make_user):
    trainer = make_user("instructor", name="Ivars Ozols", job_title="Fire safety specialist")
    trainer.job_titles = {
        "lv": "Ugunsdrošības speciālists",
        "ru": "Специалист по пожарной безопасности",
    }
    db.session.commit()
    c = make_completion(trainer=trainer)
    cert = cert_of(c)
    approval = next(s for s in c.version.signatures if s.meaning == "approved")
    f = cert.fields
    assert f["instructor_position"] == "Fire safety specialist"
    assert f["approver"] == approval.printed_name and f["approved_on"]
    assert cert.template == "classic" and certificates.SIGNATORIES["classic"] == (
        "conductor",
        "approver",
    )
    lv = pdf_text(services.certificate_pdf(db.session, cert, "lv"))
    for expected in ("Apmācību vadīja", "Ivars Ozols", "Ugunsdrošības speciālists"):
        assert expected in lv, expected
    assert "Programmas versiju apstiprināja" in lv and approval.printed_name in lv
    assert "apstiprināta" in lv
    ru = pdf_text(services.certificate_pdf(db.session, cert, "ru"))
    assert "Обучение провёл" in ru and "Специалист по пожарной безопасности" in ru
    assert "Версию программы утвердил" in ru


def test_the_signatory_block_is_set_per_layout_and_older_layouts_stay(make_completion, make_user):
    trainer = make_user("instructor", name="Ivars Ozols", job_title="Fire safety specialist")
    cert = cert_of(make_completion(trainer=trainer))
    html = certificates.certificate_html(cert)
    assert "Training conducted by" not in html  # Latvian by default
    assert 'class="signatories"' in html and html.count('class="signatory"') == 2
    cert.template = "compact"  # the compact layout prints the conductor only
    assert certificates.certificate_html(cert).count('class="signatory"') == 1
    cert.template = "classic"
    cert.template_version = 2  # a certificate issued with the previous layout keeps it
    assert 'class="signatories"' not in certificates.certificate_html(cert)
    db.session.rollback()
