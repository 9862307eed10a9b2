"""Certificate type: what a programme leads to, how long it is valid and how it renews."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import TimestampMixin
from lms.extensions import db

if TYPE_CHECKING:
    from lms.learning.models import Programme


class CertificateType(TimestampMixin, db.Model):
    """The certificate a programme leads to.

    ``serial_code`` goes into serial numbers (``NJ-LT-2026-000123``: the configured prefix,
    this code, the year of issue and a number without gaps per type and year).
    ``validity_years`` None means the certificate does not expire; ``renew_ce_hours`` is what a
    holder needs in the CE cycle of renewal (None: not renewable by CE hours). The signatory
    printed on the certificate is kept here and copied into each certificate when issued.
    """

    __tablename__ = "certificate_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(
        sa.ForeignKey("programmes.id", ondelete="RESTRICT"), unique=True
    )
    serial_code: Mapped[str] = mapped_column(sa.String(8), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(200), default="")
    tier: Mapped[str | None] = mapped_column(sa.String(16), index=True)
    validity_years: Mapped[int | None] = mapped_column()
    renew_ce_hours: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 1))
    issuer_name: Mapped[str] = mapped_column(sa.String(200), default="")
    issuer_name_en: Mapped[str] = mapped_column(sa.String(200), default="")
    signatory_name: Mapped[str] = mapped_column(sa.String(100), default="")
    signatory_title: Mapped[str] = mapped_column(sa.String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)

    programme: Mapped[Programme] = relationship("Programme")

    __table_args__ = (
        sa.CheckConstraint("tier IS NULL OR tier IN ('talent_pool', 'lead_trainer')", name="tier"),
        sa.CheckConstraint("validity_years IS NULL OR validity_years > 0", name="validity"),
        sa.CheckConstraint("renew_ce_hours IS NULL OR renew_ce_hours > 0", name="renew"),
    )

    def display_title(self, locale: str) -> str:
        return self.title_en if locale.startswith("en") and self.title_en else self.title

    def __repr__(self) -> str:
        return f"<CertificateType {self.serial_code}>"
