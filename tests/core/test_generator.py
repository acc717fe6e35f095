"""`flask lms generate` builds data on which `flask lms verify` passes."""

from __future__ import annotations

import sqlalchemy as sa

from bench.generate import Generator
from lms.core import ledger
from lms.extensions import db
from lms.sessions.models import Enrolment


def test_generated_history_verifies(app):
    counts = Generator(db.session, employees=80, programs=7, years=2, seed=3).run()
    db.session.commit()
    assert counts.people >= 80 and counts.completions and counts.certificates
    assert counts.sessions and counts.attempts and counts.ledger
    report = ledger.verify(db.session)
    assert report.ok, report.problems[:3]
    assert report.checked == counts.ledger + counts.programs  # + one approval per program
    biggest = (
        db.session.execute(
            sa.select(sa.func.count())
            .select_from(Enrolment)
            .group_by(Enrolment.session_id)
            .order_by(sa.func.count().desc())
        )
        .scalars()
        .first()
    )
    assert biggest <= 25  # sessions are split to hold at most 25 people


def test_flask_lms_generate_is_registered_from_bench(app):
    """The command lives outside the lms package and is found through its entry point."""
    result = app.test_cli_runner().invoke(
        args=["lms", "generate", "--employees", "40", "--programs", "3", "--years", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "records" in result.output
    assert ledger.verify(db.session).ok
