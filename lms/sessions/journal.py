"""The briefing journal (register): who was briefed, when, on what, by whom, and the two
signatures. Rows come from one set-based query; exports are CSV, XLSX and PDF (WeasyPrint).

Each attendee marked present or late in a session that was not cancelled is one row. The
acknowledgment and the signature shown are the current ones; a mark corrected after the latest
signature says so instead of showing a signature that does not cover it.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy.orm import aliased
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from lms.accounts.models import Department, User, in_locale
from lms.accounts.services import subtree_ids
from lms.core import clock, seal, spreadsheet
from lms.core.dates import fmt_date, fmt_datetime
from lms.core.errors import DomainError
from lms.core.i18n import pick
from lms.core.model import utcnow
from lms.programs.labels import BRIEFING_LABELS
from lms.programs.models import Program, ProgramVersion
from lms.sessions import queries
from lms.sessions.labels import ACK_METHOD_LABELS, SHORT_MEANING_LABELS
from lms.sessions.models import (
    ATTENDED,
    Acknowledgment,
    AttendanceMark,
    Enrolment,
    SessionSignature,
    TrainingSession,
)

COLUMNS = (
    "date",
    "attendee",
    "job_title",
    "briefing_type",
    "program",
    "instructor",
    "acknowledgment",
    "signature",
)
LANGS = ("lv", "en", "ru")
MAX_PDF_ROWS = 5000
MAX_ROWS = 100_000


@dataclass
class Filters:
    date_from: date | None = None
    date_to: date | None = None
    department_id: int | None = None
    program_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "department_id": self.department_id,
            "program_id": self.program_id,
        }


@dataclass
class Row:
    session_id: int
    starts_at: datetime
    attendee: str
    job_title: str
    briefing_type: str
    program_code: str
    program_title: dict[str, str]
    version: int
    instructor: str
    status: str
    ack_method: str | None
    ack_at: datetime | None
    sig_name: str | None
    sig_at: datetime | None
    sig_meaning: str | None
    resigned: bool
    covered: bool  # the signature covers this row's current mark
    # the job title in other languages, when the title shown is the person's default one
    job_titles: dict[str, str] | None = None


def _stmt(session, filters: Filters):
    attendee = aliased(User)
    instructor = aliased(User)
    mk, ak = queries.current_mark_ids(), queries.current_ack_ids()
    newest_sig = (
        sa.select(
            SessionSignature.session_id.label("session_id"),
            sa.func.max(SessionSignature.id).label("sid"),
        )
        .group_by(SessionSignature.session_id)
        .subquery()
    )
    stmt = (
        sa.select(
            TrainingSession.id,
            TrainingSession.starts_at,
            attendee.name,
            attendee.job_title,
            ProgramVersion.briefing_type,
            Program.code,
            ProgramVersion.title,
            ProgramVersion.number,
            instructor.name,
            AttendanceMark.id,
            AttendanceMark.status,
            Acknowledgment.method,
            Acknowledgment.acknowledged_at,
            Acknowledgment.printed_name,
            Acknowledgment.job_title,
            SessionSignature.printed_name,
            SessionSignature.signed_at,
            SessionSignature.meaning,
            SessionSignature.supersedes_id,
            SessionSignature.covers,
            attendee.job_titles,
        )
        .join(Enrolment, Enrolment.session_id == TrainingSession.id)
        .join(attendee, attendee.id == Enrolment.user_id)
        .join(mk, mk.c.enrolment_id == Enrolment.id)
        .join(AttendanceMark, AttendanceMark.id == mk.c.mid)
        .outerjoin(ak, ak.c.enrolment_id == Enrolment.id)
        .outerjoin(Acknowledgment, Acknowledgment.id == ak.c.aid)
        .join(ProgramVersion, ProgramVersion.id == TrainingSession.version_id)
        .join(Program, Program.id == TrainingSession.program_id)
        .join(instructor, instructor.id == TrainingSession.instructor_id)
        .outerjoin(newest_sig, newest_sig.c.session_id == TrainingSession.id)
        .outerjoin(SessionSignature, SessionSignature.id == newest_sig.c.sid)
        .where(
            TrainingSession.status != "cancelled",
            Enrolment.status == "enrolled",
            AttendanceMark.status.in_(ATTENDED),
        )
        .order_by(TrainingSession.starts_at, TrainingSession.id, attendee.name, attendee.id)
    )
    lo, hi = clock.day_bounds(filters.date_from, filters.date_to)
    if lo is not None:
        stmt = stmt.where(TrainingSession.starts_at >= lo)
    if hi is not None:
        stmt = stmt.where(TrainingSession.starts_at < hi)
    if filters.program_id:
        stmt = stmt.where(TrainingSession.program_id == filters.program_id)
    if filters.department_id:
        stmt = stmt.where(attendee.department_id.in_(subtree_ids(session, filters.department_id)))
    return stmt


def count(session, filters: Filters) -> int:
    stmt = _stmt(session, filters).order_by(None)
    return session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()


def rows(session, filters: Filters, limit: int | None = None) -> list[Row]:
    """The register rows for the filter, in date order (one query)."""
    stmt = _stmt(session, filters)
    if limit is not None:
        stmt = stmt.limit(limit)
    out = []
    for r in session.execute(stmt):
        covers = r[19] or {}
        out.append(
            Row(
                session_id=r[0],
                starts_at=r[1],
                attendee=r[13] or r[2],
                job_title=(r[14] if r[13] else r[3]) or "",
                job_titles=r[20] if (r[14] if r[13] else r[3]) == r[3] else None,
                briefing_type=r[4],
                program_code=r[5],
                program_title=r[6] or {},
                version=r[7],
                instructor=r[8],
                status=r[10],
                ack_method=r[11],
                ack_at=r[12],
                sig_name=r[15],
                sig_at=r[16],
                sig_meaning=r[17],
                resigned=r[18] is not None,
                covered=r[9] in set(covers.get("marks", [])),
            )
        )
    return out


# ----- cells in one language --------------------------------------------------------------------


def _stamp(moment: datetime | None) -> str:
    return fmt_datetime(moment)


def _headings_in(lang: str) -> list[str]:
    with force_locale(lang):
        return [
            _("Date"),
            _("Attendee"),
            _("Job title"),
            _("Briefing type"),
            _("Program and version"),
            _("Instructor"),
            _("Attendee's acknowledgment"),
            _("Instructor's signature"),
        ]


def headings(lang: str) -> list[str]:
    if lang == "bilingual":
        return [
            f"{lv} / {en}" for lv, en in zip(_headings_in("lv"), _headings_in("en"), strict=True)
        ]
    return _headings_in(lang)


def values_lang(lang: str) -> str:
    return "lv" if lang == "bilingual" else lang


def cells(row: Row, lang: str) -> list[str]:
    """One row as text, in the language (the values of a bilingual export are in Latvian)."""
    lang = values_lang(lang)
    with force_locale(lang):
        program = _(
            "%(code)s %(title)s, version %(n)s",
            code=row.program_code,
            title=pick(row.program_title, lang)[0],
            n=row.version,
        )
        if row.ack_method:
            ack = f"{ACK_METHOD_LABELS[row.ack_method]}, {_stamp(row.ack_at)}"
        else:
            ack = _("not acknowledged")
        if row.sig_name is None:
            signature = _("not signed yet")
        else:
            assert row.sig_meaning is not None  # a signature row always has its meaning
            signature = (
                f"{row.sig_name}, {_stamp(row.sig_at)}, {SHORT_MEANING_LABELS[row.sig_meaning]}"
            )
            if row.resigned:
                resigned = _("re-signed after a correction")
                signature += f" ({resigned})"
            if not row.covered:
                signature = _("attendance corrected after signing; not signed again yet")
        return [
            fmt_date(clock.local_date(row.starts_at)),
            row.attendee,
            in_locale(row.job_titles, row.job_title, lang),
            str(BRIEFING_LABELS.get(row.briefing_type, row.briefing_type)),
            program,
            row.instructor,
            ack,
            signature,
        ]


def _titles(lang: str) -> tuple[str, str]:
    def one(code: str) -> str:
        with force_locale(code):
            return _("Briefing register")

    if lang == "bilingual":
        return f"{one('lv')} / {one('en')}", "lv"
    return one(lang), lang


def _checked(session, filters: Filters, most: int) -> list[Row]:
    found = rows(session, filters, limit=most + 1)
    if len(found) > most:
        raise DomainError(
            _("The register has more than %(n)d rows: narrow the dates or the filter.", n=most)
        )
    return found


def filename(filters: Filters, ext: str) -> str:
    parts = ["briefing-register"]
    if filters.date_from:
        parts.append(filters.date_from.isoformat())
    if filters.date_to:
        parts.append(filters.date_to.isoformat())
    return "-".join(parts) + f".{ext}"


# ----- exports ---------------------------------------------------------------------------------


def to_csv(session, filters: Filters, lang: str) -> bytes:
    """UTF-8 with a byte-order mark, so Excel reads the Latvian and Cyrillic letters."""
    found = _checked(session, filters, MAX_ROWS)
    return spreadsheet.csv_bytes(headings(lang), (cells(row, lang) for row in found))


def to_xlsx(session, filters: Filters, lang: str) -> bytes:
    # openpyxl is heavy and only needed for this export: loaded here

    title, _values = _titles(lang)
    wb = Workbook()
    ws = wb.active
    ws.title = re.sub(r"[\\/?*\[\]:]", "-", title)[:31]
    spreadsheet.append(ws, headings(lang))
    for c in ws[1]:
        c.font = Font(bold=True)
        c.alignment = Alignment(wrap_text=True, vertical="top")
    for row in _checked(session, filters, MAX_ROWS):
        values: list[Any] = list(cells(row, lang))
        values[0] = clock.local_date(row.starts_at)
        spreadsheet.append(ws, values)
        ws.cell(row=ws.max_row, column=1).number_format = "yyyy-mm-dd"
    for letter, width in zip("ABCDEFGH", (12, 28, 24, 28, 40, 26, 40, 48), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _data_only_fetcher():
    class DataOnlyFetcher(URLFetcher):
        """Refuse every resource except data: URIs (no files, no network)."""

        def fetch(self, url, headers=None):
            if url.lower().startswith("data:"):
                return super().fetch(url, headers)
            raise ValueError(f"refused to fetch {url!r} while rendering the register")

    return DataOnlyFetcher(allowed_protocols={"data"}, allow_redirects=False)


def describe(session, filters: Filters) -> list[tuple[str, str]]:
    """The filter in words, for the PDF's heading."""
    out = []
    if filters.date_from or filters.date_to:
        out.append(
            (
                _("Period"),
                f"{fmt_date(filters.date_from) if filters.date_from else '…'} – "
                f"{fmt_date(filters.date_to) if filters.date_to else '…'}",
            )
        )
    if filters.department_id:
        dept = session.get(Department, filters.department_id)
        if dept is not None:
            out.append((_("Department"), dept.local_name))
    if filters.program_id:
        program = session.get(Program, filters.program_id)
        if program is not None:
            out.append((_("Program"), program.code))
    return out


def to_pdf(session, filters: Filters, lang: str) -> bytes:
    """A4 landscape, DejaVu Sans for Latvian and Cyrillic letters, our CSS only."""

    found = _checked(session, filters, MAX_PDF_ROWS)
    title, html_lang = _titles(lang)
    with force_locale(values_lang(lang)):
        html = render_template(
            "sessions/journal_pdf.html",
            title=title,
            html_lang=html_lang,
            headings=headings(lang),
            rows=[cells(r, lang) for r in found],
            filters=describe(session, filters),
            organisation=current_app.config["LMS_CONFIG"].organisation_name,
            generated=_stamp(utcnow()),
        )

    pdf = HTML(string=html, url_fetcher=_data_only_fetcher()).write_pdf()
    return seal.seal_pdf(pdf, reason="Briefing register")


EXPORTS = {
    "csv": (to_csv, "text/csv"),  # Flask adds "; charset=utf-8" to text/ types
    "xlsx": (to_xlsx, spreadsheet.XLSX_MIMETYPE),
    "pdf": (to_pdf, "application/pdf"),
}
