"""One status per person and program: every page shows the same due date and state."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
import time_machine
from flask_babel import format_date

from lms.completions import services as completions
from lms.completions.models import Completion
from lms.compliance.models import PersonStatus
from lms.extensions import db
from tests.conftest import text_of


def test_an_expired_person_has_the_same_due_date_on_every_page(
    client, auth, make_department, make_user, make_program, require, complete
):
    shop = make_department("Workshop", "WSHP")
    manager = make_user("manager", name="Shop Manager", department=shop)
    shop.manager_id = manager.id
    person = make_user(name="Expired Person", department=shop, start_date=date(2023, 1, 2))
    never = make_user(name="Never Trained", department=shop, start_date=date(2024, 1, 8))
    program = make_program(code="FS-EXP", refresher_months=12)
    require(program, department=shop)
    complete(person, program, date(2024, 11, 4))  # expired on 4 Nov 2025
    with time_machine.travel("2026-03-01 10:00Z", tick=False):
        stored = db.session.get(PersonStatus, (person.id, program.id))
        assert (stored.basis, stored.valid_until, stored.due_on) == (
            "valid",
            date(2025, 11, 4),
            date(2025, 11, 4),
        )
        auth.login(person)
        expired_on = format_date(date(2025, 11, 4))
        mine = text_of(client.get("/learning/"))
        assert "FS-EXP" in mine and "Overdue" in mine and expired_on in mine
        auth.logout()
        auth.login(manager)
        drill = text_of(client.get(f"/compliance/people?program={program.id}"))
        assert "Expired Person" in drill and expired_on in drill
        export = client.get(f"/compliance/export/people.csv?program={program.id}")
        rows = export.get_data(as_text=True).splitlines()
        line = next(r for r in rows if "Expired Person" in r)
        assert expired_on in line and "overdue" in line.lower()  # the same named style
        # never trained: the same first due date on compliance and on My training
        never_line = next(r for r in rows if "Never Trained" in r)
        assert format_date(date(2024, 1, 8)) in never_line
        auth.logout()
        auth.login(never)
        assert format_date(date(2024, 1, 8)) in text_of(client.get("/learning/"))


def test_a_newer_briefing_lapsed_flags_the_person_even_with_an_older_completion(
    make_department, make_user, make_program, require, complete, client, auth
):
    shop = make_department("Workshop", "WSHP")
    trainer = make_user(name="Trainer", department=shop)
    person = make_user(name="Briefed Twice", department=shop)
    admin = make_user("admin")
    program = make_program(code="FS-FLAG", refresher_months=None)
    require(program, department=shop)
    own = complete(trainer, program, date(2025, 1, 10))
    complete(person, program, date(2024, 5, 2))  # an older completion, still valid
    complete(person, program, date(2025, 2, 1), trainer_completion_id=own.id, cascade_level=1)
    completions.revoke(db.session, own, "Trainer not qualified", admin.id)
    db.session.commit()
    stored = db.session.get(PersonStatus, (person.id, program.id))
    assert stored.basis == "flagged"
    auth.login(admin)
    dashboard = text_of(client.get("/compliance/dashboard"))
    assert "flagged for re-briefing" in dashboard
    flagged = text_of(client.get("/compliance/people?status=flagged"))
    assert "Briefed Twice" in flagged
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Completion)) == 3
