"""WeasyPrint with a locked-down fetcher: only our own fonts and images, and data: URIs.

Core stands below the app: the static folder is passed in, by default the running app's
(``current_app.static_folder``, set by ``create_app`` from the config).
"""

from __future__ import annotations

import gc
import mimetypes
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import current_app
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

# a raster logo: WeasyPrint shares one SVG between pages, which would change the bytes in bulk
ALLOWED_STATIC = {"fonts/DejaVuSans.ttf", "fonts/DejaVuSans-Bold.ttf", "img/brigade-logo.png"}


def app_static_folder() -> Path:
    """The static folder of the running app."""
    folder = current_app.static_folder
    if folder is None:
        raise RuntimeError("the app has no static folder")
    return Path(folder)


class StaticOnlyFetcher(URLFetcher):  # type: ignore[misc]  # weasyprint ships no type hints
    """Serve only our own fonts and logo (brigade-static:...), and data: URIs."""

    def __init__(self, static: Path) -> None:
        super().__init__()
        self.static = static

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        if url.startswith("data:"):
            return super().fetch(url, headers)
        if url.startswith("brigade-static:"):
            name = url.split(":", 1)[1].lstrip("/")
            if name in ALLOWED_STATIC:
                path = self.static / name
                ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": ctype})
        raise ValueError(f"refused to fetch {url!r} while rendering a PDF")


# Glyph counts declared ahead (DejaVu Sans has about 6,000 glyphs; a larger count is parsed as
# before).
GLYPH_ARRAYS = 8192
_glyph_arrays_ready = False


def _declare_glyph_arrays() -> None:
    """Declare cffi's C array types for glyph lists once per process.

    To subset a font WeasyPrint (70) asks cffi for ``hb_codepoint_t[<n>]`` with the glyph
    count of the document; cffi parses each new declaration with pycparser, and with one PDF
    per certificate nearly every page meets a count not seen before: the parsing cost more
    than the subsetting. Here the array types are built once from the one parsed element type
    (a tenth of a second). cffi keeps them in its own cache, which ``ffi.new`` reads first;
    should cffi or WeasyPrint change these internals, nothing is declared and the types are
    parsed as before.
    """
    global _glyph_arrays_ready
    if _glyph_arrays_ready:
        return
    _glyph_arrays_ready = True
    try:
        # private parts of cffi and WeasyPrint: imported inside the try, so that a release
        # without them leaves WeasyPrint working as before
        from cffi import model  # type: ignore[import-untyped]  # no type hints
        from weasyprint.text.ffi import ffi

        with ffi._lock:
            item = ffi._parser.parse_type("hb_codepoint_t")
            cache = ffi._parsed_types
            for n in range(1, GLYPH_ARRAYS + 1):
                key = f"hb_codepoint_t[{n}]"
                if key not in cache:
                    cache[key] = (ffi._get_cached_btype(model.ArrayType(item, n)), False)
    except (ImportError, AttributeError, TypeError):  # other internals: parse as before
        return


_image_objects_shared = False


def _share_image_objects() -> None:
    """Encode each image of a laid-out document once for all the PDFs written from its pages.

    WeasyPrint (70) builds an image's PDF object anew at every ``write_pdf``: it decodes the
    PNG, splits off its alpha channel and encodes both again. Written once, a document does
    this once per image; written page by page (one PDF per certificate from one layout pass),
    the logo that every page shows would be encoded again for every certificate. Here the
    first object built for an image is kept on the image (its data and dictionaries, before
    WeasyPrint turns its mask into a reference) and each later write gets fresh objects with
    the same data: the same bytes, without the encoding. Should WeasyPrint change these
    internals, nothing is shared and images are encoded as before.
    """
    global _image_objects_shared
    if _image_objects_shared:
        return
    _image_objects_shared = True
    try:
        # private parts of WeasyPrint and pydyf: imported inside the try, so that a release
        # without them leaves WeasyPrint working as before
        import pydyf  # type: ignore[import-untyped]  # no type hints
        from weasyprint.images import RasterImage
    except ImportError:
        return
    original = getattr(RasterImage, "get_x_object", None)
    if original is None or not hasattr(pydyf, "Stream"):
        return

    def copy_stream(stream: Any) -> Any:
        extra = pydyf.Dictionary(dict(stream.extra))
        if isinstance(extra.get("SMask"), pydyf.Stream):
            extra["SMask"] = copy_stream(extra["SMask"])
        return pydyf.Stream(list(stream.stream), extra, stream.compress)

    def get_x_object(self: Any, interpolate: bool, dpi_ratio: float) -> Any:
        kept = self.__dict__.setdefault("_brigade_x_objects", {})
        key = (bool(interpolate), dpi_ratio)
        made = kept.get(key)
        if made is None:
            made = kept[key] = copy_stream(original(self, interpolate, dpi_ratio))
        return copy_stream(made)

    RasterImage.get_x_object = get_x_object


_collections_held = False


@contextmanager
def few_collections() -> Iterator[None]:
    """Run a batch layout with the cyclic garbage collector seldom awake.

    Laying out a document allocates millions of small objects (boxes, styles, text runs),
    and with Python's default thresholds the collector walks the young ones every 700
    allocations: about a tenth of a batch's time. Objects alive before the batch are frozen
    (never scanned during it) and the young generation is collected every 50,000
    allocations instead; the usual settings come back afterwards. Nothing changes in what is
    laid out or written.
    """
    global _collections_held
    if _collections_held:  # inside a batch already
        yield
        return
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    _collections_held = True
    try:
        yield
    finally:
        _collections_held = False
        gc.set_threshold(*before)
        gc.unfreeze()


def prepare() -> None:
    """What every rendering process needs once (before worker processes fork from it)."""
    _declare_glyph_arrays()
    _share_image_objects()


def document(html: str, static: Path | None = None) -> HTML:
    """A WeasyPrint document that may load only the allowed files under ``static``."""
    _declare_glyph_arrays()
    _share_image_objects()
    static = static or app_static_folder()
    return HTML(string=html, base_url=str(static), url_fetcher=StaticOnlyFetcher(static))


def render(html: str, static: Path | None = None, *, custom_metadata: bool = False) -> bytes:
    """The PDF; ``custom_metadata``: keep the document's own <meta> names (a ledger head)."""
    data: bytes = document(html, static).write_pdf(custom_metadata=custom_metadata)
    return data
