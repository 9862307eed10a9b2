"""Writing the audit log."""

from __future__ import annotations

from typing import Any

from lms.audit.models import AuditEntry
from lms.extensions import db


def record(
    actor_id: int | None,
    action: str,
    entity_type: str,
    entity_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEntry | None:
    """Add an audit entry to the current unit of work (the caller commits).

    Only the fields that changed are kept on an update; an update that changed nothing
    writes no entry.
    """
    if before is not None and after is not None:
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        if not changed:
            return None
        before = {k: before.get(k) for k in sorted(changed)}
        after = {k: after.get(k) for k in sorted(changed)}
    entry = AuditEntry(
        actor_id=actor_id,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after=after,
        reason=reason,
    )
    db.session.add(entry)
    return entry
