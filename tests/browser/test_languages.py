"""The header's language switcher (a select and a button, no JavaScript needed) turns every
role's main pages into Latvian or Russian with no English left over."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from lms.core.i18n import LANGUAGE_NAMES
from tests.browser.support import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

ROLES = ("admin", "instructor", "manager", "employee", "auditor")
PAGES = ("/", "/account")
# Words that stay as they are in every language: the product's name, the language names in
# the switchers (each written in its own language) and the abbreviation PIN.
SAME_IN_EVERY_LANGUAGE = {"Brigade", "PIN", *LANGUAGE_NAMES.values()}
# A word, with inner hyphens or apostrophes: "E-mail" and "E-pasts" are different words.
WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")


def _words(text: str) -> set[str]:
    return {w.casefold() for w in WORD.findall(text)}


def _visible_text(page, path: str) -> str:
    """The title and the visible text of the whole page: header, navigation, main, footer."""
    response = page.goto(path)
    assert response is not None and response.status == 200, (path, response)
    return page.title() + "\n" + page.locator("body").inner_text()


def _switch_language(page, code: str) -> None:
    """Choose the language in the header's select and press its button ("Change")."""
    switcher = page.locator("header form.lang-switch")
    switcher.locator("select").select_option(code)
    switcher.get_by_role("button").click()
    page.wait_for_load_state()


@pytest.mark.parametrize("role", ROLES)
def test_switcher_translates_the_main_pages(role, app, new_page, make_user):
    # No department and no job title: every word on these pages then comes from the app.
    user = make_user(role, name="Marta Zvaigzne", email=f"{role}@brigade.test", job_title="")
    exempt = _words(" ".join([user.name, user.email, app.config["LMS_CONFIG"].organisation_name]))
    exempt |= _words(" ".join(SAME_IN_EVERY_LANGUAGE))

    page = new_page(java_script_enabled=False)  # the switcher must work without JavaScript
    sign_in(page, user.email, PASSWORD)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    english = {path: _words(_visible_text(page, path)) - exempt for path in PAGES}
    assert all(english.values())
    expect(page.locator("header").get_by_role("button", name="Change", exact=True)).to_be_visible()

    problems = []
    for lang in ("lv", "ru"):
        page.goto("/account")
        _switch_language(page, lang)
        assert page.url.endswith("/account"), "the switcher should come back to the same page"
        for path in PAGES:
            text = _visible_text(page, path)
            expect(page.locator("html")).to_have_attribute("lang", lang)
            assert user.name in text
            if lang == "ru":
                assert re.search(r"[а-яё]", text, re.I), text
            left = sorted(english[path] & _words(text))
            if left:
                problems.append(f"{lang} {path}: {', '.join(left)}")
    assert not problems, f"{role}: English words left after switching:\n" + "\n".join(problems)
