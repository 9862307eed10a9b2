"""The ``certificates.issue_bulk`` job: issue a certificate type to everyone eligible.

Three steps, each committing in small batches so that a job that dies can be run again and
finishes the rest:

1. records: ``CERTIFICATE_BATCH_SIZE`` certificates per transaction, so the serial counter
   of the type is locked only briefly and parallel jobs interleave; the ids issued so far are
   committed with them on the job record;
2. PDFs: the job's certificates still without one, one WeasyPrint document per batch;
3. the ZIP of the PDFs, in ``FILES_DIR/exports/<job id>.zip``.

A second run finds the people done by the first one no longer eligible (they hold a current
certificate, which the partial unique index guarantees is the only one) and renders what is
still missing.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from lms.certificates import bulk, issuing
from lms.certificates.bulk import SkipCode, Skipped
from lms.certificates.models import Certificate
from lms.extensions import db
from lms.jobs import JobContext
from lms.validation import ValidationError

# Share of the progress bar for each step (the PDFs take nearly all the time).
RECORDS_DONE, PDFS_DONE = 10, 95


def issue_bulk(
    ctx: JobContext, type_id: int, cohort_id: int | None, actor_id: int | None
) -> dict[str, Any]:
    """Issue, render and pack; returns ``{"issued", "skipped", "zip", "certificate_ids"}``
    (``skipped``: ``{"holder_id", "name", "reason", "code"}`` each)."""
    batch_size = current_app.config["CERTIFICATE_BATCH_SIZE"]
    issued: list[int] = list((ctx.job.result or {}).get("certificate_ids", []))
    plan = bulk.plan(actor_id, type_id, cohort_id, issued)
    skipped = plan.skipped
    total = len(issued) + len(plan.candidates)

    for group in bulk.chunks(plan.candidates, batch_size):
        for candidate in group:
            try:
                certificate = issuing.create_certificate(
                    actor_id, candidate.holder_id, type_id, cycle=candidate.cycle
                )
            except ValidationError as refused:
                code = (
                    SkipCode.NOT_ELIGIBLE
                    if isinstance(refused, issuing.NotEligible)
                    else SkipCode.ALREADY_HOLDS
                )
                reason = " ".join(refused.errors.values())
                skipped.append(Skipped(candidate.holder_id, candidate.name, reason, code))
                continue
            issued.append(certificate.id)
        # The ids go into the same transaction as the records: a rerun knows them.
        ctx.job.result = {"certificate_ids": list(issued)}
        ctx.progress(
            len(issued) * RECORDS_DONE // max(total, 1),
            _("Numbered %(done)d of %(total)d certificates…", done=len(issued), total=total),
        )

    rendered = 0
    for ids in bulk.chunks(issued, batch_size):
        pending = db.session.scalars(
            sa.select(Certificate)
            .where(Certificate.id.in_(ids), Certificate.pdf_sha256.is_(None))
            .order_by(Certificate.id)
        ).all()
        issuing.render_and_store(pending)
        rendered += len(ids)
        ctx.progress(
            RECORDS_DONE + rendered * (PDFS_DONE - RECORDS_DONE) // max(len(issued), 1),
            _("Generated %(done)d of %(total)d certificates…", done=rendered, total=len(issued)),
        )

    zip_name = bulk.write_zip(ctx.job.id, issued, batch_size) if issued else None
    ctx.job.message = _(
        "Issued %(issued)d, skipped %(skipped)d.", issued=len(issued), skipped=len(skipped)
    )
    return {
        "issued": len(issued),
        "skipped": [s.as_dict() for s in skipped],
        "zip": zip_name,
        "certificate_ids": issued,
    }
