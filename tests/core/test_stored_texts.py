"""Texts Brigade writes into records are keys read in the reader's language; typed text as typed."""

from __future__ import annotations

from flask_babel import force_locale

from lms.core import texts


def test_a_stored_key_reads_in_each_language_and_typed_text_stays(app):
    stored = texts.stored("cascade.trainer_revoked", name="Ivars Ozols")
    assert "Re-briefing" not in stored and "Ivars Ozols" in stored
    with app.test_request_context():
        with force_locale("en"):
            assert texts.render(stored) == (
                "Re-briefing needed: the trainer's own training (Ivars Ozols) was revoked."
            )
        with force_locale("lv"):
            lv = texts.render(stored)
        with force_locale("ru"):
            ru = texts.render(stored)
        assert "Ivars Ozols" in lv and "Ivars Ozols" in ru and len({lv, ru}) == 2
        assert "Re-briefing" not in lv + ru
        with force_locale("lv"):
            # a person's own words, even ones that look like a key, stay as typed
            assert texts.render("Wrong person signed") == "Wrong person signed"
            assert texts.render("msg:unknown.key {}") == "msg:unknown.key {}"
            assert texts.render("msg:cascade.trainer_revoked {broken") == (
                "msg:cascade.trainer_revoked {broken"
            )
            # rows written in English before keys existed read in the reader's language
            old = texts.render("Instruction amended: version 3 was approved.")
            assert "3" in old and "Instruction" not in old
