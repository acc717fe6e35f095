"""Property: after any sequence of events, every stored status equals its recomputation.

Hypothesis draws sequences of what moves a status (completions with and without lineage,
revocations and the cascade lapses they cause, requirements added and ended, unscheduled
briefings, transfers, leaving and returning); after each event `status.verify()` must find no
disagreement, neither in the stored rows nor in the status counts kept from them. Each example runs inside one transaction that is rolled back afterwards.
"""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lms.accounts import services as accounts
from lms.completions import services as completions
from lms.completions.models import Completion, Revocation
from lms.compliance import counts, status
from lms.compliance import services as compliance
from lms.compliance.models import PersonStatus, Requirement
from lms.core.errors import DomainError
from lms.extensions import db

TODAY = date(2026, 6, 1)

events = st.lists(
    st.one_of(
        st.tuples(
            st.just("complete"),
            st.integers(0, 3),  # person
            st.integers(0, 1),  # program
            st.integers(0, 900),  # days ago
            st.booleans(),  # trained by someone holding the program (lineage)
        ),
        st.tuples(st.just("revoke"), st.integers(0, 3), st.integers(0, 1)),
        st.tuples(
            st.just("require"),
            st.integers(0, 1),  # program
            st.integers(0, 2),  # 0: everyone, 1: production (and below), 2: office
            st.sampled_from([None, 6, 24]),
            st.sampled_from([None, "Welder"]),
        ),
        st.tuples(st.just("end_requirement"), st.integers(0, 5)),
        st.tuples(st.just("unscheduled"), st.integers(0, 1), st.integers(0, 2)),
        st.tuples(st.just("transfer"), st.integers(0, 3), st.integers(0, 2)),
        st.tuples(st.just("leave_or_return"), st.integers(0, 3)),
    ),
    min_size=1,
    max_size=12,
)


@pytest.fixture
def world(make_department, make_user, make_program):
    production = make_department("Production", "PROD")
    workshop = make_department("Workshop", "WSHP", parent=production)
    office = make_department("Office", "OFF")
    people = [
        make_user(name="Welder A", department=workshop, job_title="Welder"),
        make_user(name="Clerk B", department=office, job_title="Clerk"),
        make_user(name="Foreman C", department=production, job_title="Foreman"),
        make_user(name="Welder D", department=workshop, job_title="Welder"),
    ]
    programs = [make_program(code="FS-A"), make_program(code="FS-B", refresher_months=None)]
    db.session.commit()
    return {"depts": [None, production, workshop, office], "people": people, "programs": programs}


def _apply(event: tuple, w: dict) -> None:
    kind, *args = event
    people, programs, depts = w["people"], w["programs"], w["depts"]
    if kind == "complete":
        who, which, days_ago, with_lineage = args
        program = programs[which]
        trainer_completion = None
        if with_lineage:
            trainer_completion = db.session.scalar(
                sa.select(Completion)
                .where(
                    Completion.program_id == program.id,
                    Completion.user_id != people[who].id,
                    ~sa.exists().where(Revocation.completion_id == Completion.id),
                )
                .order_by(Completion.id.desc())
                .limit(1)
            )
        with contextlib.suppress(DomainError):  # a lineage cycle: refused, nothing written
            completions.record_completion(
                db.session,
                user_id=people[who].id,
                version=program.current_version,
                completed_on=TODAY - timedelta(days=days_ago),
                earned_by="record",
                actor_id=None,
                trainer_completion_id=trainer_completion.id if trainer_completion else None,
                cascade_level=1 if trainer_completion else None,
                issue=False,
            )
    elif kind == "revoke":
        who, which = args
        held = db.session.scalar(
            sa.select(Completion)
            .where(
                Completion.user_id == people[who].id,
                Completion.program_id == programs[which].id,
                ~sa.exists().where(Revocation.completion_id == Completion.id),
            )
            .limit(1)
        )
        if held is not None:
            completions.revoke(db.session, held, "Entered by mistake", None)
    elif kind == "require":
        which, dept, months, title = args
        with contextlib.suppress(DomainError):  # the same requirement twice
            compliance.add_requirement(
                db.session,
                program_id=programs[which].id,
                department_id=[None, depts[1].id, depts[3].id][dept],
                job_title=title,
                interval_months=months,
                actor_id=None,
            )
    elif kind == "end_requirement":
        active = db.session.scalars(
            sa.select(Requirement).where(Requirement.active.is_(True)).order_by(Requirement.id)
        ).all()
        if active:
            compliance.end_requirement(db.session, active[args[0] % len(active)], None)
    elif kind == "unscheduled":
        which, dept = args
        compliance.trigger_unscheduled(
            db.session,
            program_id=programs[which].id,
            reason="Instruction amended",
            due_on=TODAY + timedelta(days=14),
            department_id=[None, depts[1].id, depts[3].id][dept],
            actor_id=None,
            since=TODAY,
        )
    elif kind == "transfer":
        who, dept = args
        person = people[who]
        accounts.update_user(
            db.session,
            person,
            name=person.name,
            email=person.email,
            job_title=person.job_title,
            department_id=[depts[1], depts[2], depts[3]][dept].id,
            roles=person.roles,
            start_date=person.start_date,
        )
    elif kind == "leave_or_return":
        person = people[args[0]]
        accounts.set_active(db.session, person, not person.active, None)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=events)
def test_stored_status_equals_recomputation_after_every_event(world, sequence):
    try:
        counts.rebuild(db.session, TODAY)  # kept from here on by the events' differences
        for event in sequence:
            _apply(event, world)
            report = status.verify(db.session)
            assert report.ok, ([str(d) for d in report.disagreements], report.counts)
    finally:
        db.session.rollback()
        db.session.expire_all()


def test_verify_names_a_row_that_disagrees_and_rebuild_repairs_it(world, runner):
    person, program = world["people"][0], world["programs"][0]
    compliance.add_requirement(
        db.session,
        program_id=program.id,
        department_id=None,
        job_title=None,
        interval_months=None,
        actor_id=None,
    )
    db.session.commit()
    assert "OK:" in runner.invoke(args=["lms", "verify"]).output
    db.session.execute(
        sa.update(PersonStatus)
        .where(PersonStatus.user_id == person.id)
        .values(due_on=date(2030, 1, 1), basis="valid")
    )
    db.session.commit()
    result = runner.invoke(args=["lms", "verify"])
    assert result.exit_code == 1
    assert f"STATUS DISAGREES: Welder A (#{person.id}), FS-A" in result.output
    assert "Rebuilt 6 stored statuses." in runner.invoke(args=["lms", "rebuild-status"]).output
    assert "OK: 6 stored statuses" in runner.invoke(args=["lms", "verify"]).output
