"""Demo content from the domains, loaded after the people, in dependency order."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from lms.compliance import services as compliance
from lms.compliance.models import Requirement
from lms.config import ROOT
from lms.core.errors import Conflict
from lms.demo_cascade import load_demo as load_cascade
from lms.exams.demo import load_demo as load_exams
from lms.learning.demo import load_demo as load_learning
from lms.programs import services as programs
from lms.programs.models import Program
from lms.programs.packs import import_pack
from lms.sessions.demo import load_demo as load_sessions
from lms.support.demo import load_demo as load_support


def course_pack_folders() -> list:
    return sorted(p.parent for p in (ROOT / "courses").glob("*/program.yaml"))


def load_programs(session, users: dict, password: str, echo: Callable[[str], None]) -> None:
    """Import every course pack and have the demo program head sign it."""
    head = users["head"]
    author = users["instructor"]
    for folder in course_pack_folders():
        result = import_pack(session, folder, head_id=head.id, actor_id=author.id)
        if result.program.head_id is None:
            result.program.head_id = head.id
        version = programs.latest_version(session, result.program)
        assert version is not None  # an imported program has a version
        if version.status == "draft":
            programs.submit(session, version, author.id)
        if version.status == "submitted":
            programs.sign(session, version, head, password, "approved")
        echo(f"  program {result.program.code}: version {version.number} {version.status}")


def load_content(session, users: dict, password: str, echo: Callable[[str], None]) -> None:
    load_programs(session, users, password, echo)
    load_sessions(session, users, password, echo)
    load_cascade(session, users, password, echo)
    load_compliance(session, users, echo)
    load_learning(session, users, password, echo)
    load_support(session, users, password, echo)
    load_exams(session, users, echo)


def load_compliance(session, users: dict, echo: Callable[[str], None]) -> None:
    """Requirements from every program's audience, and a shorter interval for welders."""
    if session.execute(sa.select(Requirement.id).limit(1)).scalar():
        return
    admin = users["admin"]
    approved = (
        session.execute(
            sa.select(Program).where(Program.current_version_id.is_not(None)).order_by(Program.code)
        )
        .scalars()
        .all()
    )
    made = sum(compliance.requirements_from_audience(session, p, admin.id) for p in approved)
    ext = next((p for p in approved if p.code == "FS-EXT"), None)
    if ext is not None:
        try:
            compliance.add_requirement(
                session,
                program_id=ext.id,
                department_id=None,
                job_title="Welder",
                interval_months=6,
                actor_id=admin.id,
            )
            made += 1
        except Conflict:
            pass
    echo(f"  compliance: {made} requirements")
