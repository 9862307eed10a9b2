"""Certificate templates: HTML and CSS (Jinja), versioned; a version is never changed."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import UTCDateTime, utcnow
from lms.extensions import db

if TYPE_CHECKING:
    from lms.auth.models import User
    from lms.certificates.models.certificate_type import CertificateType


class CertificateTemplate(db.Model):
    """One saved version of the template of a certificate type (``type_id`` None: the
    template every type without its own uses). Saving makes a new version; the highest
    version is the one in use; without any row the default shipped in the code is used.
    Certificates record the version they were rendered with and keep their PDF, so a
    template change never alters a certificate already issued."""

    __tablename__ = "certificate_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("certificate_types.id", ondelete="CASCADE")
    )
    version: Mapped[int] = mapped_column()
    html: Mapped[str] = mapped_column(sa.Text)
    css: Mapped[str] = mapped_column(sa.Text)
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    certificate_type: Mapped[CertificateType | None] = relationship("CertificateType")
    created_by: Mapped[User | None] = relationship("User")

    __table_args__ = (
        sa.UniqueConstraint("type_id", "version"),
        sa.CheckConstraint("version >= 1", name="version"),
    )
