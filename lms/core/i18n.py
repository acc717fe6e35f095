"""Language and time zone choice for each request."""

from __future__ import annotations

from flask import current_app, request, session
from flask_login import current_user

LANGUAGE_NAMES = {"lv": "Latviešu", "en": "English", "ru": "Русский"}


def supported() -> tuple[str, ...]:
    return current_app.config["LMS_CONFIG"].locales


def normalise(code: str | None) -> str | None:
    """A supported locale code, or None for anything unknown (never an error)."""
    if not code:
        return None
    code = code.strip().lower().replace("_", "-").split("-")[0]
    return code if code in supported() else None


def select_locale() -> str:
    """Per-user preference, then ?lang= / the visitor's choice, then the browser, then default."""
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
    return current_app.config["LMS_CONFIG"].timezone
