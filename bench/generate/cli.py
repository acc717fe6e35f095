"""The `flask lms generate` command (registered through the ``brigade.commands`` entry point)."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from bench.generate.history import Generator
from lms.compliance import status
from lms.extensions import db


@click.command("generate")
@click.option("--employees", default=5000, show_default=True)
@click.option("--programs", "n_programs", default=30, show_default=True)
@click.option("--years", default=3, show_default=True)
@click.option("--seed", default=7, show_default=True)
@with_appcontext
def generate_cmd(employees: int, n_programs: int, years: int, seed: int) -> None:
    """Build a realistic organisation with years of training history (for benchmarks)."""
    started = time.perf_counter()
    with click.progressbar(length=1000, label="Generating") as bar:
        done = {"n": 0}

        def progress(_stage: str, fraction: float) -> None:
            n = min(1000, int(fraction * 1000))
            if n > done["n"]:
                bar.update(n - done["n"])
                done["n"] = n

        counts = Generator(
            db.session,
            employees=employees,
            programs=n_programs,
            years=years,
            seed=seed,
            progress=progress,
        ).run()
    db.session.commit()
    rebuilt = status.rebuild(db.session)  # the same rebuild as `flask lms rebuild-status`
    db.session.commit()
    took = time.perf_counter() - started
    click.echo(f"  {'statuses':<18} {rebuilt:>9,}")
    for name, value in counts.__dict__.items():
        click.echo(f"  {name:<18} {value:>9,}")
    click.echo(f"  {'records':<18} {counts.total:>9,} in {took:.1f} s")
