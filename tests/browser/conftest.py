"""Browser fixtures: the session's app on a live server, Debian's Chromium through Playwright,
and a fresh browser context for each test (English, 1280x800)."""

from __future__ import annotations

import pytest

from tests.browser.support import (
    AXE_JS,
    VIEWPORT,
    LiveServer,
    assert_accessible,
    launch_chromium,
    sign_in,
)

__all__ = ["assert_accessible", "sign_in"]


@pytest.fixture(scope="session")
def live_server(app):
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        try:
            chromium = launch_chromium(playwright)
        except RuntimeError as err:
            pytest.fail(str(err), pytrace=False)
        yield chromium
        chromium.close()


def _console(msg, errors: list[str]) -> None:
    # A 4xx page (a form sent empty) is logged as "Failed to load resource": expected, and
    # failed subresources are caught by _subresource with their address.
    if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
        errors.append(f"console: {msg.text}")


def _subresource(response, errors: list[str]) -> None:
    """A stylesheet, image or script that fails or is redirected (to the log-in page)."""
    request = response.request
    if request.resource_type == "document":
        return
    if response.status >= 400 or request.redirected_from is not None:
        errors.append(f"{request.resource_type} {request.url} answered {response.status}")
    elif response.status in (301, 302, 303, 307, 308):
        errors.append(
            f"{request.resource_type} {request.url} redirects to {response.headers.get('location')}"
        )


@pytest.fixture
def new_page(browser, live_server):
    """Open a page in a new browser context; keyword arguments override the context options.

    The context bypasses the app's Content-Security-Policy only so that axe-core can be
    injected. The test fails if a page logs a script error or a stylesheet, image or script
    fails to load.
    """
    contexts = []
    errors: list[str] = []

    def make(**options):
        settings = {
            "base_url": live_server.url,
            "locale": "en-US",
            "extra_http_headers": {"Accept-Language": "en"},
            "viewport": VIEWPORT,
            "bypass_csp": True,
        }
        settings.update(options)
        context = browser.new_context(**settings)
        context.set_default_timeout(10_000)
        if settings.get("java_script_enabled", True):
            # axe-core on every page of the context, ready for assert_accessible (faster than
            # adding the script tag to each page; assert_accessible falls back to that).
            context.add_init_script(path=str(AXE_JS))
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: _console(msg, errors))
        page.on("pageerror", lambda exc: errors.append(f"script error: {exc}"))
        page.on("response", lambda resp: _subresource(resp, errors))
        return page

    yield make
    for context in contexts:
        context.close()
    # No request may still be running when _clean_database wipes the tables.
    live_server.wait_idle()
    assert not errors, "the browser reported errors:\n" + "\n".join(errors)


@pytest.fixture
def page(new_page):
    return new_page()
