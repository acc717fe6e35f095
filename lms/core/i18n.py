"""Language and time zone choice for each request."""

from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_login import current_user

SOURCE_LANGUAGE = "en"
LANGUAGE_NAMES = {"lv": "Latviešu", "en": "English", "ru": "Русский"}


def supported() -> tuple[str, ...]:
    locales: tuple[str, ...] = current_app.config["LMS_CONFIG"].locales
    return locales


def normalise(code: str | None) -> str | None:
    """A supported locale code, or None for anything unknown (never an error)."""
    if not code:
        return None
    code = code.strip().lower().replace("_", "-").split("-")[0]
    return code if code in supported() else None


def select_locale() -> str:
    """Per-user preference, then ?lang= / the visitor's choice, then the browser, then default.

    Outside a request (CLI, jobs) messages are in English, the source language.
    """
    if not has_request_context():
        return SOURCE_LANGUAGE
    if current_user and getattr(current_user, "is_authenticated", False):
        chosen = normalise(getattr(current_user, "locale", None))
        if chosen:
            return chosen
    for candidate in (request.args.get("lang"), session.get("lang")):
        chosen = normalise(candidate)
        if chosen:
            return chosen
    best = request.accept_languages.best_match(supported())
    return best or current_app.config["LMS_CONFIG"].default_locale


def select_timezone() -> str:
    timezone: str = current_app.config["LMS_CONFIG"].timezone
    return timezone


def pick(texts: dict[str, str] | None, locale: str) -> tuple[str, str | None]:
    """Text in the locale, else in the fallback order lv, en, ru.

    Returns (text, fallback language or None when the wanted language exists).
    """
    if not texts:
        return "", None
    if texts.get(locale):
        return texts[locale], None
    for lang in ("en", "lv", "ru", *sorted(texts)):
        if texts.get(lang):
            return texts[lang], lang
    return "", None
