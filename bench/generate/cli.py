"""The `flask lms generate` command (registered through the ``brigade.commands`` entry point)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

import click
from flask.cli import with_appcontext

from bench.generate.history import Generator
from lms.compliance import status, trends
from lms.core.clock import local_today
from lms.extensions import db

STAGES = {
    "people": "departments and people",
    "programs": "programs, versions and requirements",
    "plan": "planning the history person by person",
    "history": "sessions, attempts, completions (written in batches)",
    "ledger": "chaining the ledger",
    "status": "rebuilding the stored status",
}


class Progress:
    """A progress bar on stderr, one line per stage and per tenth of the whole run (a line
    rather than a redrawn bar, so that logs of a long run keep it)."""

    def __init__(self, out: TextIO | None = None, width: int = 20) -> None:
        self.out = out or sys.stderr
        self.width = width
        self.started = time.perf_counter()
        self.stage = ""
        self.tenth = -1

    def __call__(self, stage: str, fraction: float) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        tenth = int(fraction * 10)
        if stage == self.stage and tenth <= self.tenth:
            return
        self.stage, self.tenth = stage, max(tenth, self.tenth)
        filled = int(fraction * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        took = time.perf_counter() - self.started
        print(
            f"[{bar}] {fraction:4.0%}  {STAGES.get(stage, stage)}  ({took:.0f} s)",
            file=self.out,
            flush=True,
        )


@click.command("generate")
@click.option("--employees", default=5000, show_default=True)
@click.option("--programs", "n_programs", default=30, show_default=True)
@click.option("--years", default=3, show_default=True)
@click.option("--seed", default=7, show_default=True)
@with_appcontext
def generate_cmd(employees: int, n_programs: int, years: int, seed: int) -> None:
    """Build a realistic organisation with years of training history (for benchmarks).

    Rows go in with multi-row INSERTs in batches; progress goes to stderr. It ends by
    rebuilding the stored status (as `flask lms rebuild-status`)."""
    started = time.perf_counter()
    progress = Progress()
    counts = Generator(
        db.session,
        employees=employees,
        programs=n_programs,
        years=years,
        seed=seed,
        progress=lambda stage, fraction: progress(stage, 0.9 * fraction),
    ).run()
    db.session.commit()
    progress("status", 0.9)
    status_started = time.perf_counter()
    # the same rebuild as `flask lms rebuild-status`: statuses, their counts, monthly history
    rebuilt = status.rebuild(db.session)
    trends.rebuild_snapshots(db.session, local_today())
    db.session.commit()
    status_took = time.perf_counter() - status_started
    progress("status", 1.0)
    took = time.perf_counter() - started
    click.echo(f"  {'statuses':<18} {rebuilt:>9,} in {status_took:.1f} s")
    for name, value in counts.__dict__.items():
        click.echo(f"  {name:<18} {value:>9,}")
    click.echo(f"  {'records':<18} {counts.total:>9,} in {took:.1f} s")
