"""The ``certificates.issue_bulk`` job: issue a certificate type to everyone eligible.

Three steps, each committing in small batches so that a job that dies can be run again and
finishes the rest:

1. records: ``CERTIFICATE_BATCH_SIZE`` certificates per transaction, so the serial counter
   of the type is locked only briefly and parallel jobs interleave; the ids issued so far are
   committed with them on the job record;
2. PDFs: the job's certificates still without one, one WeasyPrint document per batch. Each
   batch goes into a list in Redis as soon as it is numbered and committed; with Redis, the
   job also queues one helper (:func:`render_share`) per other worker listening on the
   "bulk" queue, which renders batches while the job numbers the next ones. Once all are
   numbered the job takes batches too, until the list is empty (a helper that finds it empty
   stops), so that every worker renders a share of one bulk issue. The job's record carries
   the progress of all of them (it counts the PDFs stored); a batch a helper took but did not
   finish within ``STALL_SECONDS`` (its worker died) is rendered by the job itself;
3. the ZIP of the PDFs, in ``FILES_DIR/exports/<job id>.zip``.

A second run finds the people done by the first one no longer eligible (they hold a current
certificate, which the partial unique index guarantees is the only one) and renders what is
still missing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import gettext as _
from rq import Worker

from lms.certificates import bulk, issuing
from lms.certificates.bulk import SkipCode, Skipped
from lms.certificates.models import Certificate
from lms.extensions import db
from lms.jobs import JobContext, get_queue, redis_connection
from lms.validation import ValidationError

# Share of the progress bar for each step (the PDFs take nearly all the time).
RECORDS_DONE, PDFS_DONE = 10, 95
#: How long the job waits for a batch taken by a helper before rendering it itself.
STALL_SECONDS = 120.0
#: How often the job looks at the helpers' progress once no batch is left to take.
POLL_SECONDS = 0.5
#: The list of batches outlives any job run by far, and is then dropped by Redis.
BATCHES_TTL_SECONDS = 86400
#: Ids per query when counting the PDFs still missing.
IDS_PER_QUERY = 1000


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
    # Batches are offered to the helpers as soon as they are numbered (a rerun's first).
    redis_connection().delete(_batches_key(ctx.job.id))
    left_over = _missing(issued)
    db.session.commit()  # end the read: helpers write at once (SQLite)
    helpers = helper_count(-(-(len(left_over) + len(plan.candidates)) // batch_size))
    helpers = _offer(ctx.job.id, left_over, batch_size, helpers)

    for group in bulk.chunks(plan.candidates, batch_size):
        numbered = len(issued)
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
        helpers = _offer(ctx.job.id, issued[numbered:], batch_size, helpers)

    _render_all(ctx, issued, batch_size)

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


def _render_all(ctx: JobContext, issued: Sequence[int], batch_size: int) -> None:
    """Render, with the helpers, the batches offered (see the module's docstring); returns
    when every issued certificate has its PDF."""
    missing = _missing(issued)
    while (ids := _take(ctx.job.id)) is not None:
        _render_batch(ids)
        missing = _report(ctx, issued)
    changed_at = time.monotonic()
    while missing:  # batches taken by helpers, still being rendered
        time.sleep(POLL_SECONDS)
        still = _report(ctx, issued)
        if len(still) < len(missing):
            changed_at = time.monotonic()
        elif time.monotonic() - changed_at > STALL_SECONDS:
            for ids in bulk.chunks(still, batch_size):
                _render_batch(ids)
                _report(ctx, issued)
            return
        missing = still


def _offer(job_id: str, ids: Sequence[int], batch_size: int, helpers: int) -> int:
    """Add ``ids`` (committed) to the job's list of batches, and queue ``helpers`` helpers
    once there is work for them; the number of helpers still to queue."""
    if not ids:
        return helpers
    connection = redis_connection()
    key = _batches_key(job_id)
    connection.rpush(key, *(json.dumps(list(batch)) for batch in bulk.chunks(ids, batch_size)))
    connection.expire(key, BATCHES_TTL_SECONDS)
    for _helper in range(helpers):
        get_queue(bulk.QUEUE).enqueue(
            render_share, job_id, job_timeout=3600, result_ttl=0, failure_ttl=86400
        )
    return 0


def helper_count(batches: int) -> int:
    """How many helpers to queue for ``batches`` batches: one per other worker listening on
    the "bulk" queue (none without Redis, where jobs run in-process)."""
    if not current_app.config.get("REDIS_URL") or batches < 2:
        return 0
    workers = Worker.count(connection=redis_connection(), queue=get_queue(bulk.QUEUE))
    return max(0, min(workers - 1, batches - 1))


def render_share(job_id: str) -> None:
    """A helper of bulk job ``job_id`` (an RQ job without a record of its own): render the
    batches left in its list, committing each, until the list is empty."""
    if has_app_context():
        app = current_app._get_current_object()  # type: ignore[attr-defined]
    else:  # pragma: no cover - a worker started outside `lms worker`
        from lms import create_app

        app = create_app()
    with app.app_context():
        try:
            while (ids := _take(job_id)) is not None:
                _render_batch(ids)
                db.session.commit()
        finally:
            db.session.remove()


def _batches_key(job_id: str) -> str:
    prefix = current_app.config.get("JOB_QUEUE_PREFIX", "lms")
    return f"{prefix}:certificates:bulk:{job_id}:batches"


def _take(job_id: str) -> list[int] | None:
    """The next batch of certificate ids of the job, taken off its list; None when empty."""
    raw = redis_connection().lpop(_batches_key(job_id))
    return None if raw is None else [int(i) for i in json.loads(raw)]


def _render_batch(ids: Sequence[int]) -> None:
    """Render and store the PDFs of those certificates that still have none. Flushes."""
    pending = db.session.scalars(
        sa.select(Certificate)
        .where(Certificate.id.in_(ids), Certificate.pdf_sha256.is_(None))
        .order_by(Certificate.id)
    ).all()
    issuing.render_and_store(pending)


def _missing(issued: Sequence[int]) -> list[int]:
    """The ids of those certificates that have no PDF yet, in order."""
    missing: list[int] = []
    for ids in bulk.chunks(issued, IDS_PER_QUERY):
        missing += db.session.scalars(
            sa.select(Certificate.id)
            .where(Certificate.id.in_(ids), Certificate.pdf_sha256.is_(None))
            .order_by(Certificate.id)
        )
    return missing


def _report(ctx: JobContext, issued: Sequence[int]) -> list[int]:
    """Commit, count the PDFs stored by the job and its helpers, record the progress; the
    ids still without a PDF."""
    db.session.commit()  # also ends the snapshot: the helpers' commits become visible
    missing = _missing(issued)
    done = len(issued) - len(missing)
    ctx.progress(
        RECORDS_DONE + done * (PDFS_DONE - RECORDS_DONE) // max(len(issued), 1),
        _("Generated %(done)d of %(total)d certificates…", done=done, total=len(issued)),
    )
    return missing
