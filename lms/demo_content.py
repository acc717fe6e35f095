"""Demo content from the domains, loaded after the people, in dependency order."""

from __future__ import annotations

from collections.abc import Callable

from lms.config import ROOT


def course_pack_folders() -> list:
    return sorted(p.parent for p in (ROOT / "courses").glob("*/program.yaml"))


def load_programs(session, users: dict, password: str, echo: Callable[[str], None]) -> None:
    """Import every course pack and have the demo program head sign it."""
    from lms.programs import services
    from lms.programs.packs import import_pack

    head = users["head"]
    author = users["instructor"]
    for folder in course_pack_folders():
        result = import_pack(session, folder, head_id=head.id, actor_id=author.id)
        if result.program.head_id is None:
            result.program.head_id = head.id
        version = services.latest_version(session, result.program)
        if version.status == "draft":
            services.submit(session, version, author.id)
        if version.status == "submitted":
            services.sign(session, version, head, password, "approved")
        echo(f"  program {result.program.code}: version {version.number} {version.status}")


def load_content(session, users: dict, password: str, echo: Callable[[str], None]) -> None:
    from lms.demo_cascade import load_demo as load_cascade
    from lms.learning.demo import load_demo as load_learning
    from lms.sessions.demo import load_demo as load_sessions

    load_programs(session, users, password, echo)
    load_sessions(session, users, password, echo)
    load_cascade(session, users, password, echo)
    load_compliance(session, users, echo)
    load_learning(session, users, password, echo)


def load_compliance(session, users: dict, echo: Callable[[str], None]) -> None:
    """Requirements from every program's audience, and a shorter interval for welders."""
    import sqlalchemy as sa

    from lms.compliance import services
    from lms.compliance.models import Requirement
    from lms.core.errors import Conflict
    from lms.programs.models import Program

    if session.execute(sa.select(Requirement.id).limit(1)).scalar():
        return
    admin = users["admin"]
    programs = (
        session.execute(
            sa.select(Program).where(Program.current_version_id.is_not(None)).order_by(Program.code)
        )
        .scalars()
        .all()
    )
    made = sum(services.requirements_from_audience(session, p, admin.id) for p in programs)
    ext = next((p for p in programs if p.code == "FS-EXT"), None)
    if ext is not None:
        try:
            services.add_requirement(
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
