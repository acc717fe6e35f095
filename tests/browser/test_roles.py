"""Every role signs in through the real form; every page and form its navigation leads to
passes axe-core (WCAG 2.1 A/AA), empty and with errors; the log-in works by keyboard alone."""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.support import assert_accessible, sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

NAMES = {
    "admin": "Agnese Admine",
    "instructor": "Ivars Ozols",
    "manager": "Līga Bērziņa",
    "employee": "Jānis Krūmiņš",
    "auditor": "Rūta Vītola",
}
ROLES = tuple(NAMES)

MAX_DEPTH = 3  # clicks from the start page: Administration > People > Add a person
# Pages each role must reach from its start page (a subset: new domains add more).
EVERYONE_REACHES = {"/account", "/support/"}  # the password form: test_everyone_reaches_account_...
MUST_REACH = {
    "admin": {
        "/admin/users",
        "/admin/users/new",
        "/admin/departments",
        "/admin/departments/new",
    },
}

# Forms sent empty to check the error state: (path, button, roles that may use it).
EMPTY_SUBMISSIONS = [
    ("/admin/users/new", "Save", {"admin"}),
    ("/admin/departments/new", "Save", {"admin"}),
    ("/account", "Save PIN", set(ROLES)),
    ("/account/password", "Change password", set(ROLES)),
    ("/support/new", "Send to support", set(ROLES)),
]

_FILE_LIKE = re.compile(r"\.[A-Za-z0-9]{2,4}$")


def _links(page, selector: str) -> list[str]:
    """Same-site paths of the links matched by the selector, in order, without downloads."""
    hrefs = page.eval_on_selector_all(
        selector,
        "els => els.filter(a => !a.hasAttribute('download')).map(a => a.href)",
    )
    base = urlsplit(page.url)
    out = []
    for href in hrefs:
        parts = urlsplit(href)
        if parts.netloc != base.netloc or _FILE_LIKE.search(parts.path):
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path not in out:
            out.append(path)
    return out


# Pages (without their query string) the crawl has checked with axe in this session: the other
# roles do not load a page the admin's crawl checked, so the suite stays fast as it grows.
_CHECKED: set[str] = set()


def _visit(page, path: str, what: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{what}: {path} answered {response}"
    assert_accessible(page, f"{what}: {path}")


def _assert_error_links_lead_somewhere(page, path: str) -> None:
    """Each link in the error summary points at an element of the page (the field)."""
    targets = page.eval_on_selector_all(
        ".error-summary a[href^='#']", "els => els.map(a => a.getAttribute('href').slice(1))"
    )
    missing = [t for t in targets if page.locator(f"[id='{t}']").count() != 1]
    assert not missing, f"{path}: error summary links to missing ids {missing}"


def test_the_check_fails_on_a_serious_violation(page):
    page.goto("/login")
    page.set_content(
        '<!doctype html><html lang="en"><head><title>Broken</title></head><body><main>'
        '<img src="/static/img/brigade.svg"><input id="nameless" type="text"></main></body></html>'
    )
    with pytest.raises(AssertionError) as caught:
        assert_accessible(page, "a broken page")
    report = str(caught.value)
    assert "image-alt (critical)" in report and "label (critical)" in report, report
    assert "#nameless" in report, report


def test_login_page_is_accessible_empty_and_with_errors(page, make_user):
    user = make_user("employee", name="Jānis Krūmiņš")
    page.goto("/login")
    expect(page).to_have_title(re.compile("Sign in"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert_accessible(page, "login page")

    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.get_by_label("E-mail")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page, "login page sent empty")
    _assert_error_links_lead_somewhere(page, "/login")

    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash-error")).to_be_visible()
    assert_accessible(page, "login page after a wrong password")


@pytest.mark.parametrize("role", ROLES)
def test_every_page_a_role_reaches_is_accessible(
    role, new_page, live_server, make_user, make_department
):
    workshop = make_department(name="Metal workshop", code="WSHP")
    make_department(name="Warehouse", code="WH")
    user = make_user(role, name=NAMES[role], department=workshop, job_title="Safety officer")
    make_user("employee", name="Anna Kļaviņa", department=workshop, job_title="Lathe operator")

    page = new_page()
    sign_in(page, user.email, PASSWORD)
    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(user.name)
    expect(page.locator(".user-link")).to_have_text(user.name)
    assert_accessible(page, f"{role}: start page")

    # Breadth first from the start page: the navigation and the tiles, then on each page its
    # tiles (hub pages), buttons (the "Add ..." forms) and first table row (an edit form),
    # at most MAX_DEPTH clicks deep. A page already checked in this session (by an earlier
    # role) counts as reached but is not loaded again.
    reached = {"/"}
    queue = deque((path, 1) for path in _links(page, "nav.main-nav a, main .tiles a"))
    while queue:
        path, depth = queue.popleft()
        page_only = path.split("?")[0]  # the same page filtered another way is not new
        if page_only in reached:
            continue
        reached.add(page_only)
        if page_only in _CHECKED:
            continue
        _visit(page, path, role)
        _CHECKED.add(page_only)
        if depth < MAX_DEPTH:
            deeper = _links(page, "main .tiles a, main a.button") + _links(page, "main table a")[:1]
            queue.extend((d, depth + 1) for d in deeper)

    missing = (MUST_REACH.get(role, set()) | EVERYONE_REACHES) - reached
    assert not missing, f"{role} cannot reach {sorted(missing)} from the start page"
    if role != "admin":
        assert not any(p.startswith("/admin") for p in reached), sorted(reached)

    for path, button, roles in EMPTY_SUBMISSIONS:
        if role not in roles:
            continue
        page.goto(path)
        page.get_by_role("button", name=button, exact=True).click()
        expect(page.locator("[aria-invalid=true]").first).to_be_visible()
        assert_accessible(page, f"{role}: {path} sent empty")
        _assert_error_links_lead_somewhere(page, path)


def test_everyone_reaches_account_and_password_by_links(page, live_server, make_user):
    user = make_user("employee", name="Jānis Krūmiņš")
    sign_in(page, user.email, PASSWORD)
    page.locator("main").get_by_role("link", name="My account").click()
    expect(page).to_have_url(live_server.url + "/account")
    page.get_by_role("link", name="Change password").click()
    expect(page).to_have_url(live_server.url + "/account/password")
    page.get_by_role("link", name=user.name).click()  # the name in the header
    expect(page).to_have_url(live_server.url + "/account")


def test_skip_link_then_keyboard_only_sign_in(page, live_server, make_user):
    user = make_user("employee", name="Jānis Krūmiņš")
    page.goto("/login")

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0, "skip link off screen on focus"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    page.keyboard.press("Tab")
    expect(page.get_by_label("E-mail")).to_be_focused()
    page.keyboard.type(user.email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    remember = page.get_by_label("Keep me signed in on this device")
    expect(remember).to_be_focused()
    page.keyboard.press("Space")
    expect(remember).to_be_checked()
    page.keyboard.press("Tab")
    button = page.get_by_role("button", name="Sign in")
    expect(button).to_be_focused()
    outline = button.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none", "the focused button shows no focus outline"
    page.keyboard.press("Enter")

    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(user.name)


_WIDER_THAN_VIEWPORT = """() => [...document.querySelectorAll('body *')]
    .filter(el => !el.closest('table'))
    .filter(el => el.getBoundingClientRect().right > innerWidth + 1)
    .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : ''))"""


def test_pages_reflow_at_320_css_pixels(new_page, make_user):
    """WCAG 1.4.10: at 320 CSS pixels (400 % zoom) nothing but data tables scrolls sideways."""
    user = make_user("admin", name="Agnese Admine")
    page = new_page(viewport={"width": 320, "height": 640})
    page.goto("/login")
    overflow = {"/login": page.evaluate(_WIDER_THAN_VIEWPORT)}
    sign_in(page, user.email, PASSWORD)
    for path in ["/", "/account", "/account/password", "/admin/users/new"]:
        page.goto(path)
        overflow[path] = page.evaluate(_WIDER_THAN_VIEWPORT)
    too_wide = {path: els[:8] for path, els in overflow.items() if els}
    assert not too_wide, f"wider than 320px: {too_wide}"
