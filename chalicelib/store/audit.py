"""The append-only audit log of admin actions: `AUDIT#<yyyymm>` / `<time>#<id>`.

Entries are only ever put with `attribute_not_exists`, never updated or deleted by the application. A use
case that changes state adds its entry to the same transaction (`add_to`), so an admin action and its audit
record exist together or not at all.

Each entry also carries three index keys, all sorted by the entry's own `<time>#<id>` (docs/decisions/0112):
GSI1 by actor, GSI2 by target, GSI3 by action. The desk's filters read one of them or the month partitions.
"""

from __future__ import annotations

from collections.abc import Iterator
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
        GSI1PK=keys.audit_by_actor(actor_id),
        GSI1SK=sk,
        GSI2PK=keys.audit_by_target(target_id),
        GSI2SK=sk,
        GSI3PK=keys.audit_by_action(action),
        GSI3SK=sk,
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


def _month_keys(lo_iso: str, hi_iso: str) -> list[str]:
    """`yyyymm` partitions from the month of `hi_iso` back to the month of `lo_iso`, newest first."""
    y, m = int(hi_iso[:4]), int(hi_iso[5:7])
    end = (int(lo_iso[:4]), int(lo_iso[5:7]))
    out = []
    while (y, m) >= end:
        out.append(f"{y:04d}{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out


def newest_first(
    *, index: str | None, partition: str | None, lo_iso: str, hi_sk: str, page_size: int
) -> Iterator[AuditItem]:
    """Entries with `lo_iso <= SK < hi_sk`, newest first: from one index partition (`index` = GSI1 actor,
    GSI2 target, GSI3 action), or with `index=None` from the month partitions the range spans (one Query each,
    paged by DynamoDB). The caller stops iterating when it has read enough, which bounds the reads."""
    if index is not None and partition is not None:
        idx, sort_attr = {
            "GSI1": (AuditItem.gsi1, AuditItem.GSI1SK),
            "GSI2": (AuditItem.gsi2, AuditItem.GSI2SK),
            "GSI3": (AuditItem.gsi3, AuditItem.GSI3SK),
        }[index]
        rows = idx.query(
            partition,
            range_key_condition=sort_attr.between(lo_iso, hi_sk),
            scan_index_forward=False,
            page_size=page_size,
        )
        for row in rows:
            if isinstance(row, AuditItem) and row.SK < hi_sk:
                yield row
        return
    for yyyymm in _month_keys(lo_iso, hi_sk):
        rows = AuditItem.query(
            keys.audit_month(yyyymm),
            AuditItem.SK.between(lo_iso, hi_sk),
            scan_index_forward=False,
            page_size=page_size,
        )
        for row in rows:
            if isinstance(row, AuditItem) and row.SK < hi_sk:
                yield row
