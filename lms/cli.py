"""`flask lms ...`: thin wrappers over services."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from lms.compliance import status
from lms.extensions import db

lms_cli = AppGroup("lms", help="Brigade administration commands.")


def init_app(app: Flask) -> None:
    app.cli.add_command(lms_cli)


@lms_cli.command("init")
def init_cmd() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    from flask_migrate import upgrade

    upgrade()
    click.echo("Database is at the latest revision.")


@lms_cli.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", "roles", multiple=True, default=["employee"], show_default=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--department", "department_code", default=None, help="Department code.")
@click.option("--job-title", default="")
def create_user_cmd(email, name, roles, password, department_code, job_title) -> None:
    """Create a person who can sign in."""
    import sqlalchemy as sa

    from lms.accounts import services
    from lms.accounts.models import Department
    from lms.core.errors import DomainError

    dept_id = None
    if department_code:
        dept_id = db.session.execute(
            sa.select(Department.id).where(Department.code == department_code.upper())
        ).scalar()
        if dept_id is None:
            raise click.ClickException(f"Unknown department code {department_code!r}")
    try:
        user = services.create_user(
            db.session,
            email=email,
            name=name,
            password=password,
            roles=roles,
            department_id=dept_id,
            job_title=job_title,
        )
    except DomainError as err:
        raise click.ClickException(str(err)) from err
    db.session.commit()
    click.echo(f"Created {user.name} <{user.email}> with roles {', '.join(sorted(user.roles))}.")


@lms_cli.command("demo")
@click.option("--password", default="brigade-demo", show_default=True)
def demo_cmd(password: str) -> None:
    """Load the demo organisation (idempotent) and print the log-ins."""
    from lms.demo import load_demo

    logins = load_demo(db.session, password=password, echo=click.echo)
    db.session.commit()
    click.echo("")
    click.echo(f"Demo log-ins (password: {password}):")
    for role, email in logins:
        click.echo(f"  {role:<11} {email}")


@lms_cli.command("verify")
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes for a large ledger (default: one per CPU core).",
)
def verify_cmd(processes: int | None) -> None:
    """Recompute the ledger chain and every signed content hash."""
    import os
    import time

    from lms.core import ledger

    started = time.perf_counter()
    report = ledger.verify(db.session, processes=processes or os.cpu_count() or 1)
    took = time.perf_counter() - started
    for problem in report.problems:
        click.echo(f"ALTERED: {problem}")
    if report.ok:
        click.echo(f"OK: {report.checked} ledger entries verified in {took:.2f} s; chain intact.")
    else:
        click.echo(f"FAILED: {len(report.problems)} problem(s) in {report.checked} entries.")
    started = time.perf_counter()
    statuses = status.verify(db.session)
    took = time.perf_counter() - started
    for wrong in statuses.disagreements:
        click.echo(f"STATUS DISAGREES: {wrong}")
    if statuses.ok:
        click.echo(
            f"OK: {statuses.checked} stored statuses equal their recomputation ({took:.2f} s)."
        )
    else:
        click.echo(
            f"FAILED: {len(statuses.disagreements)} of {statuses.checked} stored statuses "
            "disagree with the history; `flask lms rebuild-status` rebuilds them."
        )
    if not (report.ok and statuses.ok):
        sys.exit(1)


@lms_cli.command("rebuild-status")
def rebuild_status_cmd() -> None:
    """Recompute every person's stored status for every required program from the history."""
    written = status.rebuild(db.session)
    db.session.commit()
    click.echo(f"Rebuilt {written} stored statuses.")


@lms_cli.command("import-course")
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--head", "head_email", default=None, help="E-mail of the program head.")
def import_course_cmd(path: str, head_email: str | None) -> None:
    """Validate a course pack folder and import it as a new draft version."""
    from lms.accounts.services import find_by_email
    from lms.core.errors import DomainError
    from lms.programs.packs import import_pack

    head_id = None
    if head_email:
        head = find_by_email(db.session, head_email)
        if head is None:
            raise click.ClickException(f"No person with e-mail {head_email}")
        head_id = head.id
    try:
        result = import_pack(db.session, path, head_id=head_id)
    except DomainError as err:
        db.session.rollback()
        raise click.ClickException(f"Nothing imported. {err}") from err
    db.session.commit()
    for gap in result.gaps:
        click.echo(f"warning: missing language file {gap}")
    if result.created:
        click.echo(f"Imported {result.program.code} as draft version {result.version.number}.")
    else:
        click.echo(f"{result.program.code}: content unchanged, nothing imported.")


@lms_cli.command("send-reminders")
@click.option(
    "--date",
    "on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The day to remind for, YYYY-MM-DD (default: today in the organisation's time zone).",
)
@click.option("--window-days", default=30, show_default=True, help="Days ahead that are due soon.")
@click.option(
    "--manager-after-days",
    default=14,
    show_default=True,
    help="Days overdue after which the manager gets a copy.",
)
def send_reminders_cmd(on, window_days: int, manager_after_days: int) -> None:
    """Queue today's reminders, then deliver every queued message (cron-friendly, idempotent).

    Exits 1 only when every message it tried to deliver failed (e.g. the mail server is down);
    undelivered messages stay queued for the next run.
    """
    from lms.compliance.mail import deliver_pending
    from lms.compliance.reminders import generate_reminders
    from lms.core.clock import local_today

    today = on.date() if on else local_today()
    queued = generate_reminders(
        db.session, today, window_days=window_days, manager_after_days=manager_after_days
    )
    db.session.commit()
    report = deliver_pending(db.session)
    db.session.commit()
    click.echo(
        f"{today.isoformat()}: queued {queued} reminder(s); sent {report.sent}, "
        f"failed {report.failed}, skipped {report.skipped} (inactive), "
        f"not tried {report.deferred} (mail server unreachable)."
    )
    if report.failed and not report.sent:
        sys.exit(1)


@lms_cli.command("generate")
@click.option("--employees", default=5000, show_default=True)
@click.option("--programs", "n_programs", default=30, show_default=True)
@click.option("--years", default=3, show_default=True)
@click.option("--seed", default=7, show_default=True)
def generate_cmd(employees: int, n_programs: int, years: int, seed: int) -> None:
    """Build a realistic organisation with years of training history (for benchmarks)."""
    import time

    from lms.generator import Generator

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
