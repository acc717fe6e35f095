"""The learning demo: attempts and completions that make My training and the results pages
look real, idempotent, and a course left for the demo employee to pass."""

from __future__ import annotations

import sqlalchemy as sa

from lms import demo
from lms.accounts.services import find_by_email
from lms.completions.models import Completion
from lms.core.ledger import verify
from lms.extensions import db
from lms.learning import demo as learning_demo
from lms.learning import services
from lms.learning.models import Attempt, TopicProgress
from tests.conftest import PASSWORD


def _counts():
    return tuple(
        db.session.scalar(sa.select(sa.func.count()).select_from(m))
        for m in (Attempt, Completion, TopicProgress)
    )


def test_demo_records_are_realistic_and_idempotent():
    lines: list[str] = []
    demo.load_demo(db.session, password=PASSWORD, echo=lines.append)
    users = {
        local: find_by_email(db.session, demo.email_for(local)) for local, *_rest in demo.PEOPLE
    }
    learning_demo.load_demo(db.session, users, PASSWORD, lines.append)
    db.session.commit()
    first = _counts()
    assert first[0] >= 10 and first[1] >= 5, first
    learning_demo.load_demo(db.session, users, PASSWORD, lines.append)
    db.session.commit()
    assert _counts() == first
    assert verify(db.session).ok

    def state(local):
        return {
            i.program.code: i.status.state for i in services.my_training(db.session, users[local])
        }

    assert "passed" in state("emp02").values()
    assert "due" in state("emp03").values()
    assert "overdue" in state("emp04").values()
    # the demo employee has a self-paced course in progress, not passed, and may take its quiz
    employee = users["employee"]
    items = services.my_training(db.session, employee)
    open_courses = [
        i
        for i in items
        if i.version.delivery_mode == "self_paced" and i.completion is None and i.quiz.can_start
    ]
    assert open_courses and any(i.topics_read for i in open_courses)
    assert any("learning:" in line for line in lines)
