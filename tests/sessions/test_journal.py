"""The briefing journal: one query, the columns an inspector expects, CSV, XLSX and PDF."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from lms.extensions import db
from lms.sessions import journal, queries, services
from tests.conftest import PASSWORD, text_of
from tests.sessions.conftest import enrol

pytestmark = pytest.mark.usefixtures("clock")

HEADINGS_EN = [
    "Date",
    "Attendee",
    "Job title",
    "Briefing type",
    "Program and version",
    "Instructor",
    "Attendee's acknowledgment",
    "Instructor's signature",
]


@pytest.fixture
def register(make_session, make_plain_program, people, clock, make_user):
    """Two sessions on 3 March: one signed (three present, one absent), one not yet signed."""
    fire = make_plain_program(code="FIRE-1")
    evac = make_plain_program(code="EVAC-1")
    a = make_session(program=fire, start=datetime(2025, 3, 3, 10, 30))
    b = make_session(program=evac, start=datetime(2025, 3, 3, 10, 45))
    enrol(a, *people[:4])
    enrol(b, people[5])
    clock.move_to(datetime(2025, 3, 3, 9, 30, tzinfo=UTC))
    marks = {people[0].id: "present", people[1].id: "late", people[2].id: "present"}
    services.mark_attendance(db.session, a, {**marks, people[3].id: "absent"}, a.instructor)
    for p in people[:2]:
        services.acknowledge(
            db.session,
            queries.enrolment_of(db.session, a.id, p.id),
            actor=a.instructor,
            method="password",
            secret=PASSWORD,
        )
    services.sign_conducted(db.session, a, a.instructor, PASSWORD)
    services.mark_attendance(db.session, b, {people[5].id: "present"}, b.instructor)
    db.session.commit()
    return a, b


def _statements(fn):
    seen = []

    def listen(conn, cursor, statement, *args):
        seen.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        result = fn()
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
    return result, seen


def test_rows_come_from_one_query_with_current_values(register, people):
    a, b = register
    db.session.expire_all()
    found, statements = _statements(lambda: journal.rows(db.session, journal.Filters()))
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    assert [(r.attendee, r.session_id) for r in found] == [
        ("Worker 1", a.id),
        ("Worker 2", a.id),
        ("Worker 3", a.id),
        ("Storekeeper 1", b.id),
    ]  # the absent Worker 4 is not in the register
    first = found[0]
    assert (first.ack_method, first.sig_name, first.covered) == ("password", "Ivars Ozols", True)
    assert found[2].ack_method is None
    assert found[3].sig_name is None
    cells = journal.cells(first, "en")
    assert cells[0] == "Mar 3, 2025" and cells[2] == "Welder"
    assert cells[3] == "Repeated briefing"
    assert cells[4] == "FIRE-1 Program 1, version 1"
    assert cells[6].startswith("with own password on the instructor's device, Mar 3, 2025, 11:")
    assert cells[7].startswith("Ivars Ozols, Mar 3, 2025, 11:") and cells[7].endswith("conducted")
    assert journal.cells(found[2], "en")[6] == "not acknowledged"
    assert journal.cells(found[3], "en")[7] == "not signed yet"


def test_filters(register, people):
    a, b = register
    by_program = journal.rows(db.session, journal.Filters(program_id=b.program_id))
    assert [r.attendee for r in by_program] == ["Storekeeper 1"]
    by_department = journal.rows(db.session, journal.Filters(department_id=people[0].department_id))
    assert {r.attendee for r in by_department} == {"Worker 1", "Worker 2", "Worker 3"}
    assert journal.rows(db.session, journal.Filters(date_from=date(2025, 3, 4))) == []
    assert len(journal.rows(db.session, journal.Filters(date_to=date(2025, 3, 3)))) == 4
    assert journal.count(db.session, journal.Filters()) == 4


def test_csv_has_a_bom_and_the_headings(register):
    data = journal.to_csv(db.session, journal.Filters(), "en")
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == HEADINGS_EN and len(table) == 5
    bilingual = list(
        csv.reader(
            io.StringIO(
                journal.to_csv(db.session, journal.Filters(), "bilingual").decode("utf-8-sig")
            )
        )
    )
    assert all(" / " in h for h in bilingual[0]) and bilingual[0][0].endswith("/ Date")


def test_xlsx_opens_with_real_dates(register):
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(journal.to_xlsx(db.session, journal.Filters(), "en")))
    ws = wb.active
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == HEADINGS_EN
    assert rows[1][0].date() == date(2025, 3, 3) and rows[1][1] == "Worker 1"
    assert ws.freeze_panes == "A2"


def test_pdf_is_landscape_and_has_the_columns(register):
    pdf = PdfReader(io.BytesIO(journal.to_pdf(db.session, journal.Filters(), "en")))
    page = pdf.pages[0]
    assert float(page.mediabox.width) > float(page.mediabox.height)  # A4 landscape
    text = " ".join(page.extract_text().split())
    for heading in ["Briefing register", *HEADINGS_EN]:
        assert heading in text, heading
    for value in ("Worker 1", "Welder", "Ivars Ozols", "FIRE-1", "Repeated briefing", "conducted"):
        assert value in text, value


def test_pdf_refuses_every_outside_resource():
    fetcher = journal._data_only_fetcher()
    for url in ("file:///etc/passwd", "http://127.0.0.1/x.png", "https://example.org/a.css"):
        with pytest.raises(ValueError, match="refused"):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain,ok").read() == b"ok"


def test_journal_page_and_exports(client, login_as, register):
    login_as("auditor")
    text = text_of(client.get("/sessions/journal?date_from=2025-03-01&date_to=2025-03-31"))
    assert "4 entries." in text and "Worker 3" in text and "Worker 4" not in text
    resp = client.get("/sessions/journal.csv?date_from=2025-03-01&lang=lv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    assert resp.headers["Content-Disposition"].endswith('briefing-register-2025-03-01.csv"')
    resp = client.get("/sessions/journal.xlsx")
    assert resp.status_code == 200 and resp.data[:2] == b"PK"
    resp = client.get("/sessions/journal.pdf?lang=bilingual")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF-")
    text = " ".join(PdfReader(io.BytesIO(resp.data)).pages[0].extract_text().split())
    assert "/ Briefing register" in text and "/ Attendee" in text
    assert client.get("/sessions/journal.doc").status_code == 404
    assert client.get("/sessions/journal?date_from=nonsense").status_code == 400
    assert (
        client.get("/sessions/journal.csv?date_from=2025-03-05&date_to=2025-03-01").status_code
        == 400
    )
    assert client.get("/sessions/journal.pdf?department_id=x").status_code == 400


def test_employees_cannot_open_the_journal(client, login_as):
    login_as("employee")
    assert client.get("/sessions/journal").status_code == 403
    assert client.get("/sessions/journal.pdf").status_code == 403


def test_spreadsheet_formulas_in_names_stay_text(make_session, make_user, clock):
    from openpyxl import load_workbook

    sly = make_user(name='=HYPERLINK("http://evil.test","x")', job_title="+1 Welder")
    ts = make_session(start=datetime(2025, 3, 3, 10, 30))
    enrol(ts, sly)
    clock.move_to(datetime(2025, 3, 3, 9, 0, tzinfo=UTC))
    services.mark_attendance(db.session, ts, {sly.id: "present"}, ts.instructor)
    db.session.commit()
    table = list(
        csv.reader(
            io.StringIO(journal.to_csv(db.session, journal.Filters(), "en").decode("utf-8-sig"))
        )
    )
    assert table[1][1] == '\'=HYPERLINK("http://evil.test","x")' and table[1][2] == "'+1 Welder"
    ws = load_workbook(io.BytesIO(journal.to_xlsx(db.session, journal.Filters(), "en"))).active
    assert ws["B2"].data_type == "s" and ws["B2"].value.startswith("'=")
