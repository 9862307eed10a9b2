"""Certificate: issued to a person for a programme, with its PDF, verification code and
life cycle (expiry, revocation, renewal and reissue)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import UTCDateTime, utcnow
from lms.extensions import db

if TYPE_CHECKING:
    from lms.auth.models import User
    from lms.certificates.models.certificate_type import CertificateType
    from lms.certificates.models.template import CertificateTemplate
    from lms.learning.models import ProgrammeCompletion


class Status(StrEnum):
    """What a certificate is on a given day; "valid" means the same thing everywhere: issued,
    not revoked, not superseded and not expired on that day."""

    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    Status.VALID: _l("Valid"),
    Status.EXPIRED: _l("Expired"),
    Status.REVOKED: _l("Revoked"),
    Status.SUPERSEDED: _l("Superseded"),
}


class IssueKind(StrEnum):
    ISSUE = "issue"
    RENEWAL = "renewal"  # a new certificate replacing an expiring or expired one
    REISSUE = "reissue"  # the same award again, e.g. after a name correction


class Certificate(db.Model):
    """One certificate.

    ``code`` is the long random identifier in the QR code and ``/verify/<code>``; ``serial``
    the human number printed on it. The holder's name, the programme, the partner university
    and the signatory are copied in when issued, so later edits of those records never change
    a certificate. ``cycle`` is the CE year for annual programmes, else 0. At most one
    certificate per holder, type and cycle is neither revoked nor superseded (a partial
    unique index). ``pdf_sha256`` names the stored PDF in the file store; it is empty only
    between the two steps of a bulk issue (records first, PDFs next), which a rerun completes.
    ``identity_salt`` salts the hash that identifies the holder in the Open Badge.
    """

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    serial: Mapped[str] = mapped_column(sa.String(40), unique=True)
    type_id: Mapped[int] = mapped_column(
        sa.ForeignKey("certificate_types.id", ondelete="RESTRICT"), index=True
    )
    holder_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    completion_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("programme_completions.id", ondelete="SET NULL"), index=True
    )
    cycle: Mapped[int] = mapped_column(default=0)
    # The university partner that delivered the programme, for reports by partner.
    partner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    # Where the holder worked when the certificate was issued (their district, else their
    # employer's, and the employer's kind): reports count a certificate there, so that a
    # report of a past date does not change when people move.
    district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("districts.id"), index=True)
    employer_kind: Mapped[str | None] = mapped_column(sa.String(32))
    kind: Mapped[str] = mapped_column(sa.String(16), default=IssueKind.ISSUE)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    valid_from: Mapped[date] = mapped_column(sa.Date)
    expires_on: Mapped[date | None] = mapped_column(sa.Date, index=True)
    holder_name: Mapped[str] = mapped_column(sa.String(100))
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    template_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("certificate_templates.id", ondelete="SET NULL")
    )
    pdf_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    pdf_size: Mapped[int | None] = mapped_column()
    identity_salt: Mapped[str] = mapped_column(sa.String(32))
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    override_reason: Mapped[str | None] = mapped_column(sa.Text)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    revoke_reason: Mapped[str | None] = mapped_column(sa.Text)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replaces_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("certificates.id", ondelete="SET NULL"), index=True
    )

    certificate_type: Mapped[CertificateType] = relationship("CertificateType")
    holder: Mapped[User] = relationship("User", foreign_keys=[holder_id])
    issued_by: Mapped[User | None] = relationship("User", foreign_keys=[issued_by_id])
    revoked_by: Mapped[User | None] = relationship("User", foreign_keys=[revoked_by_id])
    completion: Mapped[ProgrammeCompletion | None] = relationship("ProgrammeCompletion")
    template: Mapped[CertificateTemplate | None] = relationship("CertificateTemplate")
    replaces: Mapped[Certificate | None] = relationship("Certificate", remote_side=[id])

    __table_args__ = (
        sa.Index(
            "uq_certificates_one_current",
            "holder_id",
            "type_id",
            "cycle",
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL AND superseded_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL AND superseded_at IS NULL"),
        ),
        # Certificates issued per year, type and kind, for a partner or district, from the
        # index alone (the coordinator dashboard).
        sa.Index(
            "ix_certificates_report", "type_id", "kind", "issued_at", "partner_id", "district_id"
        ),
        sa.CheckConstraint("kind IN ('issue', 'renewal', 'reissue')", name="kind"),
        sa.CheckConstraint("expires_on IS NULL OR expires_on >= valid_from", name="dates"),
        sa.CheckConstraint(
            "(revoked_at IS NULL) = (revoke_reason IS NULL)", name="revoked_with_reason"
        ),
    )

    def status_on(self, day: date | None = None) -> Status:
        """The status on ``day`` (today, in UTC, by default)."""
        day = day or utcnow().date()
        if self.revoked_at is not None and self.revoked_at.date() <= day:
            return Status.REVOKED
        if self.superseded_at is not None and self.superseded_at.date() <= day:
            return Status.SUPERSEDED
        if self.expires_on is not None and self.expires_on < day:
            return Status.EXPIRED
        return Status.VALID

    @property
    def status(self) -> Status:
        return self.status_on()

    def __repr__(self) -> str:
        return f"<Certificate {self.serial}>"


def valid_on(day: date) -> sa.ColumnElement[bool]:
    """SQL for "valid on ``day``", the same rule as :meth:`Certificate.status_on`."""
    end_of_day = datetime.combine(day, time.max, tzinfo=UTC)
    return sa.and_(
        Certificate.issued_at <= end_of_day,
        sa.or_(Certificate.revoked_at.is_(None), Certificate.revoked_at > end_of_day),
        sa.or_(Certificate.superseded_at.is_(None), Certificate.superseded_at > end_of_day),
        sa.or_(Certificate.expires_on.is_(None), Certificate.expires_on >= day),
    )
