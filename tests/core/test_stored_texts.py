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


SAMPLES = {  # parameters each message takes, as the code writes them
    "cascade.trainer_revoked": {"name": "Ivars Ozols"},
    "compliance.instruction_amended": {"n": 3},
    "sessions.attendance_marked": {"name": "Ivars Ozols", "status": "present"},
    "core.exported": {"format": "pdf"},
    "core.exported_in": {"format": "csv", "language": "bilingual"},
    "accounts.person_email": {"name": "Ivars Ozols", "email": "io@example.lv"},
    "accounts.hr_import_added": {"n": 4},
    "completions.certificates_exported": {"n": 12},
    "exams.results_recorded": {"n": 2},
    "exams.completion_note": {"id": 9},
    "learning.attempt": {"code": "FS-1", "n": 2},
    "learning.attempt_scored": {"code": "FS-1", "n": 2, "score": 80},
    "learning.attempts_granted": {"code": "FS-1", "name": "Ivars Ozols"},
    "programs.version": {"code": "FS-1", "n": 2},
    "programs.version_quiz": {"code": "FS-1", "n": 2},
    "sessions.scheduled": {"code": "FS-1", "n": 2, "when": "2026-12-10T08:00:00+00:00"},
    "compliance.back_from_absence": {
        "back": "2026-12-10",
        "days": 60,
        "regime": "LV-FIRE",
        "threshold": 30,
    },
}
# the same in each language: only names, codes and signs
SAME_IN_EVERY_LANGUAGE = {"accounts.person_email", "learning.attempts_granted"}


def test_every_message_reads_in_latvian_and_russian(app):
    from lms.sessions import labels  # noqa: F401  (registers its own messages)

    keys = set(texts.MESSAGES)
    assert set(SAMPLES) <= keys
    with app.test_request_context():
        for key in sorted(keys):
            stored = texts.stored(key, **SAMPLES.get(key, {}))
            said = {}
            for lang in ("en", "lv", "ru"):
                with force_locale(lang):
                    said[lang] = texts.render(stored)
                assert not said[lang].startswith(texts.PREFIX), (key, lang)
            if key not in SAME_IN_EVERY_LANGUAGE:
                assert said["lv"] != said["en"] and said["ru"] != said["en"], (key, said)
        with force_locale("lv"):
            when = texts.render(texts.stored("sessions.scheduled", **SAMPLES["sessions.scheduled"]))
            back = texts.render(
                texts.stored(
                    "compliance.back_from_absence", **SAMPLES["compliance.back_from_absence"]
                )
            )
        assert "2026-12-10" not in when and "2026. gada" in when, when  # the reader's style
        assert "2026-12-10" not in back and "60" in back, back


def test_older_english_summaries_read_in_the_readers_language_or_as_stored(app):
    with app.test_request_context(), force_locale("ru"):
        assert texts.render("wrong password") == "Неверный пароль"
        assert texts.render("password") == "Неверный пароль"
        assert texts.render("12 certificates") == "Удостоверения: 12"
        assert texts.render("FS-1 v2") == "FS-1, версия 2"
        assert texts.render("FS-1 #2: 80%") == "FS-1, попытка 2: 80%"
        assert "Формат" in texts.render("pdf lv")
        # anything else Brigade once wrote in English, or a person typed, shows as stored
        assert texts.render("Some other old sentence") == "Some other old sentence"
