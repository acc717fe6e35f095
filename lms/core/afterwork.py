"""Work that must leave only after the request's transaction commits (jobs, e-mail)."""

from __future__ import annotations

from collections.abc import Callable

from flask import g, has_request_context


def after_commit(func: Callable[[], object]) -> None:
    """Run func after this request commits; dropped if it rolls back. Outside a request: now."""
    if not has_request_context():
        func()
        return
    g.setdefault("_after_commit", []).append(func)


def run_pending() -> None:
    for func in g.pop("_after_commit", []):
        func()


def drop_pending() -> None:
    g.pop("_after_commit", None)
