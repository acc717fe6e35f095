"""Navigation entries, registered by each domain, shown by permission."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request, url_for


@dataclass(frozen=True)
class NavItem:
    label: Any  # a lazy translated string
    endpoint: str
    permission: str
    order: int = 50
    group: str | None = None  # grouped entries live on a hub page, not in the main bar


_ITEMS: list[NavItem] = []


def register(
    label: Any, endpoint: str, permission: str, order: int = 50, group: str | None = None
) -> None:
    if any(i.endpoint == endpoint for i in _ITEMS):
        return
    _ITEMS.append(NavItem(label, endpoint, permission, order, group))
    _ITEMS.sort(key=lambda i: i.order)


def items_for(user: Any, group: str | None = None) -> list[dict[str, Any]]:
    """The entries the user may see; the one whose address best matches the page is current."""
    out = []
    for item in _ITEMS:
        if item.group == group and user.can(item.permission):
            out.append(
                {
                    "label": item.label,
                    "url": url_for(item.endpoint),
                    "active": False,
                    "endpoint": item.endpoint,
                }
            )
    exact = [i for i in out if i["endpoint"] == request.endpoint]
    prefix = [i for i in out if i["url"] != "/" and request.path.startswith(i["url"])]
    best = exact or sorted(prefix, key=lambda i: len(i["url"]), reverse=True)[:1]
    for i in best[:1]:
        i["active"] = True
    return out


_PANELS: list[tuple[int, str, str]] = []


def register_home_panel(template: str, permission: str, order: int = 50) -> None:
    """A template included on the start page for users with the permission."""
    if any(t == template for _o, t, _p in _PANELS):
        return
    _PANELS.append((order, template, permission))
    _PANELS.sort()


def home_panels_for(user: Any) -> list[str]:
    return [t for _o, t, p in _PANELS if user.can(p)]
