"""Register PDFs and evidence packs are kept as issued (``lms.core.documents``).

Each download of a register PDF or of an evidence pack issues a document: it is rendered and
sealed now, stored with its SHA-256, recorded in the ledger and the audit log, and its copy
can be downloaded again exactly as issued. The register PDFs put in an evidence pack are kept
too, so a register taken out of a pack is recognised by the upload check.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from lms.accounts.models import Department
from lms.compliance.regimes import Regime
from lms.core import documents
from lms.core.clock import local_today
from lms.core.documents import IssuedDocument
from lms.registers import exports, queries


def params_of(session, filters: queries.Filters, **extra: Any) -> dict[str, Any]:
    """The filters a document was issued for, as stored with it (the unit's name as it was)."""
    unit = session.get(Department, filters.department_id) if filters.department_id else None

    def day(d: date | None) -> str | None:
        return d.isoformat() if d else None

    params: dict[str, Any] = {
        "unit": filters.department_id,
        "unit_name": unit.local_name if unit is not None else None,
        "person": filters.user_id,
        "type": filters.briefing_type,
        "from": day(filters.date_from),
        "to": day(filters.date_to),
    }
    params.update(extra)
    return params


def issue_register(
    session, regime: Regime, filters: queries.Filters, actor_id: int | None, *, paper: bool = False
) -> IssuedDocument:
    """Render, seal and keep the register PDF for these filters."""
    made = exports.register_pdf(session, regime, filters, paper=paper)
    return _keep_register(session, regime, filters, made, actor_id, paper=paper)


def _keep_register(
    session,
    regime: Regime,
    filters: queries.Filters,
    made: exports.RegisterPdf,
    actor_id: int | None,
    **extra: Any,
) -> IssuedDocument:
    return documents.store(
        session,
        kind=documents.REGISTER,
        subject=regime.code,
        params=params_of(session, filters, **extra),
        filename=f"register-{regime.code}-{local_today().isoformat()}.pdf",
        mimetype="application/pdf",
        data=made.data,
        actor_id=actor_id,
        sealed=made.sealed,
        ledger_head=made.head,
    )


def issue_evidence_pack(
    session, chosen: list[Regime], filters: queries.Filters, actor_id: int | None
) -> IssuedDocument:
    """Build and keep the inspector's evidence pack (and each register PDF in it)."""
    sealed = False

    def keep(regime: Regime, made: exports.RegisterPdf) -> None:
        nonlocal sealed
        sealed = made.sealed
        _keep_register(session, regime, filters, made, actor_id, in_pack=True)

    data = exports.evidence_pack(session, chosen, filters, keep_register=keep)
    return documents.store(
        session,
        kind=documents.EVIDENCE_PACK,
        subject=",".join(r.code for r in chosen)[:40],
        params=params_of(session, filters, regimes=[r.code for r in chosen]),
        filename=f"evidence-{local_today().isoformat()}.zip",
        mimetype="application/zip",
        data=data,
        actor_id=actor_id,
        sealed=sealed,
    )
