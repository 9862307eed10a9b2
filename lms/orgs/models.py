"""Organisation and District."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import TimestampMixin
from lms.extensions import db


class OrgKind(StrEnum):
    """What an organisation is; the values are stored and exported."""

    UNIVERSITY = "university"
    CENTRE = "centre"
    STATION = "station"
    NURSERY = "nursery"
    PARENT_CHILD_CENTRE = "parent_child_centre"
    CARE_POINT = "care_point"

    @property
    def label(self) -> str:
        return str(ORG_KIND_LABELS[self])


ORG_KIND_LABELS = {
    OrgKind.UNIVERSITY: _l("University partner"),
    OrgKind.CENTRE: _l("Guidance centre"),
    OrgKind.STATION: _l("Street/town station"),
    OrgKind.NURSERY: _l("Nursery"),
    OrgKind.PARENT_CHILD_CENTRE: _l("Parent-child centre"),
    OrgKind.CARE_POINT: _l("Care point"),
}


class District(db.Model):
    """An administrative district (区) of the city."""

    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    name_en: Mapped[str] = mapped_column(sa.String(100), default="")

    def display_name(self, locale: str) -> str:
        """The English name in English pages when there is one, else the Chinese name."""
        return self.name_en if locale.startswith("en") and self.name_en else self.name

    def __repr__(self) -> str:
        return f"<District {self.code}>"


class Organisation(TimestampMixin, db.Model):
    """A university partner, guidance centre, station or childcare setting.

    ``parent`` places an organisation under another (a station under its centre, a nursery
    under the centre that guides it); a scoped coordinator or HR officer sees the people of
    their organisation and of the organisations directly under it.
    """

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    name_en: Mapped[str] = mapped_column(sa.String(200), default="")
    kind: Mapped[str] = mapped_column(sa.String(32), index=True)
    district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("districts.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)

    district: Mapped[District | None] = relationship("District")
    parent: Mapped[Organisation | None] = relationship("Organisation", remote_side=[id])

    __table_args__ = (
        sa.CheckConstraint(
            "kind IN ('university', 'centre', 'station', 'nursery', "
            "'parent_child_centre', 'care_point')",
            name="kind",
        ),
    )

    @property
    def kind_label(self) -> str:
        return OrgKind(self.kind).label

    def display_name(self, locale: str) -> str:
        return self.name_en if locale.startswith("en") and self.name_en else self.name

    def __repr__(self) -> str:
        return f"<Organisation {self.code}>"
