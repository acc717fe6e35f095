"""Request helpers: safe redirects, form choices, int args."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this site: no scheme, no host, no protocol-relative '//'."""
    if not target:
        return default
    target = target.strip().replace("\\", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if any(ord(c) < 32 for c in target):
        return default
    return target


def int_arg(name: str, default: int | None = None) -> int | None:
    value = request.args.get(name, "")
    try:
        return int(value)
    except ValueError:
        return default


def page_arg() -> int:
    return max(1, int_arg("page", 1) or 1)
