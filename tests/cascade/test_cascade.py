"""Cascade: designations, the right to teach, lineage and lapse propagation."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from lms.accounts import services as accounts
from lms.cascade import services
from lms.completions import services as completions
from lms.completions.models import Revocation
from lms.compliance import engine
from lms.core.errors import DomainError
from lms.core.outbox import OutboxMessage
from lms.extensions import db
from tests.conftest import text_of

TODAY = date(2026, 3, 1)


@pytest.fixture
def cascade(make_department, make_user, make_program):
    plant = make_department("Plant", "PLANT")
    shop = make_department("Workshop", "SHOP", parent=plant)
    office = make_department("Office", "OFF")
    specialist = make_user("instructor", name="Ivars Ozols")
    manager = make_user("manager", name="Līga Bērziņa", department=shop)
    office_mgr = make_user("manager", name="Inese Liepiņa", department=office)
    staff = make_user(name="Anna Kļaviņa", department=shop)
    program = make_program(approved=True, delivery_mode="cascade", code="FS-EVAC")
    shop.manager_id = manager.id
    db.session.commit()
    return dict(
        plant=plant,
        shop=shop,
        office=office,
        specialist=specialist,
        manager=manager,
        office_mgr=office_mgr,
        staff=staff,
        program=program,
    )


def complete(user, program, on, trainer=None, trainer_completion=None, level=None):
    c = completions.record_completion(
        db.session,
        user_id=user.id,
        version=program.current_version,
        completed_on=on,
        earned_by="session",
        actor_id=None,
        trainer_id=trainer.id if trainer else None,
        trainer_completion_id=trainer_completion.id if trainer_completion else None,
        cascade_level=level,
        issue=False,
    )
    db.session.commit()
    return c


def designate(c, user=None, dept=None, **kw):
    d = services.designate(
        db.session,
        user_id=(user or c["manager"]).id,
        department_id=(dept or c["shop"]).id,
        program_id=c["program"].id,
        category=None,
        level=kw.pop("level", 1),
        starts_on=kw.pop("starts_on", date(2026, 1, 1)),
        ends_on=kw.pop("ends_on", None),
        actor_id=None,
    )
    db.session.commit()
    return d


def test_right_to_teach_needs_designation_department_and_own_completion(cascade):
    c = cascade
    right = services.teaching_right(db.session, c["specialist"], c["program"], None, TODAY)
    assert right.allowed and right.level == 0
    right = services.teaching_right(db.session, c["manager"], c["program"], c["shop"].id, TODAY)
    assert not right.allowed and "not a designated" in right.reason
    designate(c)
    right = services.teaching_right(db.session, c["manager"], c["program"], c["shop"].id, TODAY)
    assert not right.allowed and "trained again" in right.reason
    own = complete(c["manager"], c["program"], date(2026, 1, 15), trainer=c["specialist"], level=0)
    right = services.teaching_right(db.session, c["manager"], c["program"], c["shop"].id, TODAY)
    assert right.allowed and right.level == 1 and right.own_completion.id == own.id
    right = services.teaching_right(db.session, c["manager"], c["program"], c["office"].id, TODAY)
    assert not right.allowed and "another department" in right.reason
    # once the own completion expires (12 months), the right lapses
    right = services.teaching_right(
        db.session, c["manager"], c["program"], c["shop"].id, date(2027, 2, 1)
    )
    assert not right.allowed


def test_designation_is_refused_for_bad_input(cascade):
    c = cascade
    accounts.set_active(db.session, c["staff"], False, None)
    with pytest.raises(DomainError, match="deactivated"):
        designate(c, user=c["staff"])
    with pytest.raises(DomainError, match="level"):
        designate(c, level=3)
    with pytest.raises(DomainError, match="end date"):
        designate(c, starts_on=date(2026, 5, 1), ends_on=date(2026, 4, 1))


def test_ended_designation_removes_the_right(cascade):
    c = cascade
    d = designate(c)
    complete(c["manager"], c["program"], date(2026, 1, 15), trainer=c["specialist"], level=0)
    services.end_designation(db.session, d, date(2026, 2, 1), None)
    db.session.commit()
    assert not services.teaching_right(
        db.session, c["manager"], c["program"], c["shop"].id, TODAY
    ).allowed


def test_lineage_and_cycles(cascade):
    c = cascade
    top = complete(c["manager"], c["program"], date(2026, 1, 15), trainer=c["specialist"], level=0)
    child = complete(
        c["staff"],
        c["program"],
        date(2026, 2, 1),
        trainer=c["manager"],
        trainer_completion=top,
        level=1,
    )
    chain = completions.lineage(db.session, child)
    assert [x.user_id for x in chain] == [c["staff"].id, c["manager"].id]
    assert chain[-1].trainer_id == c["specialist"].id
    with pytest.raises(DomainError, match="cycle"):
        complete(
            c["manager"],
            c["program"],
            date(2026, 2, 2),
            trainer=c["staff"],
            trainer_completion=child,
        )


def test_lapse_propagates_down_the_chain_and_notifies(cascade, make_user):
    c = cascade
    top = complete(c["manager"], c["program"], date(2026, 1, 15), trainer=c["specialist"], level=0)
    child = complete(
        c["staff"],
        c["program"],
        date(2026, 2, 1),
        trainer=c["manager"],
        trainer_completion=top,
        level=1,
    )
    grand = complete(
        make_user(name="Grand Child", department=c["shop"]),
        c["program"],
        date(2026, 2, 10),
        trainer=c["staff"],
        trainer_completion=child,
        level=2,
    )
    completions.revoke(db.session, top, "Trainer found not qualified", None)
    db.session.commit()
    revoked = {r.completion_id: r for r in db.session.scalars(sa.select(Revocation))}
    assert set(revoked) == {top.id, child.id, grand.id}
    assert revoked[child.id].caused_by_id == revoked[top.id].id
    assert revoked[grand.id].caused_by_id == revoked[child.id].id
    # the reason Brigade wrote is a key with the trainer's name, read in each reader's language;
    # the reason a person typed stays as typed
    from flask_babel import force_locale

    from lms.core import texts

    written = revoked[child.id].reason
    assert written.startswith(texts.PREFIX) and "Re-briefing" not in written
    with force_locale("lv"):
        assert c["manager"].name in texts.render(written)
        assert "Re-briefing" not in texts.render(written)
        assert texts.render(revoked[top.id].reason) == "Trainer found not qualified"
    with force_locale("en"):
        assert texts.render(written).startswith("Re-briefing needed: the trainer's own")
    rows = db.session.execute(engine.status_select(db.session, TODAY)).all()
    assert rows == [] or all(r.status in ("flagged", "never_trained") for r in rows)
    msgs = db.session.execute(sa.select(OutboxMessage.user_id, OutboxMessage.kind)).all()
    assert (c["staff"].id, "cascade_lapse") in msgs
    assert (c["manager"].id, "cascade_lapse") in msgs  # the shop's manager hears about Anna


def test_flagged_status_counts_as_due(cascade, require):
    c = cascade
    require(c["program"], department=c["plant"])
    top = complete(c["manager"], c["program"], date(2026, 1, 15), trainer=c["specialist"], level=0)
    complete(
        c["staff"],
        c["program"],
        date(2026, 2, 1),
        trainer=c["manager"],
        trainer_completion=top,
        level=1,
    )
    completions.revoke(db.session, top, "Not qualified", None)
    db.session.commit()
    statuses = {
        r.user_id: r.status for r in db.session.execute(engine.status_select(db.session, TODAY))
    }
    assert statuses[c["staff"].id] == "flagged"


def test_dashboard_and_designation_pages(client, login_as, cascade, require):
    c = cascade
    require(c["program"], department=c["plant"])
    designate(c)
    top = complete(c["manager"], c["program"], date(2026, 1, 15), trainer=c["specialist"], level=0)
    complete(
        c["staff"],
        c["program"],
        date(2026, 2, 1),
        trainer=c["manager"],
        trainer_completion=top,
        level=1,
    )
    login_as("admin")
    text = text_of(client.get("/cascade/"))
    assert "Workshop" in text and "Līga Bērziņa" in text and "valid" in text
    resp = client.post(
        "/cascade/designations",
        data={
            "user_id": c["office_mgr"].id,
            "department_id": c["office"].id,
            "program_id": c["program"].id,
            "category": "",
            "level": "1",
            "starts_on": "2026-03-01",
        },
    )
    assert resp.status_code == 302
    assert "Inese Liepiņa" in text_of(client.get("/cascade/designations"))


def test_manager_designates_only_in_own_department(client, login_as, cascade):
    c = cascade
    login_as("manager", department=c["office"])
    resp = client.post(
        "/cascade/designations",
        data={
            "user_id": c["manager"].id,
            "department_id": c["shop"].id,
            "program_id": c["program"].id,
            "category": "",
            "level": "1",
            "starts_on": "2026-03-01",
        },
    )
    assert resp.status_code in (400, 403)
