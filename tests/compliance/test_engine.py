"""The status engine with frozen dates: due, overdue, never trained, flagged, unscheduled."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from lms.completions import services as completions
from lms.compliance import engine, services
from lms.compliance.models import UnscheduledBriefing
from lms.core import texts
from lms.core.errors import DomainError
from lms.extensions import db
from tests.conftest import PASSWORD


def statuses(today, **scope):
    rows = db.session.execute(engine.status_select(db.session, today, 30, engine.Scope(**scope)))
    return {(r.user_id, r.program_id): (r.status, r.due_on) for r in rows}


@pytest.fixture
def org(make_department, make_user, make_program, require):
    top = make_department("Plant", "PLANT")
    shop = make_department("Workshop", "SHOP", parent=top)
    office = make_department("Office", "OFF")
    welder = make_user(
        name="Welder", department=shop, job_title="Welder", start_date=date(2026, 1, 5)
    )
    clerk = make_user(name="Clerk", department=office, job_title="Clerk")
    program = make_program(approved=True, refresher_months=12)
    require(program, department=top)  # the workshop is below the plant
    return {
        "top": top,
        "shop": shop,
        "office": office,
        "welder": welder,
        "clerk": clerk,
        "program": program,
    }


def test_scope_follows_the_department_tree_and_never_trained(org):
    s = statuses(date(2026, 2, 1))
    assert s == {(org["welder"].id, org["program"].id): ("never_trained", date(2026, 1, 5))}


def test_due_soon_and_overdue_follow_the_refresher_interval(org, complete):
    welder, program = org["welder"], org["program"]
    complete(welder, program, date(2025, 12, 1))
    key = (welder.id, program.id)
    assert statuses(date(2026, 6, 1))[key] == ("compliant", date(2026, 12, 1))
    assert statuses(date(2026, 10, 31))[key] == ("compliant", date(2026, 12, 1))
    assert statuses(date(2026, 11, 1))[key] == ("due_soon", date(2026, 12, 1))
    assert statuses(date(2026, 12, 1))[key] == ("due_soon", date(2026, 12, 1))
    assert statuses(date(2026, 12, 2))[key] == ("overdue", date(2026, 12, 1))
    complete(welder, program, date(2026, 12, 10))
    assert statuses(date(2026, 12, 11))[key] == ("compliant", date(2027, 12, 10))


def test_a_group_interval_shortens_validity(org, complete, require):
    welder, program = org["welder"], org["program"]
    require(program, job_title="welder", interval_months=6)  # high-risk work
    complete(welder, program, date(2026, 1, 10))
    assert statuses(date(2026, 7, 11))[(welder.id, program.id)] == ("overdue", date(2026, 7, 10))


def test_job_title_requirement(org, make_program, require):
    other = make_program(approved=True)
    require(other, job_title="Clerk")
    s = statuses(date(2026, 2, 1), program_ids=(other.id,))
    assert list(s) == [(org["clerk"].id, other.id)]


def test_unscheduled_briefing_makes_people_due_then_overdue(org, complete):
    welder, program = org["welder"], org["program"]
    complete(welder, program, date(2026, 1, 10))
    with pytest.raises(DomainError):
        services.trigger_unscheduled(
            db.session,
            program_id=program.id,
            reason=" ",
            due_on=date(2026, 3, 1),
            department_id=None,
            actor_id=None,
            since=date(2026, 2, 1),
        )
    services.trigger_unscheduled(
        db.session,
        program_id=program.id,
        reason="New extinguishers",
        due_on=date(2026, 3, 1),
        department_id=None,
        actor_id=None,
        since=date(2026, 2, 1),
    )
    db.session.commit()
    key = (welder.id, program.id)
    assert statuses(date(2026, 2, 2))[key] == ("due_soon", date(2026, 3, 1))
    assert statuses(date(2026, 3, 2))[key] == ("overdue", date(2026, 3, 1))
    complete(welder, program, date(2026, 3, 5))
    assert statuses(date(2026, 3, 6))[key][0] == "compliant"


def _approve_changed_version(program, rebrief: bool):
    from lms.programs import services as programs

    draft = programs.new_draft(db.session, program, None)
    programs.update_topic(
        db.session,
        draft.topics[0],
        title={"en": "Changed"},
        body={"en": "New"},
        minutes=10,
        kind="lesson",
        actor_id=None,
    )
    programs.submit(db.session, draft, None)
    programs.sign(db.session, draft, program.head, PASSWORD, "approved", needs_rebriefing=rebrief)
    db.session.commit()
    return draft


def test_a_new_version_without_rebriefing_leaves_holders_valid(org, complete, time_travel):
    welder, program = org["welder"], org["program"]
    complete(welder, program, date(2026, 1, 10))
    time_travel("2026-04-01 09:00Z")
    _approve_changed_version(program, rebrief=False)
    assert statuses(date(2026, 4, 1))[(welder.id, program.id)] == ("compliant", date(2027, 1, 10))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UnscheduledBriefing)) == 0


def test_a_new_version_needing_rebriefing_makes_a_briefing_due(org, complete, time_travel):
    welder, program = org["welder"], org["program"]
    complete(welder, program, date(2026, 1, 10))
    time_travel("2026-04-01 09:00Z")
    _approve_changed_version(program, rebrief=True)
    assert statuses(date(2026, 4, 1))[(welder.id, program.id)] == ("due_soon", date(2026, 5, 1))
    (ub,) = db.session.scalars(sa.select(UnscheduledBriefing)).all()
    assert ub.reason == texts.stored("compliance.instruction_amended", n=2)  # a key, not English
    assert texts.render(ub.reason).startswith("Instruction amended")
    assert ub.trigger == "instruction_amended"  # the trigger of the regimes, not "by hand"


def test_a_pending_briefing_never_hides_an_expiry(org, complete, time_travel, make_user):
    welder, program = org["welder"], org["program"]
    holder = make_user(name="Holder", department=org["shop"])
    complete(welder, program, date(2025, 4, 20))  # expires on 20 Apr 2026
    complete(holder, program, date(2026, 3, 1))
    time_travel("2026-04-01 09:00Z")
    _approve_changed_version(program, rebrief=True)  # briefing due 1 May 2026
    assert statuses(date(2026, 4, 1))[(welder.id, program.id)] == ("due_soon", date(2026, 4, 20))
    assert statuses(date(2026, 4, 25))[(welder.id, program.id)] == ("overdue", date(2026, 4, 20))
    assert statuses(date(2026, 4, 25))[(holder.id, program.id)] == ("due_soon", date(2026, 5, 1))


def test_cascade_lapse_is_flagged(org, complete, make_user):
    welder, program = org["welder"], org["program"]
    trainer = make_user("manager", name="Trainer")
    trainer_c = complete(trainer, program, date(2026, 1, 2))
    complete(
        welder,
        program,
        date(2026, 1, 10),
        trainer_id=trainer.id,
        trainer_completion_id=trainer_c.id,
    )
    completions.revoke(db.session, trainer_c, "Not qualified", None)  # propagates to the welder
    db.session.commit()
    assert statuses(date(2026, 2, 1))[(welder.id, program.id)][0] == "flagged"


def test_matrix_counts_group_by_department(org, complete):
    complete(org["welder"], org["program"], date(2026, 1, 10))
    counts = engine.matrix_counts(db.session, date(2026, 2, 1))
    assert counts == {(org["shop"].id, org["program"].id): {"compliant": 1}}


def test_requirement_validation(org, make_program):
    with pytest.raises(DomainError):
        services.add_requirement(
            db.session,
            program_id=org["program"].id,
            department_id=999999,
            job_title=None,
            interval_months=None,
            actor_id=None,
        )
    with pytest.raises(DomainError):
        services.add_requirement(
            db.session,
            program_id=org["program"].id,
            department_id=None,
            job_title=None,
            interval_months=0,
            actor_id=None,
        )
    with pytest.raises(DomainError):  # the same again
        services.add_requirement(
            db.session,
            program_id=org["program"].id,
            department_id=org["top"].id,
            job_title=None,
            interval_months=None,
            actor_id=None,
        )


@pytest.mark.parametrize("scope", [{}, {"department_ids": "shop"}, {"user_ids": "welder"}])
def test_both_ways_of_picking_the_completion_agree(org, complete, make_user, monkeypatch, scope):
    """SQLite picks per pair by index, PostgreSQL by a window: the same answers either way."""
    welder, clerk, program = org["welder"], org["clerk"], org["program"]
    other = make_user(name="Fitter", department=org["shop"], job_title="Fitter")
    complete(welder, program, date(2025, 3, 1))
    newer = complete(welder, program, date(2025, 9, 1))
    complete(other, program, date(2025, 8, 1))
    same_day = complete(other, program, date(2025, 8, 1))
    completions.revoke(db.session, newer, "Recorded in error", None)  # the older one counts
    completions.revoke(db.session, same_day, "Recorded twice", None)
    complete(clerk, program, date(2025, 5, 1))
    db.session.commit()
    values = {"shop": (org["shop"].id,), "welder": (welder.id,)}
    kw = {k: values[v] for k, v in scope.items()}
    seen = []
    for per_pair in (True, False):
        monkeypatch.setattr(engine, "_per_pair", lambda _session, v=per_pair: v)
        seen.append(statuses(date(2026, 2, 1), **kw))
    assert seen[0] == seen[1]
    assert seen[0][(welder.id, program.id)] == ("due_soon", date(2026, 3, 1))
