"""Saving certificate templates: every save is a new version, checked by rendering it first.

A template that does not render (a Jinja error, a WeasyPrint error) or that does not fit the
sample certificate on one page is refused with the error, and nothing is saved. Versions are
never changed, so a certificate keeps pointing at the exact template it was rendered with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from lms.audit.services import record
from lms.certificates.models import Certificate, CertificateTemplate, CertificateType
from lms.certificates.rendering import RenderError, ResolvedTemplate, page_count
from lms.extensions import db
from lms.learning.models import Programme
from lms.validation import ValidationError

AUDIT_ACTION = "certificate_template.saved"
MAX_TEMPLATE_CHARS = 200_000


@dataclass(frozen=True)
class TemplateData:
    html: str
    css: str
    note: str = ""


@dataclass(frozen=True)
class TemplateRow:
    """One line of the templates page: the default (``certificate_type`` None) or a type."""

    certificate_type: CertificateType | None
    version: int | None  # the version in use; None: the default / the design in the code
    saved_at: datetime | None


@dataclass(frozen=True)
class VersionRow:
    template: CertificateTemplate
    certificates: int  # how many certificates were rendered with this version


def overview() -> list[TemplateRow]:
    """The default template and every certificate type with the version each uses. Two queries."""
    latest = {
        row.type_id: (row.version, row.saved_at)
        for row in db.session.execute(
            sa.select(
                CertificateTemplate.type_id,
                sa.func.max(CertificateTemplate.version).label("version"),
                sa.func.max(CertificateTemplate.created_at).label("saved_at"),
            ).group_by(CertificateTemplate.type_id)
        )
    }
    types = db.session.scalars(
        sa.select(CertificateType)
        .join(CertificateType.programme)
        .options(joinedload(CertificateType.programme))
        .order_by(Programme.code, CertificateType.id)
    ).all()
    rows = [TemplateRow(None, *latest.get(None, (None, None)))]
    rows += [TemplateRow(t, *latest.get(t.id, (None, None))) for t in types]
    return rows


def versions(type_id: int | None) -> list[VersionRow]:
    """The saved versions of a template, newest first, with their certificate counts."""
    used = (
        sa.select(sa.func.count(Certificate.id))
        .where(Certificate.template_id == CertificateTemplate.id)
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(CertificateTemplate, used)
        .where(_same_type(type_id))
        .options(joinedload(CertificateTemplate.created_by))
        .order_by(CertificateTemplate.version.desc(), CertificateTemplate.id.desc())
    ).all()
    return [VersionRow(template, count) for template, count in rows]


def version(type_id: int | None, number: int) -> CertificateTemplate | None:
    return db.session.scalars(
        sa.select(CertificateTemplate)
        .where(_same_type(type_id), CertificateTemplate.version == number)
        .order_by(CertificateTemplate.id.desc())
        .limit(1)
    ).first()


def _same_type(type_id: int | None) -> sa.ColumnElement[bool]:
    if type_id is None:
        return CertificateTemplate.type_id.is_(None)
    return CertificateTemplate.type_id == type_id


def check(data: TemplateData) -> None:
    """Raise ``ValidationError`` when the template does not render the sample certificate on
    exactly one page."""
    if not data.html.strip():
        raise ValidationError({"html": _("Enter the HTML of the certificate.")})
    if len(data.html) > MAX_TEMPLATE_CHARS or len(data.css) > MAX_TEMPLATE_CHARS:
        raise ValidationError(
            {"html": _("A template is limited to %(n)d characters.", n=MAX_TEMPLATE_CHARS)}
        )
    try:
        pages = page_count(ResolvedTemplate(None, data.html, data.css))
    except RenderError as error:
        raise ValidationError(
            {"html": _("The template cannot be rendered: %(error)s", error=str(error))}
        ) from error
    if pages != 1:
        raise ValidationError(
            {
                "html": _(
                    "The sample certificate takes %(n)d pages: a certificate must fit on one page.",
                    n=pages,
                )
            }
        )


def save_version(actor_id: int, type_id: int | None, data: TemplateData) -> CertificateTemplate:
    """Check the template, then save it as the next version of the type's (or the default)
    template, audited. Flushes; a concurrent save of the same version is refused."""
    check(data)
    current = db.session.scalar(
        sa.select(sa.func.max(CertificateTemplate.version)).where(_same_type(type_id))
    )
    template = CertificateTemplate(
        type_id=type_id,
        version=(current or 0) + 1,
        html=data.html,
        css=data.css,
        note=data.note.strip(),
        created_by_id=actor_id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(template)
    except IntegrityError as error:
        raise ValidationError(
            _("Someone else saved this template at the same time; reload the page and try again.")
        ) from error
    record(
        actor_id,
        AUDIT_ACTION,
        "certificate_template",
        template.id,
        after={"type_id": type_id, "version": template.version, "note": template.note},
    )
    return template
