"""`flask lms ...`: thin wrappers over services."""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_migrate import upgrade

from lms.accounts import hr, services
from lms.accounts import queries as account_queries
from lms.accounts.models import User, UserRole
from lms.accounts.services import find_by_email
from lms.compliance import status, trends
from lms.compliance.mail import deliver_pending
from lms.compliance.reminders import generate_reminders
from lms.core import anchors, backup, ledger, outbox
from lms.core.clock import local_today
from lms.core.dates import fmt_signature_datetime
from lms.core.errors import DomainError
from lms.demo import load_demo
from lms.extensions import db
from lms.programs.packs import import_pack

lms_cli = AppGroup("lms", help="Brigade administration commands.")


def init_app(app: Flask) -> None:
    for entry in entry_points(group="brigade.commands"):
        if entry.name not in lms_cli.commands:
            lms_cli.add_command(entry.load(), entry.name)
    app.cli.add_command(lms_cli)


@lms_cli.command("init")
def init_cmd() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
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
    dept_id = None
    if department_code:
        dept_id = account_queries.department_id_by_code(db.session, department_code)
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
    logins = load_demo(db.session, password=password, echo=click.echo)
    db.session.commit()
    written = write_checkpoint()
    if written:
        click.echo(f"Ledger checkpoint: entry {written[1]['seq']} written to {written[0]}")
    click.echo("")
    click.echo(f"Demo log-ins (password: {password}):")
    for role, email in logins:
        click.echo(f"  {role:<11} {email}")


def _echo_report(report, took: float, what: str = "") -> bool:
    for problem in report.problems:
        missing = "missing" in problem.reason or "no ledger entry" in problem.reason
        click.echo(f"{'MISSING' if missing else 'ALTERED'}: {problem}")
    if report.ok:
        head = f"chain intact up to entry {report.head[0]}" if report.head else "empty ledger"
        click.echo(
            f"OK{what}: {report.checked} ledger entries verified in {took:.2f} s; {head}; "
            f"{report.anchors} anchor(s) held; every signed record has its entry."
        )
    else:
        click.echo(f"FAILED{what}: {len(report.problems)} problem(s) in {report.checked} entries.")
    return report.ok


def _anchors(files: tuple[str, ...]) -> list:
    """The chain heads in the checkpoint folder and in the files given with --anchor."""

    folder = current_app.config["LMS_CONFIG"].checkpoint_folder
    try:
        found = anchors.checkpoint_anchors(folder)
        found += [anchors.read_anchor(Path(f)) for f in files]
    except (OSError, ValueError) as err:
        raise click.ClickException(str(err)) from err
    return found


@lms_cli.command("verify")
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes for a large ledger (default: one per CPU core).",
)
@click.option(
    "--anchor",
    "anchor_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A checkpoint file or an issued PDF whose ledger head must still be in the ledger "
    "(repeatable; the checkpoint folder is always read).",
)
def verify_cmd(processes: int | None, anchor_files: tuple[str, ...]) -> None:
    """Recompute the ledger: chain, numbering, every signed content hash, completeness, and
    every chain head recorded in checkpoints and anchors."""
    anchors = _anchors(anchor_files)
    started = time.perf_counter()
    report = ledger.verify(db.session, processes=processes or os.cpu_count() or 1, anchors=anchors)
    ledger_ok = _echo_report(report, time.perf_counter() - started)
    started = time.perf_counter()
    statuses = status.verify(db.session)
    took = time.perf_counter() - started
    for wrong in statuses.disagreements:
        click.echo(f"STATUS DISAGREES: {wrong}")
    for count in statuses.counts:
        click.echo(f"STATUS COUNT DISAGREES: {count}")
    if statuses.counts:
        click.echo(
            f"FAILED: {len(statuses.counts)} status counts disagree with a recount; "
            "`flask lms rebuild-status` recounts them."
        )
    if not statuses.disagreements:
        click.echo(
            f"OK: {statuses.checked} stored statuses equal their recomputation ({took:.2f} s)."
        )
    else:
        click.echo(
            f"FAILED: {len(statuses.disagreements)} of {statuses.checked} stored statuses "
            "disagree with the history; `flask lms rebuild-status` rebuilds them."
        )
    if not (ledger_ok and statuses.ok):
        sys.exit(1)


def write_checkpoint():
    """Write the chain head to the checkpoint folder; e-mail it to the auditors when mail is
    configured. Returns (path, data), None when no folder is configured."""

    cfg = current_app.config["LMS_CONFIG"]
    if cfg.checkpoint_folder is None:
        return None
    path, data = anchors.write_checkpoint(db.session, cfg.checkpoint_folder, cfg.organisation_name)
    if cfg.mail_server:
        auditors = db.session.scalars(
            sa.select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == "auditor", User.active.is_(True))
        ).all()
        for user in auditors:

            def text(user=user):
                return (
                    _("Ledger checkpoint: entry %(n)s", n=data["seq"]),
                    _(
                        "Keep this message: it records the newest ledger entry of "
                        "%(org)s on %(at)s. If the ledger ever lacks it, entries were "
                        "removed.",
                        org=cfg.organisation_name,
                        at=fmt_signature_datetime(datetime.fromisoformat(data["written_at"])),
                    )
                    + f"\n\nseq: {data['seq']}\nentry_hash: {data['entry_hash']}\n",
                )

            subject, body = outbox.in_locale(user, text)
            outbox.queue(
                db.session,
                user_id=user.id,
                kind="ledger_checkpoint",
                subject=subject,
                body=body,
                dedupe_key=f"ledger-checkpoint:{data['seq']}:{user.id}",
            )
        db.session.commit()
        if auditors:
            deliver_pending(db.session)
            db.session.commit()
    return path, data


@lms_cli.command("checkpoint")
def checkpoint_cmd() -> None:
    """Write today's ledger checkpoint (run daily, e.g. from cron)."""
    written = write_checkpoint()
    if written is None:
        raise click.ClickException("No checkpoint folder is configured (LMS_CHECKPOINT_DIR).")
    path, data = written
    click.echo(f"Ledger checkpoint: entry {data['seq']} ({data['entry_hash']}) written to {path}")


@lms_cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def backup_cmd(path: str) -> None:
    """Write a consistent backup to PATH, then verify the copy (ledger and checkpoints)."""

    anchors = _anchors(())
    try:
        backup.backup(db.engine, Path(path))
        click.echo(f"Backup written to {path}.")
        started = time.perf_counter()
        report = backup.verify_copy(db.engine.url, Path(path), anchors, click.echo)
    except backup.BackupError as err:
        raise click.ClickException(str(err)) from err
    if not _echo_report(report, time.perf_counter() - started, " (backup)"):
        sys.exit(1)


@lms_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace a database that is not empty.")
def restore_cmd(path: str, force: bool) -> None:
    """Restore the backup PATH into the configured database, then verify it."""

    anchors = _anchors(())
    db.session.remove()
    try:
        backup.restore(db.engine, Path(path), force=force)
    except backup.BackupError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"Restored {path}.")
    started = time.perf_counter()
    report = ledger.verify(db.session, anchors=anchors)
    if not _echo_report(report, time.perf_counter() - started, " (restored)"):
        sys.exit(1)


@lms_cli.command("rebuild-status")
@click.option(
    "--history",
    is_flag=True,
    help="Also recompute every closed month of the dashboard's history (after completions "
    "were entered with earlier dates).",
)
def rebuild_status_cmd(history: bool) -> None:
    """Recompute every person's stored status for every required program from the history,
    recount the status counts and compute the dashboard's missing monthly snapshots."""
    written = status.rebuild(db.session)
    today = local_today()
    if history:
        months = trends.rebuild_snapshots(db.session, today)
    else:
        months = trends.fill_snapshots(db.session, trends.month_points(today)[:-1])
    db.session.commit()
    click.echo(f"Rebuilt {written} stored statuses.")
    click.echo(f"Recounted the status counts; {months} monthly snapshots from the history.")


@lms_cli.command("import-course")
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--head", "head_email", default=None, help="E-mail of the program head.")
def import_course_cmd(path: str, head_email: str | None) -> None:
    """Validate a course pack folder and import it as a new draft version."""
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
    if result.created and result.version is not None:
        click.echo(f"Imported {result.program.code} as draft version {result.version.number}.")
    else:
        click.echo(f"{result.program.code}: content unchanged, nothing imported.")


@lms_cli.command("import-people")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Show what would change and write nothing.")
def import_people_cmd(path: str, dry_run: bool) -> None:
    """Import people and absences from an HR file (CSV or XLSX), keyed on employee number."""

    with open(path, "rb") as fh:
        data = fh.read()
    started = time.perf_counter()
    try:
        if dry_run:
            report = hr.plan_import(db.session, data, path)
        else:
            report = hr.apply_import(db.session, data, path)
    except hr.ImportRefused as err:
        db.session.rollback()
        for e in err.errors:
            click.echo(str(e), err=True)
        raise click.ClickException(f"Nothing imported: {len(err.errors)} error(s).") from err
    except DomainError as err:
        db.session.rollback()
        raise click.ClickException(f"Nothing imported. {err}") from err
    if report.errors:
        for e in report.errors:
            click.echo(str(e), err=True)
        raise click.ClickException(f"Nothing imported: {len(report.errors)} error(s).")
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    took = time.perf_counter() - started
    counts = ", ".join(f"{k} {v}" for k, v in report.summary().items())
    verb = "Would change" if dry_run else "Imported"
    click.echo(f"{verb}: {counts} ({took:.1f} s).")


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

    Exits 1 when the mail server cannot be used (unreachable, TLS or log-in refused: said once)
    or every message it tried failed; undelivered messages stay queued for the next run.
    """
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
        f"set aside {report.set_aside}, not tried {report.deferred} (mail server unusable)."
    )
    if report.server_error:
        click.echo(f"Mail not delivered: {report.server_error}.", err=True)
    if report.server_error or (report.failed and not report.sent):
        sys.exit(1)
