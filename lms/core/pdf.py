"""WeasyPrint with a locked-down fetcher: only our own fonts and images, and data: URIs."""

from __future__ import annotations

import mimetypes

from weasyprint.urls import URLFetcher, URLFetcherResponse

from lms.config import ROOT

STATIC = ROOT / "static"
# a raster logo: WeasyPrint shares one SVG between pages, which would change the bytes in bulk
ALLOWED_STATIC = {"fonts/DejaVuSans.ttf", "fonts/DejaVuSans-Bold.ttf", "img/brigade-logo.png"}


class StaticOnlyFetcher(URLFetcher):
    """Serve only our own fonts and logo (brigade-static:...), and data: URIs."""

    def fetch(self, url, headers=None):
        if url.startswith("data:"):
            return super().fetch(url, headers)
        if url.startswith("brigade-static:"):
            name = url.split(":", 1)[1].lstrip("/")
            if name in ALLOWED_STATIC:
                path = STATIC / name
                ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": ctype})
        raise ValueError(f"refused to fetch {url!r} while rendering a PDF")


def document(html: str):
    from weasyprint import HTML

    return HTML(string=html, base_url=str(STATIC), url_fetcher=StaticOnlyFetcher())


def render(html: str) -> bytes:
    return document(html).write_pdf()
