"""Search keys: text as people type it, for finding people (and the like) by name.

``search_key("Kļaviņa")``, ``search_key("KLAVINA")`` and ``search_key("Клавиня")`` are all
``"klavina"``: the text is case-folded, accents and other diacritics are removed (Latvian ā č ē
ģ ī ķ ļ ņ š ū ž lose their marks, as people type them on a keyboard without them), Cyrillic is
transliterated the way a Latvian name written in Russian comes back to Latin letters (the
table below), and any other letter goes through ``anyascii`` (ISC licence) to plain ASCII.
Punctuation is kept (a search for "%" or "_" looks for that character, literally) and runs of
white space become one space.

A stored key (``User.search_name``) and a typed query are made by the same function, so they
meet; :func:`like_pattern` turns a key into a ``LIKE`` pattern that matches it literally.
"""

from __future__ import annotations

import unicodedata

from anyascii import anyascii

# Russian letters as they come back in a Latvian-style spelling: "Шульце" -> "sulce"
# (Šulce), "Клавиня" -> "klavina" (Kļaviņa), "Янис" -> "janis" (Jānis), "Дарья" -> "darja".
# The iotated vowels (я ю ё) are "ja ju jo" at the start of a word, after a vowel or a soft or
# hard sign, and "a u o" after a consonant, whose softness Latvian writes as a mark (ņ, ļ)
# that the key drops anyway. The soft and hard signs themselves are dropped.
CYRILLIC: dict[str, str] = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "д": "d",
    "е": "e",
    "ж": "z",
    "з": "z",
    "и": "i",
    "й": "j",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "h",
    "ц": "c",
    "ч": "c",
    "ш": "s",
    "щ": "s",
    "ъ": "",
    "ы": "i",
    "ь": "",
    "э": "e",
    "і": "i",
    "ї": "ji",
    "є": "je",
    "ґ": "g",
    "ў": "u",
}
IOTATED: dict[str, str] = {"я": "a", "ю": "u", "ё": "o"}
_VOWELS = set("аеёиоуыэюяіїє")
_SIGNS = {"ь", "ъ"}


def _latin(ch: str) -> str:
    """One character (already case-folded, not Cyrillic) as plain ASCII."""
    if ch.isascii():
        return ch
    bare = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    if bare.isascii():
        return bare
    return anyascii(bare).lower()


def search_key(*parts: str | None) -> str:
    """The search key of ``parts`` joined by spaces (see the module's note)."""
    text = unicodedata.normalize("NFC", " ".join(p for p in parts if p)).casefold()
    out: list[str] = []
    prev = " "
    for ch in text:
        if ch in IOTATED:
            soft = prev in _VOWELS or prev in _SIGNS or not prev.isalpha()
            out.append(("j" if soft else "") + IOTATED[ch])
        elif ch in CYRILLIC:
            out.append(CYRILLIC[ch])
        elif ch.isspace():
            out.append(" ")
        else:
            out.append(_latin(ch))
        prev = ch
    return " ".join("".join(out).split())


LIKE_ESCAPE = "\\"


def like_escape(text: str) -> str:
    """``text`` with LIKE's wildcards (``%``, ``_``) and the escape character escaped."""
    return (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )


def like_pattern(text: str) -> str:
    """A ``LIKE ... ESCAPE '\\'`` pattern finding ``text`` anywhere, literally."""
    return f"%{like_escape(text)}%"
