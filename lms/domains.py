"""The list of domains: each contributes models, a blueprint and, optionally, ledger kinds.

Importing ``lms.domains.load_models()`` makes the metadata complete (Alembic, tests).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator

from flask import Blueprint

# core's own tables (audit log, ledger, outbox): imported for their models
import lms.core.audit  # noqa: F401
import lms.core.documents  # noqa: F401
import lms.core.ledger  # noqa: F401
import lms.core.outbox  # noqa: F401

DOMAINS: tuple[str, ...] = (
    "accounts",
    "programs",
    "completions",
    "sessions",
    "learning",
    "compliance",
    "cascade",
    "exams",
    "registers",
    "auditor",
    "support",
    "api",
)


def load_models() -> None:
    for name in DOMAINS:
        try:
            importlib.import_module(f"lms.{name}.models")
        except ModuleNotFoundError as err:
            if err.name != f"lms.{name}.models":
                raise


def blueprints() -> Iterator[Blueprint]:
    for name in DOMAINS:
        module = importlib.import_module(f"lms.{name}.routes")
        bp: Blueprint = module.bp
        yield bp
        yield from getattr(module, "EXTRA_BLUEPRINTS", ())
