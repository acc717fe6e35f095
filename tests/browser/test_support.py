"""A help request in the browser: an employee asks for help from the page where they are stuck
(the footer's "I need help"), with a screenshot; first-line support passes it to the second line,
the second line to the administrators, an administrator answers and the employee closes it.
Every page passes axe-core, and the employee's notices arrive in their language."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from lms.core.outbox import OutboxMessage
from lms.extensions import db
from lms.support import services
from lms.support.models import HelpRequest
from tests.browser.support import assert_accessible, sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()


def test_raise_escalate_twice_answer_and_close(new_page, make_user, tmp_path):
    employee = make_user(name="Jānis Krūmiņš")
    first = make_user(name="Pēteris Pirmais")
    second = make_user("instructor", name="Otto Otrais")
    admin = make_user("admin", name="Agnese Admine")
    services.appoint(db.session, user_id=first.id, line=1, actor_id=admin.id)
    services.appoint(db.session, user_id=second.id, line=2, actor_id=admin.id)
    db.session.commit()

    page = new_page()
    sign_in(page, employee.email, PASSWORD)
    page.goto("/account")
    page.locator("footer").get_by_role("link", name="I need help").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("I need help")
    expect(page.locator(".facts")).to_contain_text("/account")
    assert_accessible(page, "help request form")

    # A file over 5 MB is taken off the form before it is sent, with a message.
    page.get_by_label("Screenshot or document").set_input_files(
        {"name": "huge.png", "mimeType": "image/png", "buffer": PNG + b"\0" * (6 * 1024 * 1024)}
    )
    expect(page.locator("#attachment-size")).to_contain_text("larger than 5 MB")
    assert page.get_by_label("Screenshot or document").evaluate("el => el.files.length") == 0

    # A wrong file is refused by the server with a message, and nothing typed is lost.
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"GIF89a pretending")
    page.get_by_label("In a few words, what is wrong?").fill("Cannot change my PIN")
    page.get_by_label("What is it about?").select_option(label="Signing in and access")
    page.get_by_label("Describe the problem").fill("The PIN form says the PIN is wrong.")
    page.get_by_label("Screenshot or document").set_input_files(str(bad))
    page.get_by_role("button", name="Send to support").click()
    expect(page.locator(".error-summary")).to_contain_text("Only PDF, PNG and JPEG files")
    expect(page.get_by_label("In a few words, what is wrong?")).to_have_value(
        "Cannot change my PIN"
    )
    assert_accessible(page, "help request form with a refused file")
    good = tmp_path / "screen.png"
    good.write_bytes(PNG)
    page.get_by_label("Screenshot or document").set_input_files(str(good))
    page.get_by_role("button", name="Send to support").click()
    expect(page.locator(".flash-success")).to_contain_text("was sent to first-line support")
    expect(page.get_by_role("link", name="screen.png")).to_be_visible()
    assert_accessible(page, "the employee's request")
    req_id = db.session.execute(sa.select(HelpRequest.id)).scalar_one()
    _sign_out(page)

    # First line: the board shows it under the first line; passes it on with a reason.
    sign_in(page, first.email, PASSWORD)
    page.goto("/support/")
    page.get_by_role("link", name="Support board").click()
    page.wait_for_url("**/support/board**")
    assert_accessible(page, "support board (first line)")
    page.locator("#line-1").get_by_role("link", name="Cannot change my PIN").click()
    expect(page.locator(".facts")).to_contain_text("Jānis Krūmiņš")
    assert_accessible(page, "request seen by first line")
    page.get_by_role("button", name="Pass on to second-line support").click()
    expect(page.locator(".error-summary")).to_contain_text("This field is required.")
    page.get_by_label("Why it needs the next line").fill("The PIN check needs a closer look.")
    page.get_by_role("button", name="Pass on to second-line support").click()
    expect(page.locator(".flash-success")).to_contain_text("passed on")
    expect(page.get_by_text("This help request is with second-line support.")).to_be_visible()
    _sign_out(page)

    # Second line passes it to the administrators.
    sign_in(page, second.email, PASSWORD)
    page.goto("/support/board?line=2")
    page.get_by_role("link", name="Cannot change my PIN").click()
    page.get_by_label("Why it needs the next line").fill("The account is locked on the server.")
    page.get_by_role("button", name="Pass on to the system administrators").click()
    expect(page.locator(".flash-success")).to_contain_text("passed on")
    _sign_out(page)

    # An administrator answers; the employee now reads Brigade in Latvian, so the notice is
    # in Latvian whatever language the administrator uses.
    employee.locale = "lv"
    db.session.commit()
    sign_in(page, admin.email, PASSWORD)
    page.goto("/support/board")
    expect(page.locator("#line-3")).to_contain_text("Cannot change my PIN")
    assert_accessible(page, "support board (administrators)")
    page.locator("#line-3").get_by_role("link", name="Cannot change my PIN").click()
    page.get_by_label("Your reply").fill("Your PIN was reset: set a new one on your account page.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".flash-success")).to_contain_text("Your reply was added.")
    _sign_out(page)
    answer = db.session.execute(
        sa.select(OutboxMessage)
        .where(OutboxMessage.user_id == employee.id)
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    ).scalar_one()
    assert "Palīdzības pieprasījums" in answer.subject and "atbildēja" in answer.body
    employee.locale = None
    db.session.commit()

    # The employee reads the history and closes the request.
    sign_in(page, employee.email, PASSWORD)
    page.goto("/support/")
    page.get_by_role("link", name="Cannot change my PIN").click()
    history = page.locator("ol.history")
    for text in (
        "The PIN check needs a closer look.",
        "The account is locked on the server.",
        "Your PIN was reset",
    ):
        expect(history).to_contain_text(text)
    expect(page.locator(".facts")).not_to_contain_text(employee.email)  # staff-only details
    page.get_by_label("Closing note").fill("Works now, thank you.")
    page.get_by_role("button", name="Close the request").click()
    expect(page.locator(".flash-success")).to_contain_text("was closed")
    expect(page.locator(".page-head .badge")).to_have_text("Closed")
    assert_accessible(page, "closed request")

    req = db.session.get(HelpRequest, req_id)
    db.session.refresh(req)
    assert [(e.kind, e.to_line) for e in req.events] == [
        ("raised", 1),
        ("escalated", 2),
        ("escalated", 3),
        ("reply", None),
        ("closed", None),
    ]
    notices = db.session.execute(
        sa.select(OutboxMessage.body).where(OutboxMessage.user_id == employee.id)
    ).scalars()
    assert len(list(notices)) == 4  # raised, two escalations, the answer
