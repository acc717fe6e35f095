"""Demo content from the domains (programs, sessions, courses...), loaded after the people."""

from __future__ import annotations

from collections.abc import Callable


def load_content(session, users: dict, echo: Callable[[str], None]) -> None:
    """Each domain adds its demo content here, in dependency order."""
    return None
