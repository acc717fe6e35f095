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
