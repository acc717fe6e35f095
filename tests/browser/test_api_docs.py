"""The API docs page works under the app's strict Content-Security-Policy, from our own assets."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_docs_page_renders_every_operation_under_csp(new_page, live_server):
    page = new_page(bypass_csp=False)
    outside: list[str] = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(live_server.url) else None,
    )
    page.goto("/api/v1/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() == 18
    expect(page.get_by_text("/api/v1/people/by-number/{employee_number}")).to_be_visible()
    assert not [u for u in outside if not u.startswith("data:")], outside
