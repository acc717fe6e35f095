"""Texts Brigade writes into records, kept as a message key with parameters.

A sentence that Brigade itself composes into a record (a revocation reason written by the
cascade, "instruction amended" on an unscheduled briefing) is stored as ``stored(key, **params)``
and read with ``render(text)`` (the Jinja filter ``said``) in the reader's language. Text a
person typed is stored and shown as typed: ``render`` leaves anything that is not a stored key
untouched. Rows written before keys existed hold English sentences; the known ones are
recognised (``LEGACY``) and read in the reader's language too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from flask_babel import gettext

PREFIX = "msg:"

# the key -> the message in the current language, from its parameters
MESSAGES: dict[str, Callable[..., str]] = {
    "cascade.trainer_revoked": lambda **p: gettext(
        "Re-briefing needed: the trainer's own training (%(name)s) was revoked.", **p
    ),
    "compliance.instruction_amended": lambda **p: gettext(
        "Instruction amended: version %(n)d was approved.", **p
    ),
    "sessions.instructor_lost_right": lambda **p: gettext(
        "The instructor lost the right to teach."
    ),
}

# English sentences of rows written before keys: pattern -> key
LEGACY: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"^Re-briefing needed: the trainer's own training \((?P<name>.+)\) was revoked\.$"
        ),
        "cascade.trainer_revoked",
    ),
    (
        re.compile(r"^Instruction amended: version (?P<n>\d+) was approved\.$"),
        "compliance.instruction_amended",
    ),
]


def register(key: str, message: Callable[..., str], legacy: re.Pattern[str] | None = None) -> None:
    """A domain's own message (its words live with it); ``legacy``: its older English form."""
    MESSAGES[key] = message
    if legacy is not None:
        LEGACY.append((legacy, key))


def stored(key: str, **params: Any) -> str:
    """The text to store for a message Brigade writes: its key and parameters."""
    if key not in MESSAGES:
        raise KeyError(key)
    return f"{PREFIX}{key} {json.dumps(params, ensure_ascii=False, sort_keys=True)}"


def _parse(text: str) -> tuple[str, dict[str, Any]] | None:
    if text.startswith(PREFIX):
        key, _sep, raw = text[len(PREFIX) :].partition(" ")
        if key in MESSAGES:
            try:
                params = json.loads(raw or "{}")
            except ValueError:
                return None
            return (key, params) if isinstance(params, dict) else None
        return None
    for pattern, key in LEGACY:
        m = pattern.match(text)
        if m:
            found: dict[str, Any] = dict(m.groupdict())
            if "n" in found:
                found["n"] = int(found["n"])
            return key, found
    return None


def render(text: str | None) -> str:
    """A stored text in the reader's language; typed text as typed."""
    if not text:
        return ""
    parsed = _parse(text)
    if parsed is None:
        return text
    key, params = parsed
    try:
        return MESSAGES[key](**params)
    except (KeyError, TypeError, ValueError):
        return text


def install(env) -> None:  # type: ignore[no-untyped-def]
    env.filters["said"] = render
