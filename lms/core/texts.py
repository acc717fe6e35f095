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
from datetime import UTC, date, datetime
from typing import Any

from flask_babel import gettext

from lms.core.dates import fmt_date, fmt_datetime
from lms.core.i18n import LANGUAGE_NAMES

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
    # summaries of the audit log: names and codes as parameters, the words translated
    "core.wrong_password": lambda **p: gettext("Wrong password"),
    "core.wrong_pin": lambda **p: gettext("Wrong PIN"),
    "core.exported": lambda **p: gettext("Format: %(format)s", format=str(p["format"]).upper()),
    "core.exported_in": lambda **p: gettext(
        "Format: %(format)s, language: %(language)s",
        format=str(p["format"]).upper(),
        language=_language(str(p["language"])),
    ),
    "accounts.person_email": lambda **p: gettext("%(name)s <%(email)s>", **p),
    "accounts.hr_import_added": lambda **p: gettext("%(n)d people added by HR import", **p),
    "completions.certificates_exported": lambda **p: gettext("Certificates: %(n)d", **p),
    "exams.results_recorded": lambda **p: gettext("Results recorded: %(n)d", **p),
    "exams.completion_note": lambda **p: gettext("Exam session %(id)s", **p),
    "learning.attempt": lambda **p: gettext("%(code)s, attempt %(n)d", **p),
    "learning.attempt_scored": lambda **p: gettext("%(code)s, attempt %(n)d: %(score)s%%", **p),
    "learning.attempts_granted": lambda **p: gettext("%(code)s: %(name)s", **p),
    "programs.version": lambda **p: gettext("%(code)s version %(n)d", **p),
    "programs.version_quiz": lambda **p: gettext("%(code)s version %(n)d: quiz", **p),
    "sessions.scheduled": lambda **p: gettext(
        "%(code)s version %(n)d, %(when)s",
        code=p["code"],
        n=p["n"],
        when=_moment(str(p["when"])),
    ),
    "sessions.walk_in": lambda **p: gettext("Walk-in"),
    "compliance.back_from_absence": lambda **p: gettext(
        "Back on %(back)s from an absence of %(days)d calendar days "
        "(%(regime)s: from %(threshold)d days an unscheduled briefing is due)",
        back=_day(str(p["back"])),
        days=p["days"],
        regime=p["regime"],
        threshold=p["threshold"],
    ),
}


def _language(code: str) -> str:
    if code == "bilingual":
        return str(gettext("Latvian and English headings"))
    return str(LANGUAGE_NAMES.get(code, code))


def _moment(iso: str) -> str:
    """An ISO moment kept in the parameters, in the reader's ``datetime`` style."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return fmt_datetime(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _day(iso: str) -> str:
    try:
        return fmt_date(date.fromisoformat(iso))
    except ValueError:
        return iso


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
    (re.compile(r"^(?:wrong )?password$"), "core.wrong_password"),
    (re.compile(r"^wrong pin$"), "core.wrong_pin"),
    (re.compile(r"^(?P<format>pdf|csv|xlsx)$"), "core.exported"),
    (
        re.compile(r"^(?P<format>pdf|csv|xlsx) (?P<language>lv|en|ru|bilingual)$"),
        "core.exported_in",
    ),
    (re.compile(r"^(?P<n>\d+) certificates$"), "completions.certificates_exported"),
    (re.compile(r"^exam session (?P<id>\d+)$"), "exams.completion_note"),
    (re.compile(r"^(?P<code>[\w.-]+) #(?P<n>\d+)$"), "learning.attempt"),
    (re.compile(r"^(?P<code>[\w.-]+) #(?P<n>\d+): (?P<score>\d+)%$"), "learning.attempt_scored"),
    (re.compile(r"^(?P<code>[\w.-]+) v(?P<n>\d+)$"), "programs.version"),
    (re.compile(r"^(?P<code>[\w.-]+) v(?P<n>\d+): quiz$"), "programs.version_quiz"),
    (
        re.compile(r"^(?P<code>[\w.-]+) v(?P<n>\d+) (?P<when>\d{4}-\d{2}-\d{2}T[\d:.+-]+)$"),
        "sessions.scheduled",
    ),
    (re.compile(r"^Walk-in$"), "sessions.walk_in"),
    (
        re.compile(
            r"^Back on (?P<back>\d{4}-\d{2}-\d{2}) from an absence of (?P<days>\d+) calendar "
            r"days \((?P<regime>[^:]+): from (?P<threshold>\d+) days an unscheduled briefing is due\)$"
        ),
        "compliance.back_from_absence",
    ),
]
# parameters that a legacy sentence carries as digits but the message writes as numbers
_NUMBERS = {"n", "days", "threshold"}


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
            for name in _NUMBERS & set(found):
                found[name] = int(found[name])
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
