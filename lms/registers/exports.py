"""A register as a file (CSV, XLSX, sealed PDF) and the inspector's evidence pack (a ZIP with
the registers, the certificates, the signed program versions, an audit extract and the ledger
verification report, listed with their SHA-256 in manifest.json)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl import Workbook

from lms.accounts.models import User
from lms.completions import services as completions
from lms.completions.models import Certificate, Completion
from lms.compliance.regimes import Regime
from lms.core import audit, ledger, pdf, seal, spreadsheet, texts
from lms.core.audit_labels import action_label, object_label
from lms.core.dates import fmt_signature_datetime
from lms.core.model import utcnow
from lms.exams import journal as exam_journal
from lms.programs.models import ProgramVersion
from lms.registers import queries

MIMETYPES = {"csv": "text/csv", "xlsx": spreadsheet.XLSX_MIMETYPE, "pdf": "application/pdf"}


@dataclass
class RegisterPdf:
    """A register PDF as rendered now: the bytes, sealed when the organisation has a seal,
    and the ledger head written in its metadata."""

    data: bytes
    sealed: bool
    head: str


def register_pdf(
    session, regime: Regime, filters: queries.Filters, *, paper: bool = False
) -> RegisterPdf:
    """The register as a sealed PDF carrying the ledger's chain head (an anchor)."""
    head = ledger.head_text(session)
    data = register_file(session, regime, filters, "pdf", paper=paper, head=head)
    return RegisterPdf(data=data, sealed=seal.current() is not None, head=head)


def register_file(
    session,
    regime: Regime,
    filters: queries.Filters,
    fmt: str,
    *,
    paper: bool = False,
    head: str | None = None,
) -> bytes:
    """The register in the regime's language (a Latvian register in Latvian...)."""
    with force_locale(regime.language):
        rows = queries.entries(session, regime, filters, regime.language)
        header = [str(queries.COLUMN_LABELS[c]) for c in regime.columns]
        if fmt == "csv":
            return spreadsheet.csv_bytes(
                header, ([e.values[c] for c in regime.columns] for e in rows)
            )
        if fmt == "xlsx":
            wb = Workbook()
            ws = wb.active
            ws.title = regime.code
            spreadsheet.append(ws, [regime.act[regime.language]])
            spreadsheet.append(ws, header)
            for e in rows:
                spreadsheet.append(ws, [e.values[c] for c in regime.columns])
            out = io.BytesIO()
            wb.save(out)
            return out.getvalue()
        html = render_template(
            "registers/register_pdf.html",
            regime=regime,
            rows=rows,
            header=header,
            lang=regime.language,
            filters=filters,
            paper=paper,
            head=head,
            organisation=current_app.config["LMS_CONFIG"].organisation_name,
        )
    return seal.seal_pdf(
        pdf.render(html, custom_metadata=bool(head)), reason=f"Register {regime.code}"
    )


def evidence_pack(
    session,
    chosen: list[Regime],
    filters: queries.Filters,
    keep_register: Callable[[Regime, RegisterPdf], object] | None = None,
) -> bytes:
    """The pack as a ZIP; ``keep_register`` is handed each register PDF put in it (to keep it
    as issued)."""
    files: dict[str, bytes] = {}
    completion_ids: set[int] = set()
    version_ids: set[int] = set()
    for regime in chosen:
        made = register_pdf(session, regime, filters)
        if keep_register is not None:
            keep_register(regime, made)
        files[f"registers/{regime.code}.pdf"] = made.data
        files[f"registers/{regime.code}.csv"] = register_file(session, regime, filters, "csv")
        for e in queries.entries(session, regime, filters, regime.language):
            if e.completion_id is not None:  # a failed knowledge check has no completion
                completion_ids.add(e.completion_id)
    if completion_ids:
        version_ids = set(
            session.scalars(
                sa.select(Completion.version_id).where(Completion.id.in_(completion_ids))
            )
        )
        for cert in session.scalars(
            sa.select(Certificate).where(Certificate.completion_id.in_(completion_ids))
        ):
            files[f"certificates/{cert.number}.pdf"] = completions.certificate_pdf(session, cert)
    for version in session.scalars(
        sa.select(ProgramVersion).where(ProgramVersion.id.in_(version_ids))
    ):
        doc: dict[str, Any] = {
            "program": version.program.code,
            "version": version.number,
            "status": version.status,
            "title": version.title,
            "briefing_type": version.briefing_type,
            "content_hash": version.content_hash,
            "topics": [t.title for t in version.topics],
            "signatures": [
                {
                    "printed_name": s.printed_name,
                    "meaning": s.meaning,
                    "method": s.method,
                    "signed_at": s.signed_at.isoformat(),
                    "content_hash": s.content_hash,
                }
                for s in version.signatures
            ],
        }
        files[f"programs/{version.program.code}-v{version.number}.json"] = json.dumps(
            doc, ensure_ascii=False, indent=2
        ).encode("utf-8")
    since = datetime.combine(filters.date_from, time.min, tzinfo=UTC) if filters.date_from else None
    until = datetime.combine(filters.date_to, time.max, tzinfo=UTC) if filters.date_to else None
    people_ids = set(
        session.scalars(sa.select(Completion.user_id).where(Completion.id.in_(completion_ids)))
    )
    scoped = filters.user_id is not None or filters.department_id is not None

    def relevant(a: audit.AuditEntry) -> bool:
        if not scoped:
            return True
        oid = int(a.object_id) if (a.object_id or "").isdigit() else None
        return (
            a.actor_id in people_ids
            or (a.object_type == "user" and oid in people_ids)
            or (a.object_type == "completion" and oid in completion_ids)
        )

    entries = [a for a in session.scalars(audit.query(since=since, until=until)) if relevant(a)]
    actors = {a.actor_id for a in entries if a.actor_id}
    names = {
        uid: name
        for uid, name in session.execute(sa.select(User.id, User.name).where(User.id.in_(actors)))
    }
    audit_rows = [  # in the reader's language, the moment to the second
        [
            fmt_signature_datetime(a.at),
            names.get(a.actor_id, "") if a.actor_id else "",
            action_label(a.action),
            object_label(a.object_type),
            a.object_id,
            texts.render(a.summary),
        ]
        for a in entries
    ]
    files["audit-extract.csv"] = spreadsheet.csv_bytes(
        [_("Time"), _("Person"), _("Action"), _("Object"), _("Object number"), _("Summary")],
        audit_rows,
    )
    for exam in queries.exam_sessions(session, filters):  # the special journal of access
        files[f"exams/{exam_journal.filename(exam, 'pdf')}"] = exam_journal.to_pdf(session, exam)
        files[f"exams/{exam_journal.filename(exam, 'csv')}"] = exam_journal.to_csv(session, exam)
    report = ledger.verify(session)
    lines = [
        f"Ledger verification at {utcnow().isoformat()}",
        f"entries checked: {report.checked}",
        f"head: {report.head[0]} {report.head[1]}" if report.head else "head: (empty)",
        "result: OK" if report.ok else f"result: {len(report.problems)} problem(s)",
        *(str(p) for p in report.problems),
    ]
    files["ledger-verification.txt"] = ("\n".join(lines) + "\n").encode("utf-8")
    manifest = {
        "created_at": utcnow().isoformat(),
        "organisation": current_app.config["LMS_CONFIG"].organisation_name,
        "filters": {
            "unit": filters.department_id,
            "person": filters.user_id,
            "from": filters.date_from.isoformat() if filters.date_from else None,
            "to": filters.date_to.isoformat() if filters.date_to else None,
        },
        "files": [
            {"path": name, "sha256": ledger.sha256(data), "bytes": len(data)}
            for name, data in sorted(files.items())
        ],
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(files.items()):
            zf.writestr(name, data)
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    return out.getvalue()
