"""Page through a select without loading everything."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from lms.core.model import DbSession


@dataclass
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def paginate(
    session: DbSession,
    stmt: sa.Select[Any],
    page: int = 1,
    per_page: int = 50,
    scalars: bool = True,
) -> Page:
    page = max(1, page)
    # the order does not change the count: leave it out of the counting query
    total = session.execute(
        sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
    ).scalar_one()
    result = session.execute(stmt.limit(per_page).offset((page - 1) * per_page))
    items: list[Any] = list(result.scalars()) if scalars else list(result)
    return Page(items=items, page=page, per_page=per_page, total=total)
