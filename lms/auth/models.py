"""User and RoleAssignment."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.roles import Role
from lms.db import TimestampMixin, UTCDateTime
from lms.extensions import db
from lms.orgs.models import District, Organisation


class User(UserMixin, TimestampMixin, db.Model):
    """A person who signs in: trainee, instructor, HR officer, coordinator or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    employer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("districts.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(sa.String(16))

    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    must_change_password: Mapped[bool] = mapped_column(default=False)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Part of the session identifier: bumping it signs the person out everywhere.
    session_version: Mapped[int] = mapped_column(default=1)

    employer: Mapped[Organisation | None] = relationship("Organisation")
    district: Mapped[District | None] = relationship("District")
    role_assignments: Mapped[list[RoleAssignment]] = relationship(
        "RoleAssignment",
        back_populates="user",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="RoleAssignment.role",
    )

    # Flask-Login -----------------------------------------------------------------------------
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    def get_id(self) -> str:
        return f"{self.id}.{self.session_version}"

    # Roles -----------------------------------------------------------------------------------
    @property
    def roles(self) -> set[Role]:
        return {Role(a.role) for a in self.role_assignments}

    def has_role(self, *roles: Role | str) -> bool:
        mine = self.roles
        return any(Role(r) in mine for r in roles)

    def scope_of(self, role: Role | str) -> int | None:
        """The organisation id a role is limited to, or None when it is city-wide."""
        for a in self.role_assignments:
            if a.role == Role(role):
                return a.scope_org_id
        return None

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class RoleAssignment(db.Model):
    """One role held by one person, optionally limited to one organisation's people."""

    __tablename__ = "role_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(sa.String(16), index=True)
    scope_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)

    user: Mapped[User] = relationship("User", back_populates="role_assignments")
    scope_org: Mapped[Organisation | None] = relationship("Organisation")

    __table_args__ = (
        sa.UniqueConstraint("user_id", "role"),
        sa.CheckConstraint(
            "role IN ('trainee', 'instructor', 'hr', 'coordinator', 'admin')", name="role"
        ),
        sa.CheckConstraint(
            "scope_org_id IS NULL OR role IN ('hr', 'coordinator')", name="scope_role"
        ),
    )

    @property
    def role_label(self) -> str:
        return Role(self.role).label
