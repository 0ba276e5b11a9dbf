"""The append-only audit log of admin actions: `AUDIT#<yyyymm>` / `<time>#<id>`.

Entries are only ever put with `attribute_not_exists`, never updated or deleted by the application. A use
case that changes state adds its entry to the same transaction (`add_to`), so an admin action and its audit
record exist together or not at all.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import MapAttribute, UnicodeAttribute

from chalicelib.store import keys, tx
from chalicelib.store.base import Item


class AuditItem(Item, discriminator="audit"):
    audit_id = UnicodeAttribute()
    at = UnicodeAttribute()
    actor_id = UnicodeAttribute()
    actor_role = UnicodeAttribute()
    action = UnicodeAttribute()  # dotted verb, e.g. merchant.approve, user.freeze
    target_type = UnicodeAttribute()
    target_id = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    before: MapAttribute[str, Any] = MapAttribute(null=True)
    after: MapAttribute[str, Any] = MapAttribute(null=True)
    request_id = UnicodeAttribute(null=True)


def new_entry(
    *,
    audit_id: str,
    at_iso: str,
    actor_id: str,
    actor_role: str,
    action: str,
    target_type: str,
    target_id: str,
    reason: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    request_id: str | None,
) -> AuditItem:
    pk, sk = keys.audit(at_iso, audit_id)
    return AuditItem(
        pk,
        sk,
        audit_id=audit_id,
        at=at_iso,
        actor_id=actor_id,
        actor_role=actor_role,
        action=action,
        target_type=target_type,
        target_id=target_id,
        reason=reason,
        before=before,
        after=after,
        request_id=request_id,
    )


def add_to(t: tx.Tx, entry: AuditItem, label: str = "audit") -> None:
    t.put(entry, label=label, condition=AuditItem.PK.does_not_exist())


def put(entry: AuditItem) -> None:
    entry.save(condition=AuditItem.PK.does_not_exist())


def month(yyyymm: str, *, limit: int = 100, newest_first: bool = True) -> list[AuditItem]:
    return list(AuditItem.query(keys.audit_month(yyyymm), scan_index_forward=not newest_first, limit=limit))
