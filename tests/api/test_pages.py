"""The admin pages: HR import (upload, dry run, apply by a job, refusal) and API tokens."""

from __future__ import annotations

import io
import re

import openpyxl
import sqlalchemy as sa

from lms.accounts.models import User
from lms.api.models import ApiToken
from lms.extensions import db
from tests.conftest import text_of

CSV = (
    "employee_number,name,email,department,job_title,personal_code\n"
    "E1,Anna Ozola,anna@example.test,PLANT,Welder,320000-00001\n"
    "E2,Boris Petrov,boris@example.test,PLANT,Fitter,\n"
)


def _upload(client, body: bytes, name: str = "people.csv"):
    return client.post(
        "/admin/hr-import",
        data={"file": (io.BytesIO(body), name)},
        content_type="multipart/form-data",
    )


def test_hr_import_page_dry_run_then_apply(client, login_as, make_department):
    make_department("Plant", "PLANT")
    login_as("admin")
    page = client.get("/admin/hr-import")
    assert page.status_code == 200 and "Download the template" in text_of(page)
    template = client.get("/admin/hr-import/template.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(template.data))
    assert book.sheetnames == ["people", "absences"]
    resp = _upload(client, CSV.encode())
    assert resp.status_code == 302
    detail = client.get(resp.headers["Location"])
    text = text_of(detail)
    assert "Anna Ozola" in text and "Checked, not applied" in text
    assert "320000-00001" not in text  # masked even in the report
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1  # only the admin so far
    url = resp.headers["Location"] + "/apply"
    applied = client.post(url, data={})
    assert applied.status_code == 302
    assert "Applied" in text_of(client.get(resp.headers["Location"]))
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 3
    # the same file again changes nothing
    again = client.get(_upload(client, CSV.encode()).headers["Location"])
    assert "The file changes nothing" in text_of(again)


def test_hr_import_errors_are_listed_by_row_and_column(client, login_as, make_department):
    make_department("Plant", "PLANT")
    login_as("admin")
    bad = CSV + "E1,Dup,dup@example.test,NOWHERE,X,123\n"
    resp = _upload(client, bad.encode())
    assert resp.status_code == 400
    text = text_of(resp)
    assert "nothing was imported" in text
    assert "4 employee_number" in text and "4 department" in text and "4 personal_code" in text
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1
    garbage = _upload(client, b"\x00\x01\x02", "x.csv")
    assert garbage.status_code == 400


def test_token_page_shows_secret_once_and_revokes(client, login_as):
    admin = login_as("admin")
    resp = client.post(
        "/admin/api-tokens",
        data={"name": "HR system", "email": admin.email, "scopes": ["people:read"]},
    )
    assert resp.status_code == 200
    secret = re.search(r"brg_[A-Za-z0-9_-]+", resp.get_data(as_text=True)).group(0)
    assert secret not in client.get("/admin/api-tokens").get_data(as_text=True)
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/people", headers=headers).status_code == 200
    token = db.session.scalar(sa.select(ApiToken))
    assert secret not in (token.token_hash, token.prefix)
    client.post(f"/admin/api-tokens/{token.id}/revoke", data={})
    assert client.get("/api/v1/people", headers=headers).status_code == 401
    refused = client.post(
        "/admin/api-tokens", data={"name": "x", "email": "nobody@x.test", "scopes": ["people:read"]}
    )
    assert refused.status_code == 400 and "No person has this e-mail address" in text_of(refused)


def test_person_page_shows_the_hr_record(client, login_as, make_department):
    make_department("Plant", "PLANT")
    make_department("Office", "OFFICE")
    from lms.accounts import hr

    hr.apply_import(db.session, CSV.encode())
    db.session.commit()
    moved = CSV.replace(
        "E1,Anna Ozola,anna@example.test,PLANT", "E1,Anna Ozola,anna@example.test,OFFICE"
    )
    hr.apply_import(db.session, (moved + "").encode())
    db.session.commit()
    anna = db.session.scalar(sa.select(User).where(User.employee_number == "E1"))
    login_as("admin")
    text = text_of(client.get(f"/admin/users/{anna.id}"))
    assert "HR record" in text and "E1" in text
    assert "320000-00001" in text  # admins see the personal code in full
    assert "Plant, Welder" in text and "Office, Welder" in text  # the transfer, kept
    assert "Not yet (created by the HR import)" in text
