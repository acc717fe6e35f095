"""API tokens: stored as SHA-256 hashes, shown once, revoked (never deleted)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.accounts.models import User
from lms.core.model import Base, CreatedMixin, UTCDateTime

SCOPES: dict[str, str] = {
    "people:read": "Read people, departments and absences",
    "people:write": "HR sync: create and update people, departments and absences",
    "training:read": "Read programs, status, completions, certificates, sessions",
    "sessions:write": "Enrol people in sessions",
}


class ApiToken(CreatedMixin, Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    prefix: Mapped[str] = mapped_column(sa.String(12))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[str] = mapped_column(sa.String(200))  # space-separated
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def scope_set(self) -> set[str]:
        return set(self.scopes.split())
