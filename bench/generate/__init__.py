"""`flask lms generate`: a realistic organisation at scale, for benchmarks and load tests.

Departments in a tree, thousands of people in every role, programs with signed versions,
requirements, and years of history: sessions with enrolments, attendance, acknowledgments and
signatures; quiz attempts; completions with certificates; a few revocations; the ledger over
all of it, so `flask lms verify` passes. Rows go in with bulk INSERTs and explicit ids, built
from the models (``rows.row``); every hash is computed with the same functions the
application uses.

One module per domain, each a layer of the ``Generator`` class: ``accounts`` (departments,
people), ``programs`` (signed versions, requirements), ``completions`` (completions,
certificates, revocations), ``learning`` (self-paced attempts), ``sessions`` (held briefings),
``history`` (the plan over the years and the writing). The command is in ``cli``; the
application finds it through the ``brigade.commands`` entry point (pyproject.toml).
"""

from bench.generate.base import Counts
from bench.generate.history import Generator

__all__ = ["Counts", "Generator"]
