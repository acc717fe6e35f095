"""The auditor's certificate search: date, program, department and status filters combined,
keyset pages (nothing counted), page links that no longer hold, hostile search text."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from lms.auditor import routes as auditor_routes
from lms.completions import exports
from lms.completions.exports import certificate_query, certificates_after
from lms.completions.models import Certificate, Completion, ExportJob
from lms.extensions import db
from tests.conftest import text_of

NAMES = ("Anna Kļaviņa", "Boris Šulce", "Cilda Ozola")


@pytest.fixture
def certs(make_completion, make_user, make_program, make_department, time_travel):
    time_travel("2025-01-05 09:00Z")
    plant, office = make_department("Plant", "PLANT"), make_department("Office", "OFF")
    fire, aid = make_program(approved=True), make_program(approved=True)
    made = {}
    for name, dept, program, when, completed in (
        (NAMES[0], plant, fire, "2026-01-10 09:00Z", date(2026, 1, 10)),
        (NAMES[1], office, fire, "2026-02-15 09:00Z", date(2026, 2, 15)),
        (NAMES[2], plant, aid, "2026-03-20 09:00Z", date(2025, 3, 20)),  # expired on 2026-03-20
    ):
        time_travel(when)
        made[name] = make_completion(
            user=make_user(name=name, department=dept), program=program, completed_on=completed
        )
    time_travel("2026-04-01 09:00Z")
    return {"plant": plant, "office": office, "fire": fire, "aid": aid, "made": made}


def shown(client, **args) -> list[str]:
    resp = client.get("/auditor/", query_string=args)
    assert resp.status_code == 200, text_of(resp)
    text = text_of(resp)
    return sorted((n for n in NAMES if n in text), key=text.index)  # in the page's order


def test_filters_combine(client, login_as, certs):
    login_as("auditor")
    assert shown(client) == [NAMES[2], NAMES[1], NAMES[0]]  # newest issued first
    assert shown(client, issued_from="2026-02-01") == [NAMES[2], NAMES[1]]
    assert shown(client, issued_to="2026-02-15") == [NAMES[1], NAMES[0]]  # the whole last day
    assert shown(client, issued_from="2026-02-01", issued_to="2026-02-28") == [NAMES[1]]
    assert shown(client, valid_from="2027-01-01", valid_to="2027-01-31") == [NAMES[0]]
    assert shown(client, valid_to="2026-12-31") == [NAMES[2]]
    assert shown(client, program=certs["fire"].id, department=certs["plant"].id) == [NAMES[0]]
    assert shown(client, state="expired") == [NAMES[2]]
    assert shown(client, state="valid", department=certs["plant"].id) == [NAMES[0]]
    assert shown(client, q="klavina") == [NAMES[0]]
    assert shown(client, q="Шульце", issued_from="2026-02-01", program=certs["fire"].id) == [
        NAMES[1]
    ]
    assert shown(client, q="klavina", issued_from="2026-02-01") == []
    text = text_of(client.get("/auditor/", query_string={"q": "klavina"}))
    assert re.search(r"P-\d+ · version 1\b", text), text  # the label translated once a page


def test_filters_through_the_service(certs):
    stmt = certificate_query(
        q="OZOLA",
        department_ids=[certs["plant"].id],
        issued_since=datetime(2026, 3, 1, tzinfo=UTC),
        valid_to=date(2026, 3, 31),
        state="expired",
        today=date(2026, 4, 1),
    )
    items, more = certificates_after(db.session, stmt, None, 50)
    assert [c.fields["person_name"] for c in items] == [NAMES[2]] and not more


def test_a_malformed_date_is_a_400_naming_the_field(client, login_as, certs):
    login_as("auditor")
    for value in ("2026-13-01", "yesterday", "0001-01-01", "9999-12-31"):
        resp = client.get("/auditor/", query_string={"issued_to": value})
        assert resp.status_code == 400
        assert "Issued until: enter a date as YYYY-MM-DD." in text_of(resp)


def test_keyset_pages_without_counting(client, login_as, certs, monkeypatch):
    monkeypatch.setattr(auditor_routes, "PER_PAGE", 1)
    login_as("auditor")
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement.lower())

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        resp = client.get("/auditor/", query_string={"program": certs["fire"].id})
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert not [s for s in statements if "count(" in s]
    seen = []
    while True:
        assert resp.status_code == 200
        html = resp.get_data(as_text=True)
        seen += [n for n in NAMES if n in text_of(resp)]
        nxt = re.search(r'href="([^"]+)" rel="next"', html)
        if not nxt:
            break
        assert 'rel="first"' in html or len(seen) == 1
        resp = client.get(nxt.group(1).replace("&amp;", "&"))
    assert seen == [NAMES[1], NAMES[0]]


def all_pages(client, **args) -> list[str]:
    """The names shown on every page of a search, following the "Next" links."""
    resp = client.get("/auditor/", query_string=args)
    seen: list[str] = []
    while True:
        assert resp.status_code == 200, text_of(resp)
        seen += shown_in(resp)
        nxt = re.search(r'href="([^"]+)" rel="next"', resp.get_data(as_text=True))
        if not nxt:
            return seen
        resp = client.get(nxt.group(1).replace("&amp;", "&"))


def shown_in(resp) -> list[str]:
    text = text_of(resp)
    return sorted((n for n in NAMES if n in text), key=text.index)


@pytest.mark.parametrize("few", [0, 150])
def test_few_or_many_found_give_the_same_pages(client, login_as, certs, monkeypatch, few):
    """A few people (or numbers) found are read by their index, many by walking every
    certificate newest first (FEW_PEOPLE 0: every match is "many"): the same rows, the same
    order, the same pages, for names, numbers, both, and filters with them."""
    monkeypatch.setattr(exports, "FEW_PEOPLE", few)
    monkeypatch.setattr(auditor_routes, "PER_PAGE", 1)
    login_as("auditor")
    number = db.session.scalar(
        sa.select(Certificate.number)
        .join(Completion, Completion.id == Certificate.completion_id)
        .where(Completion.id == certs["made"][NAMES[1]].id)
    )
    assert all_pages(client, q="klavina") == [NAMES[0]]
    assert all_pages(client, q="Шульце") == [NAMES[1]]
    assert all_pages(client, q=number.lower()) == [NAMES[1]]
    assert all_pages(client, q=number[-4:]) == [NAMES[1]]
    assert all_pages(client, q="BRG-") == [NAMES[2], NAMES[1], NAMES[0]]
    assert all_pages(client, q="brg-", program=certs["fire"].id) == [NAMES[1], NAMES[0]]
    assert all_pages(client, q="nobody-at-all") == []
    assert all_pages(client, q="0000000") == []


def test_page_links_that_do_not_hold_are_a_400(client, login_as, certs):
    login_as("auditor")
    last = db.session.scalar(sa.select(sa.func.max(Certificate.id)))
    for after in ("abc", "-1", "1.5", "99999999999999999999", str(last + 1000), "%", "٣"):
        resp = client.get("/auditor/", query_string={"after": after})
        assert resp.status_code == 400, after
        assert "start from the first page" in text_of(resp)


def test_hostile_search_text_is_answered_literally(client, login_as, certs):
    login_as("auditor")
    for q in ("x" * 10_000, "%", "_", "%%", "__", "!?.,;:", "' OR 1=1 --", "\\"):
        assert shown(client, q=q) == [], q
    assert shown(client, q="%", state="valid") == []
    for big in ("99999999999999999999", "-5"):  # not an id a database can hold: a 400
        for name in ("program", "department"):
            assert client.get("/auditor/", query_string={name: big}).status_code == 400
    assert len(shown(client, program="1e9", department="1e9")) == 3  # not a number: no filter


def test_export_takes_the_date_filters(client, login_as, certs):
    login_as("auditor")
    resp = client.post("/auditor/export", data={"issued_from": "2026-02-01", "state": "valid"})
    assert resp.status_code == 302
    job = db.session.scalars(sa.select(ExportJob)).one()
    assert job.total == 1 and job.filters["issued_since"].startswith("2026-02-01")
    assert "1 certificate is ready" in text_of(client.get(resp.headers["Location"]))
    resp = client.post("/auditor/export", data={"issued_from": "someday"})
    assert resp.status_code == 303
    assert db.session.scalar(sa.select(sa.func.count(ExportJob.id))) == 1


def test_the_department_filter_lists_the_tree_in_the_readers_language(
    client, login_as, certs, make_department
):
    """Every department in tree order (each under its parent, indented), named in the
    reader's language: the same list the department tree gives."""
    from lms.accounts.services import department_tree
    from lms.auditor.queries import department_options

    certs["plant"].names = {"lv": "Rūpnīca"}
    make_department("Line 1", "L1", parent=certs["plant"])
    db.session.flush()
    tree = [(d.id, d.name, depth) for d, depth in department_tree(db.session)]
    assert department_options(db.session, "en") == tree
    assert [depth for _i, _n, depth in tree] == [0, 0, 1]  # Office, Plant, Plant's Line 1
    lv = dict((i, n) for i, n, _d in department_options(db.session, "lv"))
    assert lv[certs["plant"].id] == "Rūpnīca" and lv[certs["office"].id] == "Office"
    login_as("auditor")
    html = client.get("/auditor/").get_data(as_text=True)
    assert re.search(r"Plant</option><option value=\"\d+\">\u2003Line 1</option>", html)
