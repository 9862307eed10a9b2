"""Demo step: certificates at every stage of their life, so a newcomer sees the whole cycle.

- trainee01 and trainee02 completed the pre-service qualification: valid talent-pool
  certificates, issued by the demo HR officer;
- trainee09 completed this year's continuing education: a valid CE certificate;
- trainee11 holds a paper certificate from 2022 entered with an override: expired;
- trainee12 was issued one by mistake (an override), then it was revoked.

Runs after the learning steps (the completions come from there) and does nothing when the
certificate types have not been imported. Each certificate is looked up before it is made,
so a second ``lms demo`` changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from lms.auth.models import User
from lms.certificates import issuing, lifecycle
from lms.certificates.models import Certificate, CertificateType
from lms.demo.data import EMAIL_DOMAIN
from lms.demo.steps import DemoContext
from lms.extensions import db
from lms.learning.models import Programme


def _person(local: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == f"{local}@{EMAIL_DOMAIN}"))


def _type(programme_code: str) -> CertificateType | None:
    return db.session.scalar(
        sa.select(CertificateType)
        .join(Programme, Programme.id == CertificateType.programme_id)
        .where(Programme.code == programme_code)
    )


def _has_any(holder: User, ctype: CertificateType) -> bool:
    stmt = sa.select(Certificate.id).where(
        Certificate.holder_id == holder.id, Certificate.type_id == ctype.id
    )
    return db.session.scalar(stmt.limit(1)) is not None


def certificates(ctx: DemoContext) -> None:
    """Issue, backdate and revoke the demo certificates (see the module docstring)."""
    officer = _person("hr")
    talent, ce = _type("PRE-QUAL"), _type("INS-CE")
    if officer is None or talent is None or ce is None:
        return
    made: list[Certificate] = []
    for local, ctype in (("trainee01", talent), ("trainee02", talent), ("trainee09", ce)):
        holder = _person(local)
        if holder is None or _has_any(holder, ctype):
            continue
        if issuing.eligibility(holder.id, ctype.id).ok:
            made.append(issuing.create_certificate(officer.id, holder.id, ctype.id))
    paper = _person("trainee11")
    if paper is not None and not _has_any(paper, talent):
        made.append(
            issuing.create_certificate(
                officer.id,
                paper.id,
                talent.id,
                override_reason="2022年纸质证书电子化补录（原证书编号 宁托 2022-0315）",
                now=datetime(2022, 6, 15, 2, 0, tzinfo=UTC),
            )
        )
    mistaken = _person("trainee12")
    if mistaken is not None and not _has_any(mistaken, talent):
        wrong = issuing.create_certificate(
            officer.id, mistaken.id, talent.id, override_reason="按区里报送名单补发"
        )
        made.append(wrong)
        issuing.render_and_store([wrong])
        lifecycle.revoke(officer.id, wrong.id, "核查发现尚未完成技能考核，误发，予以撤销。")
    issuing.render_and_store(made)
    if made:
        ctx.created("certificates", len(made))
