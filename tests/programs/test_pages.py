"""The program pages, driven through the test client as people use them."""

from __future__ import annotations

import re

import sqlalchemy as sa

from lms.core.audit import AuditEntry
from lms.extensions import db
from lms.programs.models import Program, Signature
from tests.conftest import PASSWORD, text_of


def test_create_edit_submit_and_sign_through_the_pages(client, auth, make_user):
    head = make_user("manager", name="Māris Kalniņš")
    author = make_user("instructor")
    auth.login(author)
    resp = client.post(
        "/programs/new",
        data={
            "code": "fs-basic",
            "category": "fire",
            "head_id": head.id,
            "title_en": "Fire basics",
            "title_lv": "Ugunsdrošības pamati",
            "briefing_type": "repeated",
            "delivery_mode": "self_paced",
            "refresher_months": "12",
            "languages": ["en", "lv"],
        },
    )
    assert resp.status_code == 302, text_of(resp)
    program = db.session.execute(sa.select(Program)).scalar_one()
    assert program.code == "FS-BASIC"
    base = f"/programs/{program.id}/v/1"
    resp = client.post(
        f"{base}/topics/new",
        data={
            "title_en": "Fire triangle",
            "body_en": "## Heat\n\n<script>alert(1)</script>",
            "minutes": "30",
            "kind": "lesson",
        },
    )
    assert resp.status_code == 302
    page = client.get(base).get_data(as_text=True)
    assert "<h2>Heat</h2>" in page and "<script>alert(1)" not in page
    assert client.post(f"{base}/submit").status_code == 302
    # frozen now
    resp = client.post(
        f"{base}/topics/new", data={"title_en": "More", "minutes": "5", "kind": "lesson"}
    )
    assert resp.status_code == 409 and "frozen" in text_of(resp)
    # the author is no program head
    assert client.get(f"{base}/sign").status_code == 403
    auth.logout()
    auth.login(head)
    assert "FS-BASIC" in text_of(client.get("/programs/awaiting"))
    assert "FS-BASIC" in text_of(client.get("/"))
    resp = client.post(f"{base}/sign", data={"meaning": "approved", "password": "wrong-one"})
    assert resp.status_code == 400 and "password is wrong" in text_of(resp)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 0
    failed = db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.action == "sign_failed")
    ).scalar()
    assert failed is not None and failed.actor_id == head.id
    seen = shown_effects(client, f"{base}/sign")
    resp = client.post(f"{base}/sign", data={"meaning": "approved", "password": PASSWORD, **seen})
    assert resp.status_code == 302
    text = text_of(client.get(base))
    assert "Māris Kalniņš" in text and "Approved: I approve" in text and "Content SHA-256" in text
    resp = client.post(f"{base}/sign", data={"meaning": "approved", "password": PASSWORD})
    assert resp.status_code == 409


def shown_effects(client, url: str) -> dict[str, str]:
    """The effect fingerprints the sign page shows (hidden fields), as a browser sends them."""
    page = client.get(url).get_data(as_text=True)
    return {
        name: re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1)
        for name in ("effects_plain", "effects_rebrief")
    }


def test_signing_a_draft_is_refused_on_the_page(client, auth, make_program):
    program = make_program(approved=False)
    auth.login(program.head)
    resp = client.post(
        f"/programs/{program.id}/v/1/sign", data={"meaning": "approved", "password": PASSWORD}
    )
    assert resp.status_code == 400 and "Submit it first" in text_of(resp)


def test_new_draft_and_diff_pages(client, login_as, make_program):
    program = make_program(approved=True)
    login_as("instructor")
    resp = client.post(f"/programs/{program.id}/drafts")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/v/2")
    assert client.post(f"/programs/{program.id}/drafts").status_code == 409
    v2 = program.versions
    db.session.expire_all()
    program = db.session.get(Program, program.id)
    topic = program.versions[1].topics[0]
    client.post(
        f"/programs/{program.id}/v/2/topics/{topic.id}",
        data={
            "title_en": "Fire triangle",
            "body_en": "## Heat, fuel, oxygen\n\nRemove any one.",
            "minutes": "30",
            "kind": "lesson",
        },
    )
    text = text_of(client.get(f"/programs/{program.id}/diff?a=1&b=2"))
    assert "Remove any one." in text and "Remove one." in text
    assert v2 is not None


def test_list_filters_and_version_page_language_fallback(client, login_as, make_program):
    make_program(approved=True, code="FIRE-A")
    make_program(approved=False, code="WORK-B", category="workplace")
    login_as("auditor")
    text = text_of(client.get("/programs/?category=workplace"))
    assert "WORK-B" in text and "FIRE-A" not in text
    text = text_of(client.get("/programs/?status=approved"))
    assert "FIRE-A" in text and "WORK-B" not in text
    assert "FIRE-A" in text_of(client.get("/programs/?q=fire-a"))
    program = db.session.execute(sa.select(Program).where(Program.code == "FIRE-A")).scalar_one()
    text = text_of(client.get(f"/programs/{program.id}/v/1?content_lang=ru"))
    assert "not available in your language" in text
    # auditors read but do not edit
    assert client.post(f"/programs/{program.id}/drafts").status_code == 403
    assert client.get("/programs/new").status_code == 403


def test_bad_urls_and_forms(client, login_as, make_program):
    program = make_program(approved=False)
    login_as("admin")
    assert client.get(f"/programs/{program.id}/v/99").status_code == 404
    assert client.get("/programs/424242").status_code == 404
    assert client.get(f"/programs/{program.id}/v/1/topics/999").status_code == 404
    resp = client.post(
        f"/programs/{program.id}/v/1/topics/new", data={"title_en": "", "minutes": "0"}
    )
    assert resp.status_code == 400
    resp = client.post(
        "/programs/new",
        data={
            "code": "!!",
            "category": "fire",
            "head_id": 0,
            "briefing_type": "repeated",
            "delivery_mode": "self_paced",
            "refresher_months": "500",
        },
    )
    assert resp.status_code == 400
    text = text_of(resp)
    assert "Refresher interval" in text


def test_attachment_is_checked_by_content(client, login_as, make_program):
    import io

    program = make_program(approved=False)
    login_as("instructor")
    topic = program.versions[0].topics[0]
    url = f"/programs/{program.id}/v/1/topics/{topic.id}"
    data = {
        "title_en": "Fire triangle",
        "minutes": "30",
        "kind": "lesson",
        "attachment": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "evil.pdf"),
    }
    resp = client.post(url, data=data, content_type="multipart/form-data")
    assert resp.status_code == 400 and "Only PDF, PNG and JPEG" in text_of(resp)
    data["attachment"] = (io.BytesIO(b"%PDF-1.4\n%fake but starts right"), "plan.pdf")
    resp = client.post(url, data=data, content_type="multipart/form-data")
    assert resp.status_code == 302
    db.session.expire_all()
    from lms.programs.models import Attachment

    att = db.session.execute(sa.select(Attachment)).scalar_one()
    got = client.get(f"/programs/attachments/{att.id}")
    assert got.status_code == 200 and got.data.startswith(b"%PDF-")
    assert got.headers["Content-Disposition"].startswith("attachment")


def test_audit_log_page_filters(client, login_as, make_program):
    program = make_program(approved=True)
    login_as("auditor")
    text = text_of(client.get("/audit"))
    # actions and object kinds are shown as their labels (lms/core/audit_labels.py)
    assert "signed" in text and "program version" in text
    text = text_of(client.get(f"/audit?person={program.head_id}"))
    assert "signed" in text and "created" not in text.split("Summary", 1)[1]
    assert client.get("/audit?from=not-a-date&to=2030-01-01").status_code == 200
