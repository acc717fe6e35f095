from __future__ import annotations

import pytest

from lms.completions import services as completions
from lms.compliance import services
from lms.extensions import db


@pytest.fixture
def require(make_department):
    def add(program, department=None, job_title=None, interval_months=None):
        req = services.add_requirement(
            db.session,
            program_id=program.id,
            department_id=department.id if department else None,
            job_title=job_title,
            interval_months=interval_months,
            actor_id=None,
        )
        db.session.commit()
        return req

    return add


@pytest.fixture
def complete():
    def add(user, program, on, **kw):
        c = completions.record_completion(
            db.session,
            user_id=user.id,
            version=program.current_version,
            completed_on=on,
            earned_by="record",
            actor_id=None,
            issue=False,
            **kw,
        )
        db.session.commit()
        return c

    return add
