"""Verification codes people can read aloud and type: Crockford base32.

An alphabet without look-alikes (no I, L, O, U), printed upper case in groups of four joined by
hyphens; read back in any case, with or without hyphens or spaces, and with I/L read as 1 and O
as 0. 20 characters carry 100 random bits: a code cannot be guessed. Codes issued before
(URL-safe base64, case-sensitive) keep working as printed.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 20
GROUP = 4
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})
_OLD_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,40}$")
_NEW_SHAPE = re.compile(rf"^[{ALPHABET}]{{{LENGTH}}}$")


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return group(raw)


def group(raw: str) -> str:
    return "-".join(raw[i : i + GROUP] for i in range(0, len(raw), GROUP))


def normalise(text: str) -> str | None:
    """The printed form of a new-style code as someone typed it, or None if it is not one."""
    raw = re.sub(r"[\s-]", "", text).upper().translate(_READ_AS)
    return group(raw) if _NEW_SHAPE.match(raw) else None


def lookup_forms(text: str) -> list[str]:
    """The stored codes this input may stand for (empty: malformed)."""
    text = text.strip()
    forms = []
    new = normalise(text)
    if new:
        forms.append(new)
    if _OLD_SHAPE.match(text):
        forms.append(text)
    return forms
