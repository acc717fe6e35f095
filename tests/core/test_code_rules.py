"""Rules of the code that the linters do not check (DESIGN.md, "Layout").

- Routes stay thin: a route module (one that makes a blueprint or registers pages on one)
  writes no SQL. It calls a query or a service; it does not call ``db.select``,
  ``db.get_or_404`` and the like, a query method of ``db.session`` (``execute``, ``scalars``,
  ``get``...), nor import SQLAlchemy.
- An import stays at the top of its module. One inside a function needs a reason, written as a
  comment on the line above (or at the end of the line): a heavy or optional dependency loaded
  only when used, an import-time cycle of the app factory, a CLI command loading lazily. Several
  imports in a row share the comment above the first.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LMS = Path(__file__).resolve().parents[2] / "lms"

# Exceptions to the two rules below: none left (keep it so).
SQL_IN_ROUTES_ALLOWED: set[str] = set()
UNEXPLAINED_IMPORTS_ALLOWED: set[str] = set()

# transaction control, not a query
SESSION_CALLS_ALLOWED = {"commit", "rollback"}
DB_CALLS = {"select", "get_or_404", "first_or_404", "one_or_404", "paginate"}


def _modules() -> list[Path]:
    return sorted(LMS.rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(LMS).as_posix()


def _is_route_module(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "Blueprint":
                return True
            if isinstance(func, ast.Attribute) and func.attr in ("route", "add_url_rule"):
                return True
    return False


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def sql_in(tree: ast.Module) -> list[str]:
    """`line: call` of every SQL statement or SQLAlchemy import in a module."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [
                f"{node.lineno}: import {a.name}" for a in node.names if "sqlalchemy" in a.name
            ]
        elif isinstance(node, ast.ImportFrom) and "sqlalchemy" in (node.module or ""):
            found.append(f"{node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            called = _dotted(node.func)
            owner, _dot, attr = called.rpartition(".")
            if (owner == "db" and attr in DB_CALLS) or (
                owner == "db.session" and attr not in SESSION_CALLS_ALLOWED
            ):
                found.append(f"{node.lineno}: {called}()")
    return found


def _part_of_an_import(line: str) -> bool:
    text = line.strip()
    return text.startswith(("import ", "from ", ")")) or text.endswith((",", "("))


def unexplained_imports(source: str) -> list[str]:
    """`line: statement` of every import inside a function without a comment saying why."""
    lines = source.splitlines()
    tree = ast.parse(source)
    inside: dict[int, ast.stmt] = {}
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(fn):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    inside[node.lineno] = node
    found = []
    for lineno, node in sorted(inside.items()):
        # the statement's own lines may carry the comment, at their end
        own = lines[lineno - 1 : (node.end_lineno or lineno)]
        if any("#" in line for line in own):
            continue
        above = lineno - 1
        # walk up over the imports of the same run (wrapped lists too) to the first one's comment
        while above >= 1 and _part_of_an_import(lines[above - 1]):
            above -= 1
        if above >= 1 and lines[above - 1].strip().startswith("# "):
            continue
        found.append(f"{lineno}: {lines[lineno - 1].strip()}")
    return found


def test_no_sql_in_route_modules():
    offenders = {}
    for path in _modules():
        tree = ast.parse(path.read_text())
        if _name(path) in SQL_IN_ROUTES_ALLOWED or not _is_route_module(tree):
            continue
        if found := sql_in(tree):
            offenders[_name(path)] = found
    assert offenders == {}, "move these into the room's queries.py or services"


def test_every_import_inside_a_function_says_why():
    offenders = {}
    for path in _modules():
        if _name(path) in UNEXPLAINED_IMPORTS_ALLOWED:
            continue
        if found := unexplained_imports(path.read_text()):
            offenders[_name(path)] = found
    assert offenders == {}, "move these to the top of the module, or say why they stay"


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("def f():\n    import io\n", ["2: import io"]),
        ("def f():\n    # weasyprint is heavy\n    from weasyprint import HTML\n", []),
        ("def f():\n    import io  # needed late\n", []),
        ("def f():\n    # heavy\n    import a\n    from b import (\n        c,\n    )\n", []),
        ("import io\n\n\ndef f():\n    return io\n", []),
    ],
)
def test_the_import_rule_reads_comments_as_meant(source, bad):
    assert unexplained_imports(source) == bad


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("def f():\n    return db.session.get(User, 1)\n", ["2: db.session.get()"]),
        ("def f():\n    return db.get_or_404(User, 1)\n", ["2: db.get_or_404()"]),
        ("import sqlalchemy as sa\n", ["1: import sqlalchemy"]),
        ("def f():\n    db.session.rollback()\n", []),
        ("def f():\n    return queries.user(db.session, 1)\n", []),
    ],
)
def test_the_sql_rule_finds_what_it_should(source, bad):
    assert sql_in(ast.parse(source)) == bad


MAX_LINES = 600  # a module longer than this holds more than one thing: split it by what it holds


def test_no_module_under_lms_is_over_600_lines():
    long = {
        _name(path): n
        for path in sorted(LMS.rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, "split these along what they hold (README, the rooms)"
