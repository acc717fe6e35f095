from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from lms.core.model import Base, UTCDateTime


class Countersignature(Base):
    """The responsible instructor's signature under a self-paced completion of a briefing
    program: from then on the completion is an entry of the register. Never edited."""

    __tablename__ = "register_countersignatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    completion_id: Mapped[int] = mapped_column(sa.ForeignKey("completions.id"), unique=True)
    signer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    printed_name: Mapped[str] = mapped_column(sa.String(200))
    position: Mapped[str] = mapped_column(sa.String(200), default="")
    meaning: Mapped[str] = mapped_column(sa.String(20), default="countersigned")
    method: Mapped[str] = mapped_column(sa.String(20), default="password")
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    content_hash: Mapped[str] = mapped_column(sa.String(64))
