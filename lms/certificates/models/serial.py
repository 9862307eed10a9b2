"""Serial number counters: the last number used per certificate type and year."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from lms.extensions import db


class SerialCounter(db.Model):
    """Taken with ``UPDATE ... SET last = last + 1 ... RETURNING last`` inside the issuing
    transaction: the row stays locked until that transaction ends and a rollback gives the
    number back, so serials are unique and without gaps under any concurrency."""

    __tablename__ = "serial_counters"

    type_id: Mapped[int] = mapped_column(
        sa.ForeignKey("certificate_types.id", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)

    __table_args__ = (sa.CheckConstraint("last >= 0", name="last"),)
