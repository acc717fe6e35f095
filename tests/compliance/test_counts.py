"""The status counts and monthly snapshots the matrix and the dashboard read: kept current by
every change of the stored status, equal to a recount with the live grouped query."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from lms.accounts import services as accounts
from lms.accounts.models import Department
from lms.completions import services as completions
from lms.compliance import counts, queries, status, trends
from lms.compliance import services as compliance
from lms.compliance.models import ComplianceSnapshot, StatusCount, StatusCountsDay
from lms.extensions import db
from tests.conftest import text_of


def stored_counts() -> dict[tuple[bool, int, int, str], int]:
    return {
        (s, d, p, st): n
        for s, d, p, st, n in db.session.execute(
            sa.select(
                StatusCount.subtree,
                StatusCount.department_id,
                StatusCount.program_id,
                StatusCount.status,
                StatusCount.n,
            ).where(StatusCount.n != 0)
        )
    }


def assert_counts_agree() -> None:
    """The counts kept current equal a recount of every level with the live grouped query."""
    assert counts.verify(db.session) == []
    day = db.session.get(StatusCountsDay, 1)
    assert day is not None
    departments = list(db.session.execute(sa.select(Department)).scalars())
    for current in [None, *departments]:
        child_ids = [d.id for d in departments if d.parent_id == (current.id if current else None)]
        current_id = current.id if current else None
        live = queries.live_level_counts(
            db.session,
            day.as_of,
            counts.WINDOW_DAYS,
            current_id,
            child_ids,
            everyone=current is None,
        )
        kept = {
            (key, pid): n
            for key, pid, _st, n in counts.level_rows(
                db.session, current_id, child_ids, everyone=current is None
            )
        }
        assert {k for k in kept} <= set(live)
        for (key, pid), cell in live.items():
            got = {
                st: n
                for k, p, st, n in counts.level_rows(
                    db.session, current_id, child_ids, everyone=current is None
                )
                if (k, p) == (key, pid)
            }
            assert got == {st: n for st, n in cell.counts.items() if n}, (key, pid)


def test_counts_follow_every_change_of_the_stored_status(
    make_department, make_user, make_program, require, complete, time_travel
):
    time_travel("2026-05-10 09:00Z")
    division = make_department("Division", "DIV")
    shop = make_department("Shop", "SHOP", parent=division)
    office = make_department("Office", "OFF")
    program = make_program(code="FS-A", refresher_months=12)
    other = make_program(code="FS-B", refresher_months=None)
    require(program)
    a = make_user(name="Anna", department=shop)
    b = make_user(name="Boris", department=shop)
    c = make_user(name="Clara", department=office)
    make_user(name="Nobody's", department=None)
    status.rebuild(db.session)
    db.session.commit()
    assert_counts_agree()
    assert stored_counts()[(True, division.id, program.id, "never_trained")] == 2

    done = complete(a, program, date(2026, 4, 1))  # a completion
    assert_counts_agree()
    assert stored_counts()[(True, division.id, program.id, "compliant")] == 1
    complete(b, program, date(2025, 5, 20))  # due soon (expires 2026-05-20)
    assert stored_counts()[(False, shop.id, program.id, "due_soon")] == 1
    assert_counts_agree()

    completions.revoke(db.session, done, "Entered by mistake", None)  # a revocation
    db.session.commit()
    assert stored_counts()[(True, division.id, program.id, "overdue")] == 1
    assert_counts_agree()

    req = require(other, department=division)  # a requirement added ...
    assert stored_counts()[(True, division.id, other.id, "never_trained")] == 2
    assert_counts_agree()
    compliance.end_requirement(db.session, req, None)  # ... and ended
    db.session.commit()
    assert not any(k[2] == other.id for k in stored_counts())
    assert_counts_agree()

    accounts.update_user(  # a transfer
        db.session,
        b,
        name=b.name,
        email=b.email,
        job_title=b.job_title,
        department_id=office.id,
        roles=b.roles,
    )
    db.session.commit()
    assert stored_counts()[(True, office.id, program.id, "due_soon")] == 1
    assert (True, division.id, program.id, "due_soon") not in stored_counts()
    assert_counts_agree()

    accounts.set_active(db.session, c, False, None)  # a person leaving
    db.session.commit()
    assert_counts_agree()


def test_a_new_day_recounts_and_a_moved_department_is_summed_again(
    client, login_as, make_department, make_user, make_program, require, complete, time_travel
):
    time_travel("2026-05-10 09:00Z")
    division = make_department("Division", "DIV")
    shop = make_department("Shop", "SHOP", parent=division)
    office = make_department("Office", "OFF")
    program = make_program(code="FS-A", refresher_months=12)
    require(program)
    person = make_user(name="Anna", department=shop)
    complete(person, program, date(2025, 6, 15))  # valid until 2026-06-15
    login_as("admin")
    assert client.get("/compliance/").status_code == 200  # the first page counts them
    assert stored_counts()[(True, division.id, program.id, "compliant")] == 1
    assert db.session.get(StatusCountsDay, 1).as_of == date(2026, 5, 10)

    time_travel("2026-05-20 09:00Z")  # the day moved on: due soon now
    db.session.expire_all()
    counts.ensure_current(db.session, date(2026, 5, 20))
    db.session.commit()
    assert stored_counts()[(True, division.id, program.id, "due_soon")] == 1
    assert db.session.get(StatusCountsDay, 1).as_of == date(2026, 5, 20)
    assert_counts_agree()
    time_travel("2026-06-20 09:00Z")  # and the page recounts when the job did not run
    login_as("admin")
    page = text_of(client.get(f"/compliance/?department={division.id}"))
    assert "0 %" in page and "0/1" in page
    db.session.expire_all()
    assert db.session.get(StatusCountsDay, 1).as_of == date(2026, 6, 20)
    assert_counts_agree()

    trends.fill_snapshots(db.session, [date(2026, 6, 1)])
    db.session.commit()
    accounts.update_department(  # re-parented: the counts and snapshots follow the tree
        db.session, shop, name="Shop", code="SHOP", parent_id=office.id, manager_id=None
    )
    db.session.commit()
    assert (True, division.id, program.id, "overdue") not in stored_counts()
    assert stored_counts()[(True, office.id, program.id, "overdue")] == 1
    assert_counts_agree()
    moved = db.session.get(ComplianceSnapshot, (date(2026, 6, 1), True, office.id))
    assert (moved.held, moved.total) == (1, 1)
    assert db.session.get(ComplianceSnapshot, (date(2026, 6, 1), True, division.id)) is None


def test_verify_names_a_count_that_disagrees(
    app, make_department, make_user, make_program, require
):
    shop = make_department("Shop", "SHOP")
    program = make_program(code="FS-A")
    require(program)
    make_user(name="Anna", department=shop)
    status.rebuild(db.session)
    db.session.commit()
    assert status.verify(db.session).ok
    db.session.execute(
        sa.update(StatusCount)
        .where(StatusCount.department_id == shop.id, StatusCount.subtree == sa.true())
        .values(n=StatusCount.n + 1)
    )
    report = status.verify(db.session)
    assert not report.ok and not report.disagreements
    assert len(report.counts) == 1 and f"department #{shop.id}" in report.counts[0]
    assert "stored 2, recounted 1" in report.counts[0]
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["lms", "verify"])
    assert result.exit_code == 1
    assert f"STATUS COUNT DISAGREES: department #{shop.id} (at or below)" in result.output
    assert "Recounted the status counts" in (
        app.test_cli_runner().invoke(args=["lms", "rebuild-status"]).output
    )
    assert status.verify(db.session).ok


def test_the_dashboard_history_reads_snapshots_stored_once(
    app, client, login_as, make_department, make_user, make_program, require, complete, time_travel
):
    time_travel("2026-04-15 09:00Z")
    dept = make_department("Shop", "SHOP")
    a = make_user(name="Renewed Early", department=dept)
    b = make_user(name="Lapsed Later", department=dept)
    c = make_user(name="Never Trained", department=dept)
    program = make_program(approved=True, code="FS-YEAR", refresher_months=12)
    require(program)
    complete(a, program, date(2025, 1, 15))
    complete(a, program, date(2025, 12, 1))
    complete(b, program, date(2025, 3, 1))  # valid until 2026-03-01
    points = trends.month_points(date(2026, 4, 15))
    assert points[0] == date(2025, 5, 1) and points[-1] == date(2026, 4, 15)
    live = trends.compliance_over_time(db.session, points, None, [dept.id])
    login_as("admin")
    assert client.get("/compliance/dashboard").status_code == 200
    stored = db.session.execute(
        sa.select(ComplianceSnapshot.point).where(
            ComplianceSnapshot.department_id == dept.id, ComplianceSnapshot.subtree == sa.true()
        )
    ).scalars()
    assert sorted(stored) == points[:-1]
    cells = queries.level_counts(db.session, points[-1], 30, None, [dept.id], everyone=True)
    kept = trends.history(db.session, points, None, [dept.id], cells)
    assert kept[dept.id] == live[dept.id] and kept[None] == live[None]
    assert [round(s * 3) for s in kept[dept.id]] == [2] * 11 + [1]
    # a closed month is not recomputed: a completion recorded later with an old date counts
    # from the current point on, the stored months stay (rebuild-status recomputes them)
    complete(c, program, date(2025, 12, 1))
    again = trends.history(db.session, points, None, [dept.id], cells)
    assert again[dept.id][:-1] == kept[dept.id][:-1]
    db.session.commit()
    runner = app.test_cli_runner()
    assert "0 monthly snapshots" in runner.invoke(args=["lms", "rebuild-status"]).output
    assert trends.history(db.session, points, None, [dept.id], cells) == again
    out = runner.invoke(args=["lms", "rebuild-status", "--history"]).output
    assert "11 monthly snapshots" in out
    db.session.expire_all()
    rebuilt = trends.history(db.session, points, None, [dept.id], cells)
    assert [round(s * 3) for s in rebuilt[dept.id][:-1]] == [2] * 7 + [3] * 4


def test_the_daily_job_records_the_month_just_closed(
    make_department, make_user, make_program, require, complete, time_travel
):
    from lms import jobs

    # the worker runs it every hour (the organisation's midnight falls on some hour)
    hourly = [t.name for t in jobs.huey.read_periodic(datetime(2026, 5, 1, 13, 7))]
    assert "compliance_daily" in hourly
    time_travel("2026-05-01 00:30Z")
    dept = make_department("Shop", "SHOP")
    person = make_user(name="Anna", department=dept)
    program = make_program(code="FS-A", refresher_months=12)
    require(program)
    complete(person, program, date(2026, 4, 20))
    jobs.keep_compliance_current()
    db.session.expire_all()
    whole = db.session.get(ComplianceSnapshot, (date(2026, 5, 1), True, trends.WHOLE))
    assert whole is None  # today is the current point, read from the counts
    april = db.session.get(ComplianceSnapshot, (date(2026, 4, 1), True, dept.id))
    assert (april.held, april.total) == (0, 1)
    assert db.session.get(StatusCountsDay, 1).as_of == date(2026, 5, 1)
    time_travel("2026-06-01 00:30Z")
    jobs.keep_compliance_current()
    db.session.expire_all()
    may = db.session.get(ComplianceSnapshot, (date(2026, 5, 1), True, dept.id))
    assert (may.held, may.total) == (1, 1)
    assert db.session.get(StatusCountsDay, 1).as_of == date(2026, 6, 1)


def test_another_window_counts_the_stored_status_itself(
    client, login_as, make_department, make_user, make_program, require, complete, time_travel
):
    time_travel("2026-05-10 09:00Z")
    shop = make_department("Shop", "SHOP")
    program = make_program(code="FS-A", refresher_months=12)
    require(program)
    for i in range(4):
        person = make_user(name=f"Worker {i}", department=shop)
        if i:
            complete(person, program, date(2025, 12, 1))
    login_as("admin")
    assert "3/4" in text_of(client.get("/compliance/"))
    # the default window reads the counts (made wrong here on purpose), another one does not
    db.session.execute(
        sa.update(StatusCount)
        .where(StatusCount.status == "compliant", StatusCount.department_id == shop.id)
        .values(n=1)
    )
    db.session.commit()
    assert "1/2" in text_of(client.get("/compliance/"))
    assert "3/4" in text_of(client.get("/compliance/?window=20"))
