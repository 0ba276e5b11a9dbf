"""Writing the audit log: who did what to which object, why, and what it looked like before and after.

Every admin action records an entry. Use `entry(...)` to get one to add to the action's own transaction
(preferred: the action and its record commit together), or `record(...)` for actions with no transaction.
The admin issue builds the views (`GET /v1/admin/audit-log`) on `store.audit`.
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import clock, ids
from chalicelib.domain.roles import Caller
from chalicelib.store import audit as audit_store


def _iso_now() -> str:
    return clock.now().isoformat(timespec="microseconds").replace("+00:00", "Z")


def entry(
    actor: Caller,
    action: str,
    target_type: str,
    target_id: str,
    *,
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> audit_store.AuditItem:
    return audit_store.new_entry(
        audit_id=ids.new_id("aud"),
        at_iso=_iso_now(),
        actor_id=actor.id,
        actor_role=actor.role,
        action=action,
        target_type=target_type,
        target_id=target_id,
        reason=reason,
        before=before,
        after=after,
        request_id=request_id,
    )


def record(
    actor: Caller,
    action: str,
    target_type: str,
    target_id: str,
    *,
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> audit_store.AuditItem:
    item = entry(
        actor, action, target_type, target_id, reason=reason, before=before, after=after, request_id=request_id
    )
    audit_store.put(item)
    return item
