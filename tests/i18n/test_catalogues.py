"""Every string meant for people is marked, and the lv and ru catalogues translate all of it."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "lms" / "translations"
LANGS = ("lv", "ru")

# Words that are the same in every language (names, codes).
ALLOWED_TEXT = {
    "Brigade",
    "PDF",
    "CSV",
    "XLSX",
    "ZIP",
    "QR",
    "ICS",
    ".ics",
    "SHA-256",
    "PIN",
    "UTC",
}


def _extract(tmp_path) -> set[str]:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-k",
            "ngettext:1,2",
            "-o",
            str(pot),
            "--no-location",
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as fh:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}


@pytest.mark.parametrize("lang", LANGS)
def test_catalogue_is_complete_and_not_fuzzy(lang, tmp_path):
    wanted = _extract(tmp_path)
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    have = {}
    fuzzy = []
    for m in catalog:
        if not m.id:
            continue
        key = m.id if isinstance(m.id, str) else m.id[0]
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        have[key] = all(s.strip() for s in strings)
        if m.fuzzy:
            fuzzy.append(key)
    missing = sorted(w for w in wanted if w not in have)
    untranslated = sorted(w for w in wanted if w in have and not have[w])
    assert not missing, f"{lang}: not in the catalogue (run make extract-messages): {missing[:20]}"
    assert not untranslated, f"{lang}: untranslated: {untranslated[:20]}"
    assert not fuzzy, f"{lang}: fuzzy entries: {fuzzy[:20]}"


@pytest.mark.parametrize("lang", LANGS)
def test_placeholders_survive_translation(lang):
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    pattern = re.compile(r"%\((\w+)\)[sd]")
    bad = []
    for m in catalog:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        want = set(pattern.findall(ids[-1]))
        for s in strings:
            if s and set(pattern.findall(s)) - want:
                bad.append((ids[0], s))
            if s and not isinstance(m.id, tuple) and set(pattern.findall(s)) != want:
                bad.append((ids[0], s))
    assert not bad, bad[:10]


def _template_leftovers(source: str) -> list[str]:
    s = re.sub(r"{#.*?#}", " ", source, flags=re.S)
    s = re.sub(r"{%-?\s*trans\b.*?endtrans\s*-?%}", " ", s, flags=re.S)
    s = re.sub(r"<(script|style)\b.*?</\1>", " ", s, flags=re.S)
    s = re.sub(r"{%.*?%}", " ", s, flags=re.S)
    s = re.sub(r"{{.*?}}", " ", s, flags=re.S)
    found = []
    for attr in re.findall(r'\b(?:alt|title|placeholder|aria-label)="([^"]*)"', s):
        if re.search(r"[^\W\d_]{2,}", attr) and attr.strip() not in ALLOWED_TEXT:
            found.append(attr)
    s = re.sub(r"<!--.*?-->", " ", s, flags=re.S)
    s = re.sub(r"<[^>]*>", "\n", s)
    for chunk in s.split("\n"):
        chunk = re.sub(r"&\w+;|&#\d+;", " ", chunk).strip()
        words = [w for w in re.findall(r"[^\W\d_][\w'.-]*", chunk) if w not in ALLOWED_TEXT]
        if words:
            found.append(chunk)
    return found


def test_templates_mark_every_visible_string():
    problems = {}
    for path in sorted((ROOT / "templates").rglob("*.html")):
        left = _template_leftovers(path.read_text())
        if left:
            problems[str(path.relative_to(ROOT))] = left[:5]
    assert not problems, f"unmarked text in templates: {problems}"


def test_the_template_check_can_fail():
    assert _template_leftovers("<p>Hello there</p>") == ["Hello there"]
    assert _template_leftovers('<img alt="A fire">') == ["A fire"]
    assert _template_leftovers("<p>{{ _('Hello') }} · {{ n }}</p>") == []


ERROR_CLASSES = {"DomainError", "NotAllowed", "NotFound", "Conflict", "ValidationError"}


def _python_problems(source: str, name: str) -> list[str]:
    tree = ast.parse(source)
    out = []

    def literal(node) -> bool:
        return (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and bool(re.search(r"[^\W\d_]{2,}", node.value))
            or isinstance(node, ast.JoinedStr)
        )

    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        fname = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        args = node.args
        if fname == "flash" and args and literal(args[0]):
            out.append(f"{name}:{node.lineno} flash() with an unmarked string")
        if fname in ERROR_CLASSES and args and literal(args[0]):
            out.append(f"{name}:{node.lineno} {fname}() with an unmarked message")
        if fname.endswith("Field") and args and literal(args[0]):
            out.append(f"{name}:{node.lineno} {fname} with an unmarked label")
        for kw in node.keywords:
            if kw.arg in {"label", "message", "description"} and literal(kw.value):
                out.append(f"{name}:{node.lineno} {kw.arg}= is not marked")
    return out


def test_python_strings_for_people_are_marked():
    problems = []
    for path in sorted((ROOT / "lms").rglob("*.py")):
        # the command line is for administrators and speaks English only
        if "translations" in path.parts or path.name == "cli.py":
            continue
        problems += _python_problems(path.read_text(), str(path.relative_to(ROOT)))
    assert not problems, problems


def test_the_python_check_can_fail():
    assert _python_problems("flash('Saved')", "x")
    assert _python_problems("raise DomainError('Nope')", "x")
    assert _python_problems("f = StringField('Name')", "x")
    assert not _python_problems("flash(_('Saved'))", "x")
