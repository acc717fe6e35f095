"""The access journal of one exam session, printable and exportable (PDF, CSV, XLSX).

Every line ever written is exported: the current lines, and the lines a newer one superseded
(an exit recorded, a correction), each saying which line replaced it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from flask import current_app, render_template
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from lms.core import pdf, spreadsheet
from lms.core.model import utcnow
from lms.exams import access_journal, protocol, queries, services
from lms.exams.labels import ACCESS_ROLE_LABELS, APPOINTMENT_LABELS, AREA_LABELS
from lms.exams.models import AccessEntry, ExamSession


@dataclass
class Line:
    entry: AccessEntry
    superseded_by: int | None

    @property
    def current(self) -> bool:
        return self.superseded_by is None


def lines(session, exam: ExamSession) -> list[Line]:
    history = access_journal.access_history(session, exam.id)
    newer = {e.supersedes_id: e.id for e in history if e.supersedes_id is not None}
    return [Line(e, newer.get(e.id)) for e in history]


def headings() -> list[str]:
    return [
        _("Line"),
        _("Person"),
        _("Role"),
        _("Where"),
        _("Time in"),
        _("Time out"),
        _("Reason"),
        _("Recorded by"),
        _("Recorded at"),
        _("Status"),
    ]


def reason_text(e: AccessEntry) -> str:
    text = _("Own sign-in to the exam") if e.self_sign_in else e.reason
    if e.correction:
        text += " (" + _("correction: %(why)s", why=e.correction) + ")"
    return text


def status_text(line: Line) -> str:
    if line.current:
        return _("current")
    return _("superseded by line %(n)d", n=line.superseded_by)


def cells(line: Line) -> list[str]:
    e = line.entry
    return [
        str(e.id),
        e.person_name,
        str(ACCESS_ROLE_LABELS[e.role]),
        str(AREA_LABELS[e.area]),
        queries.stamp(e.time_in),
        queries.stamp(e.time_out) or _("still inside"),
        reason_text(e),
        e.recorded_by_name,
        queries.stamp(e.recorded_at),
        status_text(line),
    ]


def title(exam: ExamSession) -> str:
    return _("Access journal of exam session %(n)d", n=exam.id)


def filename(exam: ExamSession, ext: str) -> str:
    return f"exam-{exam.id}-access-journal.{ext}"


def to_csv(session, exam: ExamSession) -> bytes:
    """UTF-8 with a byte-order mark, so Excel reads the Latvian and Cyrillic letters."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(spreadsheet.row(headings()))
    for line in lines(session, exam):
        writer.writerow(spreadsheet.row(cells(line)))
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(session, exam: ExamSession) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = re.sub(r"[\\/?*\[\]:]", "-", title(exam))[:31]
    spreadsheet.append(ws, headings())
    for c in ws[1]:
        c.font = Font(bold=True)
        c.alignment = Alignment(wrap_text=True, vertical="top")
    for line in lines(session, exam):
        spreadsheet.append(ws, cells(line))
    for letter, width in zip("ABCDEFGHIJ", (6, 28, 20, 16, 17, 17, 40, 26, 17, 24), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_pdf(session, exam: ExamSession) -> bytes:
    """A4 landscape, DejaVu Sans for Latvian and Cyrillic letters, our fonts only."""
    found = lines(session, exam)
    html = render_template(
        "exams/journal_pdf.html",
        title=title(exam),
        exam=exam,
        headings=headings(),
        current=[cells(line) for line in found if line.current],
        superseded=[cells(line) for line in found if not line.current],
        organisation=current_app.config["LMS_CONFIG"].organisation_name,
        generated=queries.stamp(utcnow()),
        stamp=queries.stamp,
    )
    return pdf.render(html)


EXPORTS = {
    "csv": (to_csv, "text/csv"),  # the response adds "; charset=utf-8"
    "xlsx": (to_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pdf": (to_pdf, "application/pdf"),
}


def protocol_pdf(session, exam: ExamSession) -> bytes:
    """The exam protocol: the exam, the commission, each candidate's result and the
    signatures with their times and the SHA-256 of what they signed."""
    results = protocol.current_results(session, exam.id)
    html = render_template(
        "exams/protocol_pdf.html",
        title=_("Exam protocol of exam session %(n)d", n=exam.id),
        exam=exam,
        commission=services.commission(exam),
        technicians=[a for a in exam.appointments if a.role == "technician"],
        rows=[(c.user, results.get(c.user_id)) for c in exam.candidates],
        signatures=protocol.signatures(session, exam.id),
        complete=protocol.protocol_complete(session, exam),
        content_hash=protocol.protocol_hash(session, exam),
        organisation=current_app.config["LMS_CONFIG"].organisation_name,
        generated=queries.stamp(utcnow()),
        stamp=queries.stamp,
        labels=APPOINTMENT_LABELS,
    )
    return pdf.render(html)
