"""The list of domains: each contributes models, a blueprint and, optionally, ledger kinds.

Importing ``lms.domains.load_models()`` makes the metadata complete (Alembic, tests).
"""

from __future__ import annotations

import importlib

DOMAINS: tuple[str, ...] = (
    "accounts",
    "programs",
    "completions",
    "sessions",
    "learning",
    "compliance",
    "cascade",
    "auditor",
    "api",
)


def load_models() -> None:
    import lms.core.audit  # noqa: F401
    import lms.core.ledger  # noqa: F401
    import lms.core.outbox  # noqa: F401

    for name in DOMAINS:
        try:
            importlib.import_module(f"lms.{name}.models")
        except ModuleNotFoundError as err:
            if err.name != f"lms.{name}.models":
                raise


def blueprints():
    for name in DOMAINS:
        module = importlib.import_module(f"lms.{name}.routes")
        yield module.bp
        yield from getattr(module, "EXTRA_BLUEPRINTS", ())
