"""core/pdf: the fetcher serves only the allowed files of the static folder it is given."""

from __future__ import annotations

from pathlib import Path

import pytest

from lms.core import pdf


def test_only_allowed_files_of_the_given_folder(tmp_path: Path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "brigade-logo.png").write_bytes(b"\x89PNG logo")
    (tmp_path / "secret.txt").write_text("no")
    fetcher = pdf.StaticOnlyFetcher(tmp_path)
    assert fetcher.fetch("brigade-static:img/brigade-logo.png").read() == b"\x89PNG logo"
    for url in (
        "brigade-static:secret.txt",
        "brigade-static:../etc/passwd",
        "file:///etc/passwd",
        "http://127.0.0.1/x.png",
    ):
        with pytest.raises(ValueError, match="refused"):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain,ok").read() == b"ok"


def test_the_app_static_folder_by_default(app):
    with app.app_context():
        assert pdf.app_static_folder() == Path(app.static_folder)
        data = pdf.render('<p>Brigade</p><img src="brigade-static:img/brigade-logo.png" alt="">')
    assert data.startswith(b"%PDF-")


def test_pages_written_one_by_one_share_the_logo_and_keep_their_bytes(app, monkeypatch):
    """The logo's image object is built once for every page's PDF; each PDF is byte for byte
    the one a document of that page alone gives."""
    page = '<div style="page-break-after: always"><img src="brigade-static:img/brigade-logo.png" alt="">{}</div>'
    with app.app_context():
        doc = pdf.document("".join(page.format(n) for n in ("one", "two", "three"))).render()
        assert len(doc.pages) == 3
        from weasyprint.images import RasterImage

        encode = RasterImage._get_png_data
        encoded = []
        monkeypatch.setattr(
            RasterImage, "_get_png_data", staticmethod(lambda im: encoded.append(1) or encode(im))
        )
        first = doc.copy([doc.pages[0]]).write_pdf()
        second = doc.copy([doc.pages[1]]).write_pdf()
        again = doc.copy([doc.pages[0]]).write_pdf()
        assert len(encoded) == 2  # the logo's colours and alpha, once for the three PDFs
        alone = pdf.document(page.format("one")).write_pdf()
    assert first == again == alone and first != second
    assert b"/SMask" in first  # the logo's alpha channel still goes with it


def test_few_collections_restores_the_collector():
    import gc

    before = gc.get_threshold()
    with pdf.few_collections():
        assert gc.get_threshold()[0] == 50_000
        with pdf.few_collections():  # nested: the outer batch keeps its setting
            pass
        assert gc.get_threshold()[0] == 50_000 and gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
