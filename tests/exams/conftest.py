"""An exam ready to run: a point with the usual checklist, a program, a commission of two,
a technician and two candidates, starting three hours from now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from lms.core.model import utcnow
from lms.exams import services
from lms.exams.models import ExamSession
from lms.extensions import db


@dataclass
class Setup:
    exam: ExamSession
    chair: object
    member: object
    technician: object
    anna: object
    boris: object
    program: object

    def item(self, label: str):
        return next(i for i in self.exam.point.items if i.label == label)


@pytest.fixture
def exam_setup(make_user, make_program):
    def make(starts_at: datetime | None = None, test_kind: str = "quiz") -> Setup:
        program = make_program()
        chair = make_user("manager", name="Chair Person")
        member = make_user("instructor", name="Member Person")
        technician = make_user("employee", name="Tech Person", job_title="Support specialist")
        anna = make_user("employee", name="Anna Candidate")
        boris = make_user("employee", name="Boris Candidate")
        point = services.create_point(
            db.session, name="Point A", room="101", workstations=12, actor_id=None
        )
        start = starts_at or (utcnow() + timedelta(hours=3)).replace(microsecond=0)
        exam = services.create_exam(
            db.session,
            point=point,
            program=program,
            test_kind=test_kind,
            paper_title="Paper 1" if test_kind == "paper" else "",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            actor_id=None,
        )
        services.appoint(db.session, exam, chair, "chair", None)
        services.appoint(db.session, exam, member, "member", None)
        services.appoint(db.session, exam, technician, "technician", None)
        services.add_candidate(db.session, exam, anna, None)
        services.add_candidate(db.session, exam, boris, None)
        db.session.commit()
        return Setup(exam, chair, member, technician, anna, boris, program)

    return make


def tick_pre(setup: Setup) -> None:
    for item in services.active_items(setup.exam.point, "pre"):
        services.tick(db.session, setup.exam, item.id, setup.technician)
    db.session.commit()


def tick_post(setup: Setup, where: str = "NAS share //exam/rec") -> None:
    for item in services.active_items(setup.exam.point, "post"):
        services.tick(db.session, setup.exam, item.id, setup.technician, where)
    db.session.commit()
