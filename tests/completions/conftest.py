from __future__ import annotations

from datetime import date

import pytest

from lms.completions import services
from lms.extensions import db


@pytest.fixture
def make_completion(make_program, make_user):
    def make(
        user=None,
        program=None,
        completed_on=date(2026, 3, 2),
        trainer=None,
        trainer_completion=None,
        earned_by="session",
    ):
        user = user or make_user(name="Jānis Krūmiņš", job_title="Metinātājs")
        program = program or make_program(approved=True)
        version = program.versions[0]
        c = services.record_completion(
            db.session,
            user_id=user.id,
            version=version,
            completed_on=completed_on,
            earned_by=earned_by,
            actor_id=None,
            trainer_id=trainer.id if trainer else None,
            trainer_completion_id=trainer_completion.id if trainer_completion else None,
        )
        db.session.commit()
        return c

    return make
