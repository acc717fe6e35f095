from __future__ import annotations

import io
import re
from datetime import date

import openpyxl
import pypdf
import sqlalchemy as sa

from lms.compliance.models import Requirement, UnscheduledBriefing
from lms.extensions import db
from tests.conftest import text_of


def _org(make_department, make_user, make_program, require, complete):
    shop = make_department("Workshop", "SHOP")
    office = make_department("Office", "OFF")
    a = make_user(name="Anna Kļaviņa", department=shop)
    b = make_user(name="Boris Ivanov", department=shop)
    c = make_user(name="Clara Office", department=office)
    program = make_program(approved=True, code="FS-BASIC")
    require(program)
    complete(a, program, date(2026, 1, 10))
    return shop, office, a, b, c, program


def test_matrix_people_and_exports(
    client, login_as, make_department, make_user, make_program, require, complete, time_travel
):
    time_travel("2026-02-01 09:00Z")
    shop, office, a, b, c, program = _org(
        make_department, make_user, make_program, require, complete
    )
    login_as("auditor")
    text = text_of(client.get("/compliance/"))
    assert "Workshop" in text and "FS-BASIC" in text and "50 %" in text and "0 %" in text
    text = text_of(client.get(f"/compliance/people?department={shop.id}&program={program.id}"))
    assert "Boris Ivanov" in text and "never trained" in text and "Clara" not in text
    text = text_of(client.get("/compliance/people?status=compliant"))
    assert "Anna Kļaviņa" in text and "Boris" not in text
    resp = client.get("/compliance/export/people.csv")
    body = resp.data.decode("utf-8-sig")
    assert resp.status_code == 200 and "Anna Kļaviņa" in body and "never trained" in body
    # dates in the named style of the reader ("Feb 1, 2026"), not ISO, in a file for people
    assert not re.search(r"\d{4}-\d{2}-\d{2}", body) and re.search(
        r"[A-Z][a-z]{2} \d{1,2}, 2026", body
    )
    resp = client.get("/compliance/export/matrix.xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    rows = list(ws.values)
    assert rows[0][0] == "Department" and ("Workshop", "FS-BASIC") in {
        (r[0], r[1]) for r in rows[1:]
    }
    resp = client.get("/compliance/summary.pdf")
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(resp.data)).pages)
    assert "Compliance summary" in text and "Workshop" in text
    assert client.get("/compliance/export/other.csv").status_code == 404
    assert client.get("/compliance/people?status=bogus&program=abc&window=-5").status_code == 200


def test_dashboard_renders_charts(
    client, login_as, make_department, make_user, make_program, require, complete, time_travel
):
    time_travel("2026-02-01 09:00Z")
    _org(make_department, make_user, make_program, require, complete)
    login_as("admin")
    resp = client.get("/compliance/dashboard")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<polyline" in html and "<rect" in html
    assert "Upcoming expiries by week" in text_of(resp)


def test_manager_sees_only_own_department(
    client, login_as, make_department, make_user, make_program, require, complete, time_travel
):
    time_travel("2026-02-01 09:00Z")
    shop, office, *_ = _org(make_department, make_user, make_program, require, complete)
    login_as("manager", department=office)
    text = text_of(client.get("/compliance/people"))
    assert "Clara Office" in text and "Boris" not in text
    text = text_of(client.get(f"/compliance/people?department={shop.id}"))
    assert "Boris" not in text


def test_admin_manages_requirements_and_triggers(
    client, login_as, make_department, make_program, time_travel
):
    time_travel("2026-02-01 09:00Z")
    program = make_program(approved=True)
    dept = make_department("Shop", "SHOP")
    login_as("admin")
    resp = client.post(
        "/compliance/requirements",
        data={
            "req-program_id": program.id,
            "req-department_id": dept.id,
            "req-job_title": "",
            "req-interval_months": "6",
            "req-submit": "1",
        },
    )
    assert resp.status_code == 302
    resp = client.post(
        "/compliance/requirements",
        data={
            "req-program_id": program.id,
            "req-department_id": dept.id,
            "req-interval_months": "6",
            "req-submit": "1",
        },
    )
    assert resp.status_code == 409
    resp = client.post(
        "/compliance/requirements",
        data={
            "req-program_id": program.id,
            "req-department_id": 0,
            "req-interval_months": "500",
            "req-submit": "1",
        },
    )
    assert resp.status_code == 400
    resp = client.post(
        "/compliance/requirements",
        data={
            "uns-program_id": program.id,
            "uns-department_id": 0,
            "uns-reason": "New extinguishers",
            "uns-due_on": "2026-01-01",
            "uns-submit": "1",
        },
    )
    assert resp.status_code == 400 and "cannot be in the past" in text_of(resp)
    resp = client.post(
        "/compliance/requirements",
        data={
            "uns-program_id": program.id,
            "uns-department_id": 0,
            "uns-reason": "New extinguishers",
            "uns-due_on": "2026-03-01",
            "uns-submit": "1",
        },
    )
    assert resp.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Requirement)) == 1
    assert db.session.scalar(sa.select(UnscheduledBriefing.reason)) == "New extinguishers"
    req_id = db.session.scalar(sa.select(Requirement.id))
    assert client.post(f"/compliance/requirements/{req_id}/end").status_code == 302
    assert db.session.scalar(sa.select(Requirement.active)) is False
