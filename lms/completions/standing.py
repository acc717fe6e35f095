"""A person's stored standing per program, for the domains below compliance.

Compliance keeps one stored status per person and required program (lms.compliance.status).
Learning's "My training" must show the same due date, but learning stands below compliance and
does not import it: compliance registers its reader here, at import, like the earning sources.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Standing:
    basis: str  # never_trained, valid, revoked, flagged, pending
    valid_until: date | None
    due_on: date | None
    reason: str


# (session, user id, program ids) -> {program id: Standing} for the required programs
StandingSource = Callable[[Any, int, list[int]], dict[int, Standing]]

_source: list[StandingSource] = []


def register_standing_source(func: StandingSource) -> StandingSource:
    _source[:] = [func]
    return func


def standings(session, user_id: int, program_ids: Iterable[int]) -> dict[int, Standing]:
    """{program id: the stored standing} for those of the programs that are required."""
    ids = list(program_ids)
    return _source[0](session, user_id, ids) if _source and ids else {}
