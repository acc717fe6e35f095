"""The admin page's HR import flow: upload and dry run, then apply as a background job."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.accounts.hr import ImportReport, PersonChange, apply_import, plan_import
from lms.accounts.people import HrImport
from lms.core import ledger
from lms.core.errors import DomainError
from lms.core.model import utcnow

REPORT_LIMIT = 500  # people listed per category on the page; the counts are always complete


def _report_dict(report: ImportReport) -> dict:
    def people(items: list[PersonChange]) -> list[dict]:
        return [
            {"employee_number": c.employee_number, "name": c.name, "changes": c.changes}
            for c in items[:REPORT_LIMIT]
        ]

    return {
        "summary": report.summary(),
        "added": people(report.added),
        "changed": people(report.changed),
        "moved": people(report.moved),
        "leaving": people(report.leaving),
    }


def upload(
    session, data: bytes, filename: str, actor_id: int | None
) -> tuple[HrImport, ImportReport]:
    """Keep the file and its dry-run report. Errors leave nothing stored."""
    report = plan_import(session, data, filename)
    if report.errors:
        return HrImport(filename=filename, status="refused"), report
    row = HrImport(
        filename=(filename or "hr-file")[:200],
        sha256=ledger.sha256(data),
        data=data,
        uploaded_by_id=actor_id,
        status="planned",
        report=_report_dict(report),
    )
    session.add(row)
    session.flush()
    return row, report


def queue_apply(session, row: HrImport) -> None:
    if row.status != "planned":
        raise DomainError(_("This file has already been applied or is being applied."))
    row.status = "queued"
    session.flush()


def run_apply(session, import_id: int) -> None:
    """The job: apply the stored file in one transaction and record the outcome."""
    row = session.get(HrImport, import_id)
    if row is None or row.status != "queued":
        return
    row.status = "running"
    session.commit()
    try:
        report = apply_import(session, row.data, row.filename, actor_id=row.uploaded_by_id)
    except DomainError as err:
        session.rollback()
        row = session.get(HrImport, import_id)
        row.status = "failed"
        errors = getattr(err, "errors", [])
        row.error = "\n".join(str(e) for e in errors[:200]) or err.message
        session.commit()
        return
    row.status = "applied"
    row.applied_at = utcnow()
    row.report = {**row.report, "applied": report.summary()}
    session.commit()


def recent_imports(session, limit: int = 20) -> list[HrImport]:
    return list(session.scalars(sa.select(HrImport).order_by(HrImport.id.desc()).limit(limit)))
