"""`flask lms ...`: thin wrappers over services."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

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
def verify_cmd() -> None:
    """Recompute the ledger chain and every signed content hash."""
    import time

    from lms.core import ledger

    started = time.perf_counter()
    report = ledger.verify(db.session)
    took = time.perf_counter() - started
    for problem in report.problems:
        click.echo(f"ALTERED: {problem}")
    if report.ok:
        click.echo(f"OK: {report.checked} ledger entries verified in {took:.2f} s; chain intact.")
    else:
        click.echo(f"FAILED: {len(report.problems)} problem(s) in {report.checked} entries.")
        sys.exit(1)
