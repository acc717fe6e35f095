"""Links built once for many rows are the links url_for builds for each."""

from __future__ import annotations

from flask import url_for

from lms.core.http import id_links


def test_id_links_equal_url_for(app):
    with app.test_request_context():
        pdf = id_links("completions.certificate_pdf", "cert_id")
        person = id_links("completions.person", "user_id")
        for value in (1, 7, 42, 2_147_483_647):
            assert pdf(value) == url_for("completions.certificate_pdf", cert_id=value)
            assert person(value) == url_for("completions.person", user_id=value)
        lang = id_links("completions.certificate_pdf", "cert_id", lang="lv")
        assert lang(5) == url_for("completions.certificate_pdf", cert_id=5, lang="lv")
