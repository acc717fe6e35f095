"""Certificate PDFs: a snapshot of the printed fields, a Jinja template, WeasyPrint.

The PDF depends only on the certificate row (snapshot, language, template) and our static
files, so it can be produced again byte for byte; ``render_many`` lays out many certificates
in one WeasyPrint pass and splits the pages, which gives the same bytes as one at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

import segno
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from lms.core import pdf


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
        }


def _briefing_label(key: str, lang: str) -> str:
    from lms.programs.labels import BRIEFING_LABELS

    with force_locale(lang):
        return str(BRIEFING_LABELS.get(key, key))


def _date(value: str | None, lang: str) -> str:
    if not value:
        return ""
    from datetime import date

    from babel.dates import format_date

    return format_date(date.fromisoformat(value), "long", locale=lang)


def certificate_html(cert) -> str:
    """The HTML of one certificate page (no <title>: metadata must not differ in bulk)."""
    langs = cert.language.split("+")
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
            }
        )
    qr = segno.make(f["verify_url"], error="m").png_data_uri(scale=4, border=2)
    return render_template(
        f"certificates/{cert.template}.html", cert=cert, f=f, blocks=blocks, qr=qr
    )


def _document(html: str):
    return pdf.document(html)


def wrap(pages_html: Sequence[str]) -> str:
    return render_template("certificates/document.html", pages=pages_html)


def render_pdf(cert) -> bytes:
    return _document(wrap([certificate_html(cert)])).write_pdf()


def render_many(certs: Sequence, progress=None) -> list[bytes]:
    """PDFs of many certificates from one layout pass (same bytes as render_pdf each)."""
    if not certs:
        return []
    doc = _document(wrap([certificate_html(c) for c in certs])).render()
    if len(doc.pages) != len(certs):  # a certificate overflowed its page: do them one by one
        current_app.logger.warning(
            "bulk layout gave %d pages for %d certificates", len(doc.pages), len(certs)
        )
        out = []
        for i, c in enumerate(certs):
            out.append(render_pdf(c))
            if progress:
                progress(i + 1)
        return out
    out = []
    for i, page in enumerate(doc.pages):
        out.append(doc.copy([page]).write_pdf())
        if progress:
            progress(i + 1)
    return out
