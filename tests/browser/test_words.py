"""Every word a reader sees in Latvian or Russian is in their language: the audit log, a
revoked completion (with the reason Brigade wrote), the briefing register and a certificate's
page of the demo organisation carry no English word of Brigade's own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.pofile import read_po

from lms.accounts.models import User
from lms.completions import services as completions
from lms.completions.models import Certificate, Completion
from lms.core import texts
from lms.core.audit_labels import ACTIONS, OBJECTS
from lms.core.i18n import LANGUAGE_NAMES
from lms.demo import DEPARTMENT_NAMES, JOB_TITLE_NAMES, email_for, load_demo
from lms.extensions import db
from tests.browser.support import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
CATALOGUES = Path(__file__).resolve().parents[2] / "lms" / "translations"


def _words(text: str) -> set[str]:
    return {w.casefold() for w in WORD.findall(text) if len(w) > 2}


def _catalogue(lang: str):
    with open(CATALOGUES / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=lang)


def brigade_english() -> set[str]:
    """Brigade's own English words: its messages, the stored keys it labels, the demo's names;
    less the words its Latvian and Russian texts use as well (Brigade, PDF, CSV, API...)."""
    english: set[str] = set()
    for m in _catalogue("lv"):
        if m.id:
            english |= _words(" ".join(m.id) if isinstance(m.id, tuple) else m.id)
    english |= _words(
        " ".join(ACTIONS).replace("_", " ") + " " + " ".join(OBJECTS).replace("_", " ")
    )
    english |= _words(" ".join(DEPARTMENT_NAMES) + " " + " ".join(JOB_TITLE_NAMES))
    english |= _words("Re-briefing needed trainer's own training was revoked")
    shared: set[str] = set()
    for lang in ("lv", "ru"):
        for m in _catalogue(lang):
            if m.string:
                shared |= _words(" ".join(m.string) if isinstance(m.string, tuple) else m.string)
    # placeholders ("%(name)s") are not words a reader sees
    shared |= _words(" ".join(LANGUAGE_NAMES.values()))  # each written in its own language
    return english - shared - {"name", "code", "date", "when", "title", "count", "number"}


@pytest.fixture
def demo_with_a_revocation():
    load_demo(db.session, password=PASSWORD, echo=lambda _m: None)
    db.session.commit()
    admin = db.session.execute(sa.select(User).where(User.email == email_for("admin"))).scalar_one()
    # a completion revoked with the reason the cascade writes for a trainer's lapse
    completion = (
        db.session.execute(
            sa.select(Completion).join(Certificate, Certificate.completion_id == Completion.id)
        )
        .scalars()
        .first()
    )
    assert completion is not None
    trainer = db.session.get(User, completion.trainer_id) if completion.trainer_id else admin
    completions.revoke(
        db.session,
        completion,
        texts.stored("cascade.trainer_revoked", name=trainer.name),
        admin.id,
    )
    db.session.commit()
    code = db.session.scalar(
        sa.select(Certificate.code).where(Certificate.completion_id == completion.id)
    )
    return admin, completion.user_id, code


@pytest.mark.parametrize("lang", ["lv", "ru"])
def test_no_english_word_of_brigades_own(lang, new_page, demo_with_a_revocation):
    admin, person_id, code = demo_with_a_revocation
    admin.locale = lang
    db.session.commit()
    english = brigade_english()
    assert {"revoke", "completion", "warehouse", "welder", "re-briefing"} & english
    page = new_page()  # signs in in English; then the person's own language applies
    sign_in(page, email_for("admin"), PASSWORD)
    found = {}
    for path in (
        "/audit",
        f"/people/{person_id}/training",
        "/sessions/journal",
        f"/verify/{code}",
    ):
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        text = page.locator("main").inner_text()
        assert len(text) > 100, path
        left = sorted(_words(text) & english)
        if left:  # each word with the line it stands in
            lines = text.splitlines()
            found[path] = {w: next((ln for ln in lines if w in _words(ln)), "")[:120] for w in left}
    assert not found, found
