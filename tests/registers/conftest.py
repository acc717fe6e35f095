"""Fixtures shared with other rooms' tests, and the registers' own world."""

import pytest

from lms.accounts import hr_sync
from lms.extensions import db
from tests.completions.test_sealed import seal_file, sealed  # noqa: F401  (the seal fixtures)
from tests.exams.conftest import exam_setup  # noqa: F401  (the exam fixture, shared)
from tests.sessions.conftest import approve_without_quiz


@pytest.fixture
def world(make_department, make_user, make_program, require):
    dept = make_department("Warehouse", "WH")
    instructor = make_user("instructor", name="Ilze Instructor", job_title="OHS specialist")
    person = hr_sync.sync_person(
        db.session,
        "E-1",
        name="Pēteris Bērziņš",
        email="peteris@example.test",
        patronymic="Ivanovich",
        personal_code="325678-12345",
        job_title="Forklift driver",
        department_id=dept.id,
    )
    db.session.commit()
    fire = approve_without_quiz(
        make_program(approved=False, category="fire", delivery_mode="instructor_led", code="FS")
    )
    ohs = make_program(category="workplace", briefing_type="introductory", code="OHS-IN")
    require(fire, department=dept)
    require(ohs, department=dept)
    return dept, instructor, person, fire, ohs
