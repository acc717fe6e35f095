"""The demo exam: an exam point with the usual checklist and an upcoming exam of a program
with a quiz, its commission, a technician and three candidates. Running twice adds nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from lms.core.model import utcnow
from lms.exams import queries, services
from lms.exams.models import ExamPoint
from lms.programs.models import Program, ProgramVersion

POINT = ("Mācību centra eksāmenu punkts", "204")
CANDIDATES = ("employee", "emp03", "emp19")


def load_demo(session, users: dict, echo: Callable[[str], None] = print) -> None:
    if session.execute(sa.select(ExamPoint.id).limit(1)).scalar() is not None:
        return
    program = next(
        (
            p
            for p in session.execute(
                sa.select(Program)
                .join(ProgramVersion, ProgramVersion.id == Program.current_version_id)
                .where(ProgramVersion.status == "approved")
                .order_by(Program.code)
            ).scalars()
            if p.current_version is not None and p.current_version.questions
        ),
        None,
    )
    if program is None:
        return
    admin = users["admin"].id
    # the point's checklist labels are data: in the organisation's language
    with force_locale(current_app.config["LMS_CONFIG"].default_locale):
        point = services.create_point(
            session, name=POINT[0], room=POINT[1], workstations=12, actor_id=admin
        )
    day = queries.to_local(utcnow()).date() + timedelta(days=3)
    start = queries.to_utc(datetime.combine(day, time(10, 0)))
    exam = services.create_exam(
        session,
        point=point,
        program=program,
        test_kind="quiz",
        paper_title="",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        actor_id=admin,
    )
    services.appoint(session, exam, users["head"], "chair", admin)
    services.appoint(session, exam, users["instructor"], "member", admin)
    services.appoint(session, exam, users["emp18"], "technician", admin)
    for key in CANDIDATES:
        services.add_candidate(session, exam, users[key], admin)
    echo(f"  exam of {program.code} on {day.isoformat()} at {POINT[0]}")
