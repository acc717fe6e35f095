from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.model import Base, CreatedMixin, UTCDateTime


class Designation(CreatedMixin, Base):
    """A responsible person for a department, for one program or a whole program category.

    While it lasts, and while the person holds a valid completion one level up, they may
    schedule and run sessions of the program for their department (and the departments below).
    Ending a designation sets ends_on; the row is kept and the change audited.
    """

    __tablename__ = "designations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"), index=True)
    program_id: Mapped[int | None] = mapped_column(sa.ForeignKey("programs.id"))
    category: Mapped[str | None] = mapped_column(sa.String(20))
    level: Mapped[int] = mapped_column(default=1)  # the cascade level this person teaches
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date | None] = mapped_column(sa.Date)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    ended_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user = relationship("User", foreign_keys=[user_id])
    department = relationship("Department", foreign_keys=[department_id])
    program = relationship("Program", foreign_keys=[program_id])

    __table_args__ = (
        sa.CheckConstraint("program_id IS NOT NULL OR category IS NOT NULL", "program_or_category"),
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", "ends_after_start"),
        sa.CheckConstraint("level BETWEEN 1 AND 5", "level_range"),
    )

    def active_on(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or self.ends_on >= day)
