"""The demo sessions: upcoming ones with people, one held and signed; running twice adds nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lms.core import ledger
from lms.extensions import db
from lms.sessions import demo
from lms.sessions.models import (
    Acknowledgment,
    AttendanceMark,
    Enrolment,
    SessionSignature,
    TrainingSession,
)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("clock")

MODELS = (TrainingSession, Enrolment, AttendanceMark, Acknowledgment, SessionSignature)


def _counts() -> dict[str, int]:
    out = {m.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in MODELS}
    out["ledger"] = db.session.scalar(sa.select(sa.func.count()).select_from(ledger.LedgerEntry))
    return out


def test_demo_sessions_are_idempotent(make_user, make_plain_program, make_program):
    users = {"instructor": make_user("instructor", name="Ivars Ozols")}
    users["instructor2"] = make_user("instructor", name="Olga Sokolova")
    for key in (*demo.WORKSHOP, *demo.WAREHOUSE):
        users[key] = make_user(name=key)
    make_plain_program(code="EXT")
    make_plain_program(code="MIN")
    make_program(code="SELF", delivery_mode="self_paced")
    lines: list[str] = []
    demo.load_demo(db.session, users, PASSWORD, lines.append)
    db.session.commit()
    first = _counts()
    assert first["TrainingSession"] == 5  # 2 upcoming each, and one held
    held = db.session.execute(
        sa.select(TrainingSession).where(TrainingSession.status == "held")
    ).scalar_one()
    assert held.program.code == "EXT" and len(held.signatures) == 1
    assert first["Acknowledgment"] == 3 and first["AttendanceMark"] == 5
    assert not db.session.execute(
        sa.select(TrainingSession).where(TrainingSession.program.has(code="SELF"))
    ).first()
    assert ledger.verify(db.session).ok
    demo.load_demo(db.session, users, PASSWORD, lines.append)
    db.session.commit()
    assert _counts() == first
    assert any("already there" in line for line in lines)


def test_demo_skips_the_held_session_when_passwords_differ(make_user, make_plain_program):
    users = {"instructor": make_user("instructor")}
    for key in demo.WORKSHOP:
        users[key] = make_user(name=key)
    make_plain_program(code="EXT")
    lines: list[str] = []
    demo.load_demo(db.session, users, "another-password", lines.append)
    db.session.commit()
    assert _counts()["SessionSignature"] == 0 and "held session skipped" in " ".join(lines)
