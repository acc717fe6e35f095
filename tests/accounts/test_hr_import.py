"""HR import: dry run, apply, idempotence, leavers, transfers, absences, refusals, 5,000 people."""

from __future__ import annotations

import csv
import io
import time

import openpyxl
import pytest
import sqlalchemy as sa

from lms.accounts import hr
from lms.accounts.models import User
from lms.accounts.people import Absence, Transfer, mask_personal_code, normalise_personal_code
from lms.core.audit import AuditEntry
from lms.core.errors import DomainError
from lms.extensions import db

HEADER = list(hr.PEOPLE_COLUMNS)


def _csv(rows: list[dict[str, str]], header: list[str] = HEADER) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header)
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in header})
    return buf.getvalue().encode()


def person(n: int, **kw: str) -> dict[str, str]:
    row = {
        "employee_number": f"E{n:05d}",
        "name": f"Person {n}",
        "email": f"p{n}@example.test",
        "job_title": "Welder",
        "department": "PLANT",
        "hire_date": "2024-01-08",
    }
    row.update(kw)
    return row


@pytest.fixture
def depts(make_department):
    plant = make_department("Plant", "PLANT")
    shop = make_department("Workshop 1", "WS1", parent=plant)
    return plant, shop


def test_personal_code_rules():
    assert normalise_personal_code("32123456789") == "321234-56789"  # the 2017 form
    assert normalise_personal_code("120345-12345") == "120345-12345"
    for bad in ("120345-12344", "320000-0000", "330245-12345", "abc"):
        with pytest.raises(DomainError):
            normalise_personal_code(bad)
    assert mask_personal_code("120345-12345") == "12****-*****"
    assert mask_personal_code("120345-12345", {"auditor"}) == "120345-12345"


def test_dry_run_then_apply_then_nothing(depts):
    plant, shop = depts
    data = _csv(
        [
            person(1, personal_code="120345-12345", department="Plant / Workshop 1"),
            person(2, manager="E00001", hazardous_work="yes", worker_category="contractor"),
        ]
    )
    plan = hr.plan_import(db.session, data, "people.csv")
    assert not plan.errors
    assert [c.employee_number for c in plan.added] == ["E00001", "E00002"]
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0  # dry run wrote nothing
    hr.apply_import(db.session, data)
    db.session.commit()
    p1 = db.session.scalar(sa.select(User).where(User.employee_number == "E00001"))
    p2 = db.session.scalar(sa.select(User).where(User.employee_number == "E00002"))
    assert p1.department_id == shop.id and p1.personal_code == "120345-12345"
    assert p2.manager_id == p1.id and p2.hazardous_work and p2.worker_category == "contractor"
    assert p1.roles == {"employee"}
    again = hr.plan_import(db.session, data)
    assert not again.has_changes and again.unchanged == 2
    # personal codes never reach the audit log
    details = " ".join(str(e.details) for e in db.session.scalars(sa.select(AuditEntry)))
    assert "120345" not in details


def test_change_move_leave_and_absences(depts):
    plant, shop = depts
    hr.apply_import(db.session, _csv([person(1), person(2), person(3)]))
    db.session.commit()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "people"
    ws.append(HEADER)
    for row in (
        person(1, name="Person One"),
        person(2, department="WS1", job_title="Foreman"),
        person(3, leaving_date="2025-01-31"),
    ):
        ws.append([row.get(h, "") for h in HEADER])
    ab = wb.create_sheet("absences")
    ab.append(list(hr.ABSENCE_COLUMNS))
    ab.append(["E00001", "2025-06-01", "2025-08-15", "leave"])
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    plan = hr.plan_import(db.session, data, "people.xlsx")
    assert [c.employee_number for c in plan.changed] == ["E00001"]
    assert plan.changed[0].changes == [("name", "Person 1", "Person One")]
    assert [c.employee_number for c in plan.moved] == ["E00002"]
    assert ("department", "Plant", "Workshop 1") in plan.moved[0].changes
    assert [c.employee_number for c in plan.leaving] == ["E00003"]
    assert plan.absences_added == 1
    hr.apply_import(db.session, data)
    db.session.commit()
    leaver = db.session.scalar(sa.select(User).where(User.employee_number == "E00003"))
    assert leaver is not None and not leaver.active  # deactivated, not deleted
    moved = db.session.scalar(sa.select(User).where(User.employee_number == "E00002"))
    (t,) = db.session.scalars(sa.select(Transfer).where(Transfer.user_id == moved.id)).all()
    assert (t.from_department_id, t.to_department_id, t.to_job_title) == (
        plant.id,
        shop.id,
        "Foreman",
    )
    assert db.session.scalar(sa.select(sa.func.count(Absence.id))) == 1
    assert not hr.plan_import(db.session, data).has_changes


def test_errors_name_rows_and_apply_nothing(depts):
    data = _csv(
        [
            person(1),
            person(1, email="other@example.test"),
            person(3, department="Nowhere"),
            person(4, personal_code="120345-12344"),
        ]
    )
    plan = hr.plan_import(db.session, data)
    where = {(e.row, e.column) for e in plan.errors}
    assert {(3, "employee_number"), (4, "department"), (5, "personal_code")} <= where
    with pytest.raises(hr.ImportRefused):
        hr.apply_import(db.session, data)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_an_email_taken_by_someone_else_is_refused(depts, make_user):
    make_user(email="taken@example.test")  # a local account without an employee number
    hr.apply_import(db.session, _csv([person(1)]))
    db.session.commit()
    plan = hr.plan_import(db.session, _csv([person(1, email="taken@example.test")]))
    assert [(e.row, e.column) for e in plan.errors] == [(2, "email")]
    # the local account itself is linked by its e-mail address on first import
    linked = hr.plan_import(db.session, _csv([person(1), person(2, email="taken@example.test")]))
    assert not linked.errors and not linked.added
    (entry,) = linked.changed + linked.moved
    assert entry.employee_number == "E00002"
    assert entry.changes[0] == ("employee_number", "", "E00002")


def test_cli_and_5000_people_under_a_minute(depts, runner, tmp_path, capsys):
    rows = [
        person(n, department="WS1" if n % 2 else "PLANT", manager="E00001" if n > 1 else "")
        for n in range(1, 5001)
    ]
    path = tmp_path / "people.csv"
    path.write_bytes(_csv(rows))
    dry = runner.invoke(args=["lms", "import-people", "--dry-run", str(path)])
    assert dry.exit_code == 0 and "Would change: added 5000" in dry.output, dry.output
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0
    started = time.perf_counter()
    result = runner.invoke(args=["lms", "import-people", str(path)])
    first = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    assert "added 5000" in result.output
    started = time.perf_counter()
    result = runner.invoke(args=["lms", "import-people", str(path)])
    second = time.perf_counter() - started
    assert "added 0, changed 0, moved 0, leaving 0" in result.output, result.output
    with capsys.disabled():
        print(f"\nHR import of 5,000 people: first {first:.1f} s, second {second:.1f} s")
    assert first < 60 and second < 60
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_csv([person(1, personal_code="1")]))
    result = runner.invoke(args=["lms", "import-people", str(bad)])
    assert result.exit_code != 0 and "2:personal_code" in result.output


def test_the_stored_status_follows_an_import_that_adds_moves_and_lets_go(
    depts, make_program, require
):
    """One truth: people added, moved into a required unit or leaving through the HR import
    have their stored status changed in the same transaction."""
    from lms.compliance.models import PersonStatus

    plant, shop = depts
    program = make_program(code="WS-HR", refresher_months=12)
    require(program, department=shop)
    hr.apply_import(db.session, _csv([person(1), person(2, department="WS1")]))
    db.session.commit()
    one, two = (
        db.session.execute(sa.select(User).where(User.employee_number == f"E{n:05d}")).scalar_one()
        for n in (1, 2)
    )
    assert db.session.get(PersonStatus, (one.id, program.id)) is None  # not required in PLANT
    assert db.session.get(PersonStatus, (two.id, program.id)).basis == "never_trained"
    hr.apply_import(
        db.session,
        _csv([person(1, department="WS1"), person(2, department="WS1", leaving_date="2024-02-01")]),
    )
    db.session.commit()
    assert db.session.get(PersonStatus, (one.id, program.id)).basis == "never_trained"
    assert db.session.get(PersonStatus, (two.id, program.id)) is None  # left: nothing is due
