"""The compliance pages at any size: the same number of SQL statements for 20 and for 200
people, bounded pages, keyset lists that walk every row once, bad cursors refused."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from lms.compliance.models import PersonStatus
from lms.extensions import db
from tests.conftest import text_of

MAX_PAGE_BYTES = 300_000


@pytest.fixture
def statements():
    """A counter of the SQL statements the engine runs."""
    seen = {"n": 0}

    def count(*_args, **_kw):
        seen["n"] += 1

    sa.event.listen(db.engine, "before_cursor_execute", count)
    yield seen
    sa.event.remove(db.engine, "before_cursor_execute", count)


def _grow(make_user, complete, units, programs, start: int, stop: int) -> None:
    """People start..stop-1 spread over the units; most trained in one program."""
    for i in range(start, stop):
        person = make_user(name=f"Worker {i:04d}", department=units[i % len(units)])
        if i % 3:
            complete(person, programs[i % len(programs)], date(2025, 1 + i % 12, 1 + i % 27))


def _counts(client, statements, paths):
    out = {}
    for path in paths:
        assert client.get(path).status_code == 200, path  # warm-up
        statements["n"] = 0
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert len(resp.get_data()) < MAX_PAGE_BYTES, path
        out[path] = statements["n"]
    return out


def test_statements_per_page_do_not_grow_with_people(
    client,
    login_as,
    make_department,
    make_user,
    make_program,
    require,
    complete,
    time_travel,
    statements,
):
    time_travel("2026-03-01 09:00Z")
    division = make_department("Division", "DIV")
    units = [make_department(f"Unit {i}", f"U{i}", parent=division) for i in range(3)]
    other = make_department("Office", "OFF")
    everyone = make_program(approved=True, code="FS-ALL")
    division_only = make_program(approved=True, code="FS-DIV", refresher_months=None)
    require(everyone)
    require(division_only, department=division)
    programs = [everyone, division_only]
    make_user(name="Office Worker", department=other)
    _grow(make_user, complete, units, programs, 0, 20)
    login_as("admin")
    paths = [
        "/compliance/",
        f"/compliance/?department={division.id}",
        "/compliance/dashboard",
        f"/compliance/dashboard?department={division.id}",
        f"/compliance/people?department={division.id}",
        "/compliance/people",
        "/compliance/people?status=never_trained",
    ]
    small = _counts(client, statements, paths)
    _grow(make_user, complete, units, programs, 20, 200)
    large = _counts(client, statements, paths)
    assert small == large
    # a later page of a long list costs the same as the first
    first = client.get("/compliance/people").get_data(as_text=True)
    after = re.search(r'href="[^"]*after=([^"&]+)[^"]*" rel="next"', first).group(1)
    more = _counts(client, statements, [f"/compliance/people?after={after}"])
    assert list(more.values()) == [large["/compliance/people"]]


def test_keyset_pages_walk_every_row_once(
    client, login_as, make_department, make_user, make_program, require, complete, time_travel
):
    time_travel("2026-03-01 09:00Z")
    units = [make_department(f"Unit {i}", f"U{i}") for i in range(2)]
    dated = make_program(approved=True, code="FS-DATED")
    undated = make_program(approved=True, code="FS-FOREVER", refresher_months=None)
    require(dated)
    require(undated)
    _grow(make_user, complete, units, [dated, undated], 0, 60)
    login_as("auditor")
    stored = db.session.execute(sa.select(sa.func.count()).select_from(PersonStatus)).scalar_one()
    assert stored >= 120
    seen: list[str] = []
    path = "/compliance/people"
    pages = 0
    while path:
        resp = client.get(path)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200
        rows = re.findall(
            r"<tr><td><a href=\"/people/(\d+)[^>]*>[^<]*</a>.*?<td>(FS-\w+)", html, re.S
        )
        seen += [f"{uid}-{code}" for uid, code in rows]
        nxt = re.search(r'href="([^"]*)" rel="next"', html)
        path = nxt.group(1).replace("&amp;", "&") if nxt else None
        pages += 1
    assert pages == -(-stored // 50) and len(seen) == stored and len(set(seen)) == stored
    # the undated rows (valid for ever) come last
    assert seen[-1].endswith("FS-FOREVER")


@pytest.mark.parametrize(
    "cursor",
    ["x", "2026-13-01.1.1", "2026-01-01.1", "2026-01-01.a.1", "-.1.99999999999999", "1.1.1"],
)
def test_a_bad_cursor_is_a_400(client, login_as, cursor):
    login_as("admin")
    assert client.get(f"/compliance/people?after={cursor}").status_code == 400
    assert client.get(f"/compliance/?after={cursor}").status_code == 400


def test_matrix_drills_down_the_department_tree(
    client, login_as, make_department, make_user, make_program, require, complete, time_travel
):
    time_travel("2026-03-01 09:00Z")
    division = make_department("Division", "DIV")
    unit = make_department("Deep Unit", "DU", parent=division)
    boss = make_user(name="Division Boss", department=division)
    worker = make_user(name="Unit Worker", department=unit)
    program = make_program(approved=True, code="FS-ALL")
    require(program)
    complete(worker, program, date(2026, 1, 5))
    login_as("admin")
    top = text_of(client.get("/compliance/"))
    # the division counts everyone below it; the unit shows only after a click
    assert "Division" in top and "50 %" in top and "Deep Unit" not in top
    inside = text_of(client.get(f"/compliance/?department={division.id}"))
    assert "Deep Unit" in inside and "100 %" in inside and "its own people" in inside
    own = text_of(client.get(f"/compliance/people?department={division.id}&only=1"))
    assert boss.name in own and worker.name not in own


def test_matrix_shows_a_page_of_departments(
    client, login_as, make_department, make_user, make_program, require, time_travel
):
    time_travel("2026-03-01 09:00Z")
    depts = [make_department(f"Dept {i:02d}", f"DP{i:02d}") for i in range(27)]
    for d in depts:
        make_user(name=f"Worker of {d.name}", department=d)
    require(make_program(approved=True, code="FS-ALL"))
    login_as("admin")
    html = client.get("/compliance/").get_data(as_text=True)
    assert "Dept 24" in html and "Dept 25" not in html
    nxt = re.search(r'href="([^"]*)" rel="next"', html).group(1).replace("&amp;", "&")
    rest = client.get(nxt).get_data(as_text=True)
    assert "Dept 25" in rest and "Dept 26" in rest and "Dept 24" not in rest
    assert 'rel="next"' not in rest and 'rel="first"' in rest


def test_history_follows_completions_renewals_and_expiries(
    make_department, make_user, make_program, require, complete, time_travel
):
    from lms.compliance import trends

    time_travel("2026-04-15 09:00Z")
    dept = make_department("Shop", "SHOP")
    a = make_user(name="Renewed Early", department=dept)
    b = make_user(name="Lapsed Later", department=dept)
    make_user(name="Never Trained", department=dept)
    program = make_program(approved=True, code="FS-YEAR", refresher_months=12)
    require(program)
    complete(a, program, date(2025, 1, 15))
    complete(a, program, date(2025, 12, 1))  # renewed before the first one expired
    complete(b, program, date(2025, 3, 1))  # valid until 2026-03-01
    points = [
        date(2025, 1, 1),
        date(2025, 2, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 4, 1),
    ]
    shares = trends.compliance_over_time(db.session, points, None, [dept.id])
    assert [round(s * 3) for s in shares[dept.id]] == [0, 1, 2, 2, 1]
    assert shares[None] == shares[dept.id]
