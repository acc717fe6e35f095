"""Certificate PDFs: a snapshot of the printed fields, a versioned Jinja template, WeasyPrint.

A certificate is rendered once and its PDF stored as issued (``lms.completions.issued``); these
functions only lay it out. Templates are versioned: a certificate records the version of its
layout (``Certificate.template_version``), the current version lives in
``templates/certificates/<name>.html`` and older ones under ``templates/certificates/v<n>/``,
kept unchanged so a certificate issued with them renders as it did. ``render_many`` lays out
many certificates in one WeasyPrint pass and splits the pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import segno
from babel.dates import format_date
from babel.numbers import format_decimal
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from lms.core import pdf
from lms.programs.labels import BRIEFING_LABELS


def labels_for(lang: str) -> dict[str, str]:
    with force_locale(lang):
        return {
            "heading": _("Certificate of completion"),
            "certifies": _("This certifies that"),
            "completed": _("has completed the training program"),
            "program": _("Program"),
            "version": _("Version"),
            "briefing_type": _("Briefing type"),
            "hours": _("Hours"),
            "date": _("Date of completion"),
            "expires": _("Valid until"),
            "no_expiry": _("no expiry"),
            "instructor": _("Instructor"),
            "lineage": _("Trainer's own training from"),
            "number": _("Certificate number"),
            "code": _("Verification code"),
            "verify": _("Check this certificate at"),
            "job_title": _("Job title"),
            "department": _("Department"),
            "conductor": _("Training conducted by"),
            "approver": _("Program version approved by"),
            "approved_on": _("approved on %(date)s"),
        }


def _briefing_label(key: str, lang: str) -> str:

    with force_locale(lang):
        return str(BRIEFING_LABELS.get(key, key))


def _date(value: str | None, lang: str) -> str:
    if not value:
        return ""

    return format_date(date.fromisoformat(value), "long", locale=lang)


# 2: numbers in the holder's locale, ledger head in the metadata
# 3: a signatory block (who conducted the training, who approved the program version);
#    job titles and the department in the certificate's languages
TEMPLATE_VERSION = 3

# which signatories each layout prints: "conductor" (the instructor or responsible person who
# conducted the training, with their position) and "approver" (the program head who approved
# the version, with the approval date)
SIGNATORIES: dict[str, tuple[str, ...]] = {
    "classic": ("conductor", "approver"),
    "compact": ("conductor",),
}
LEGACY_VERSION = 1  # certificates issued before layouts were versioned


def version_of(cert) -> int:
    return getattr(cert, "template_version", None) or LEGACY_VERSION


def template_path(name: str, version: int) -> str:
    if version == TEMPLATE_VERSION:
        return f"certificates/{name}.html"
    return f"certificates/v{version}/{name}.html"


def _hours(value: str, lang: str) -> str:

    try:
        return format_decimal(float(value), format="#,##0.##", locale=lang.replace("-", "_"))
    except ValueError:
        return value


def certificate_html(cert) -> str:
    """The HTML of one certificate page (no <title>: metadata must not differ in bulk)."""
    langs = cert.language.split("+")
    version = version_of(cert)
    f = cert.fields
    blocks = []
    for lang in langs:
        title = (
            f["program_title"].get(lang)
            or f["program_title"].get("en")
            or next(iter(f["program_title"].values()), "")
        )
        blocks.append(
            {
                "lang": lang,
                "L": labels_for(lang),
                "title": title,
                "briefing": _briefing_label(f["briefing_type"], lang),
                "completed_on": _date(f["completed_on"], lang),
                "expires_on": _date(f.get("expires_on"), lang),
                "hours": _hours(f["hours"], lang) if version > 1 else f["hours"],
                "job_title": (f.get("job_titles") or {}).get(lang) or f.get("job_title", ""),
                "department": (f.get("department_names") or {}).get(lang)
                or f.get("department", ""),
                "conductor_position": (f.get("instructor_titles") or {}).get(lang)
                or f.get("instructor_position", ""),
                "approver_position": (f.get("approver_titles") or {}).get(lang)
                or f.get("approver_position", ""),
                "approved_on": _date(f.get("approved_on"), lang),
            }
        )
    qr = segno.make(f["verify_url"], error="m").png_data_uri(scale=4, border=2)
    return render_template(
        template_path(cert.template, version),
        cert=cert,
        f=f,
        blocks=blocks,
        qr=qr,
        signatories=SIGNATORIES.get(cert.template, ("conductor", "approver")),
    )


def _document(html: str):
    return pdf.document(html)


def wrap(pages_html: Sequence[str], head: str | None = None) -> str:
    """The document around the pages; ``head``: the ledger's chain head for the metadata."""
    return render_template("certificates/document.html", pages=pages_html, head=head)


def render_pdf(cert, head: str | None = None) -> bytes:
    return _document(wrap([certificate_html(cert)], head)).write_pdf(custom_metadata=bool(head))


def render_many(certs: Sequence, progress=None, head: str | None = None) -> list[bytes]:
    """PDFs of many certificates from one layout pass (same bytes as render_pdf each)."""
    if not certs:
        return []
    with pdf.few_collections():
        return _render_many(certs, progress, head)


def _render_many(certs: Sequence, progress, head: str | None) -> list[bytes]:
    doc = _document(wrap([certificate_html(c) for c in certs], head)).render()
    if len(doc.pages) != len(certs):  # a certificate overflowed its page: do them one by one
        current_app.logger.warning(
            "bulk layout gave %d pages for %d certificates", len(doc.pages), len(certs)
        )
        out = []
        for i, c in enumerate(certs):
            out.append(render_pdf(c, head))
            if progress:
                progress(i + 1)
        return out
    out = []
    for i, page in enumerate(doc.pages):
        out.append(doc.copy([page]).write_pdf(custom_metadata=bool(head)))
        if progress:
            progress(i + 1)
    return out
