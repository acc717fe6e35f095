"""Anchors of the ledger against truncation: the chain head written to daily checkpoint files
and into every issued PDF, read back for `flask lms verify --anchor`."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from lms.core.ledger import GENESIS, Anchor, head, parse_head
from lms.core.model import DbSession, utcnow

CHECKPOINT_PREFIX = "ledger-checkpoint-"


def checkpoint_data(session: DbSession, organisation: str = "") -> dict[str, Any]:
    h = head(session) or (0, GENESIS)
    return {
        "brigade_ledger_checkpoint": 1,
        "organisation": organisation,
        "seq": h[0],
        "entry_hash": h[1],
        "written_at": utcnow().replace(microsecond=0).isoformat(),
    }


def write_checkpoint(
    session: DbSession, directory: Path, organisation: str = ""
) -> tuple[Path, dict[str, Any]]:
    """Write the chain head to a new checkpoint file in ``directory``; returns (path, data)."""
    data = checkpoint_data(session, organisation)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = data["written_at"].replace(":", "").replace("-", "")[:15]
    path = directory / f"{CHECKPOINT_PREFIX}{stamp}-{data['seq']}.json"
    tmp = path.with_suffix(".part")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)
    return path, data


def read_anchor(path: Path) -> Anchor:
    """The chain head recorded in a checkpoint file or in an issued PDF's metadata."""
    data = path.read_bytes()
    if data.startswith(b"%PDF-"):
        return pdf_anchor(data, str(path))
    try:
        doc = json.loads(data)
        return Anchor(int(doc["seq"]), str(doc["entry_hash"]).lower(), str(path))
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: neither a PDF nor a ledger checkpoint file") from err


PDF_HEAD_KEY = "BrigadeLedgerHead"


def pdf_anchor(data: bytes, source: str) -> Anchor:
    """The chain head written into a PDF's document information (``PDF_HEAD_KEY``)."""
    # pyhanko loads only when a sealed PDF is read (heavy)
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        info = PdfFileReader(io.BytesIO(data), strict=False).trailer_view.get("/Info")
        # WeasyPrint writes the <meta> name in lower case
        wanted = "/" + PDF_HEAD_KEY.lower()
        entries = info.get_object().items() if info is not None else []
        value = next((v for k, v in entries if str(k).lower() == wanted), None)
    except (PdfReadError, ValueError, KeyError) as err:
        raise ValueError(f"{source}: the PDF cannot be read ({err})") from err
    if value is None:
        raise ValueError(f"{source}: the PDF carries no ledger head")
    return parse_head(str(value), source)


def checkpoint_anchors(directory: Path | None) -> list[Anchor]:
    """Every checkpoint file found in ``directory`` (none when it does not exist)."""
    if directory is None or not directory.is_dir():
        return []
    return [read_anchor(p) for p in sorted(directory.glob(f"{CHECKPOINT_PREFIX}*.json"))]
