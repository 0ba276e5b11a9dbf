"""Writing the audit log: who did what to which object, why, and what it looked like before and after.

Every admin action records an entry. Use `entry(...)` to get one to add to the action's own transaction
(preferred: the action and its record commit together), or `record(...)` for actions with no transaction.
The admin issue builds the views (`GET /v1/admin/audit-log`) on `store.audit`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters import clock, ids
from chalicelib.domain.errors import Invalid
from chalicelib.domain.roles import Caller
from chalicelib.store import audit as audit_store
from chalicelib.store import cursor as cursors
from chalicelib.store import keys


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
        at_iso=clock.now_iso(),
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


# ---------------------------------------------------------------- the desk's view (GET /v1/admin/audit-log)

MAX_RANGE_DAYS = 366
MAX_READ = 1_000  # entries one page may read past filters before it answers with what it has and a cursor


def search(
    *,
    actor: str | None,
    target: str | None,
    action: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[audit_store.AuditItem], str | None]:
    """Entries newest first in [start, end), filtered; reads one index (target, else actor, else action) or the
    month partitions, checks the other filters on the rows read, and stops after `MAX_READ` rows."""
    end = end or clock.now() + timedelta(seconds=1)
    start = start or end - timedelta(days=90)
    if end <= start:
        raise Invalid({"to": "结束时间必须晚于开始时间"})
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        raise Invalid({"from": f"一次最多查询 {MAX_RANGE_DAYS} 天"})
    scope = cursors.scope(
        "admin.audit", actor=actor, target=target, action=action, start=clock.iso(start), end=clock.iso(end)
    )
    resumed = cursors.decode(cursor, scope)
    hi_sk = resumed["SK"]["S"] if resumed else clock.iso(end)
    index, partition = None, None
    if target:
        index, partition = "GSI2", keys.audit_by_target(target)
    elif actor:
        index, partition = "GSI1", keys.audit_by_actor(actor)
    elif action:
        index, partition = "GSI3", keys.audit_by_action(action)
    rows = audit_store.newest_first(
        index=index, partition=partition, lo_iso=clock.iso(start), hi_sk=hi_sk, page_size=min(MAX_READ, limit + 1)
    )
    found: list[audit_store.AuditItem] = []
    read = 0
    last_sk: str | None = None
    for row in rows:
        read += 1
        last_sk = row.SK
        if (actor is None or row.actor_id == actor) and (action is None or row.action == action):
            found.append(row)
            if len(found) > limit:
                break
        if read >= MAX_READ:
            break
    if len(found) > limit:
        items = found[:limit]
        return items, cursors.encode({"SK": {"S": items[-1].SK}}, scope)
    if read >= MAX_READ and last_sk is not None:
        return found, cursors.encode({"SK": {"S": last_sk}}, scope)  # a short page: more may match below
    return found, None
