"""The drill-down's list reads a large part of the organisation by walking the due-date
index and a small part by department: the same rows, in the same order, on the same pages."""

from __future__ import annotations

from datetime import date

import pytest

from lms.compliance import drilldown
from lms.extensions import db


def _all_rows(department_ids, status=None) -> list[tuple]:
    rows: list[tuple] = []
    after = None
    while True:
        page, after = drilldown.people_page(
            db.session,
            date(2026, 3, 1),
            30,
            department_ids=department_ids,
            status=status,
            after=after,
            per_page=7,
        )
        rows += [(r.id, r.program_id, r.due_on, r.status) for r in page]
        if after is None:
            return rows


@pytest.mark.parametrize("status", [None, "overdue", "never_trained"])
def test_walk_and_department_reads_give_the_same_pages(
    monkeypatch, make_department, make_user, make_program, require, complete, time_travel, status
):
    time_travel("2026-03-01 09:00Z")
    division = make_department("Division", "DIV")
    units = [make_department(f"Unit {i}", f"U{i}", parent=division) for i in range(3)]
    other = make_department("Office", "OFF")
    dated = make_program(approved=True, code="FS-DATED")
    undated = make_program(approved=True, code="FS-FOREVER", refresher_months=None)
    require(dated)
    require(undated)
    for i in range(40):
        person = make_user(name=f"Worker {i:03d}", department=[*units, other][i % 4])
        if i % 3:
            complete(person, [dated, undated][i % 2], date(2024 + i % 2, 1 + i % 12, 1 + i % 27))
    scopes = [[division.id, *(u.id for u in units)], [units[0].id], [other.id]]
    for scope in scopes:
        monkeypatch.setattr(drilldown, "WALK_SHARE", 1_000)  # every part is "large": walk
        walked = _all_rows(scope, status)
        monkeypatch.setattr(drilldown, "WALK_SHARE", 0)  # never: read by department
        by_department = _all_rows(scope, status)
        assert walked == by_department, scope
        assert walked or status is not None  # every scope has people
    # and a page shows only the scope's people
    assert len(_all_rows([other.id])) < len(_all_rows(scopes[0]))
