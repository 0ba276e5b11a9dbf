"""Claim persistence: the claim item (`CLM#<id>`/`META`), its indexes, and the transaction pieces that change a
claim together with its task's counters, the worker's open-claim counter and the one-claim guard.

Claims are keyed by their own id (not under the task) so every `/v1/claims/{id}` route starts with one
GetItem; the task's list of claims is GSI3 `TASK#<task>#CLAIMS` (docs/decisions/0003-claims-and-deadlines.md).
Indexes on a claim:
- GSI1 `WORKER#<worker>#CLAIMS` / `<status>#<updated>#<id>` — the worker's claims, filterable by status;
- GSI2 `DUE#<yyyymmddhh>` / `<due>#<id>` — only while a deadline is pending (claim expiry, auto-accept, the
  appeal window of a rejection); the deadline sweep reads it;
- GSI3 `TASK#<task>#CLAIMS` / `<status>#<updated>#<id>` — the merchant's view of one task's claims.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pynamodb.attributes import NumberAttribute
from pynamodb.expressions.condition import Condition

from chalicelib.store import keys, tx
from chalicelib.store.base import Item
from chalicelib.store.sightings import SightingItem
from chalicelib.store.tasks import ClaimItem, TaskItem, WorkerGuard

Op = Callable[[tx.Tx], None]


class WorkerCounters(Item, discriminator="worker_counters"):
    """Per-worker counters the claim transactions keep (`USER#<id>`/`WORKER_COUNTERS`)."""

    open_claims = NumberAttribute(default=0)
    accepted_count = NumberAttribute(default=0)


def hour_bucket(at_iso: str) -> str:
    return at_iso[0:4] + at_iso[5:7] + at_iso[8:10] + at_iso[11:13]


def index_attrs(claim_id: str, worker_id: str, task_id: str, status: str, updated: str, due: str | None) -> dict:
    attrs: dict[str, Any] = {
        "GSI1PK": keys.worker_claims(worker_id),
        "GSI1SK": f"{status}#{updated}#{claim_id}",
        "GSI3PK": keys.task_claims(task_id),
        "GSI3SK": f"{status}#{updated}#{claim_id}",
    }
    if due:
        attrs["GSI2PK"] = keys.due_bucket(hour_bucket(due))
        attrs["GSI2SK"] = f"{due}#{claim_id}"
    return attrs


def get(claim_id: str, *, consistent: bool = True) -> ClaimItem | None:
    pk, sk = keys.claim_item(claim_id)
    try:
        return ClaimItem.get(pk, sk, consistent_read=consistent)
    except ClaimItem.DoesNotExist:
        return None


def status_ops(
    claim: ClaimItem,
    new_status: str,
    *,
    allowed: frozenset[str],
    now_iso: str,
    due: str | None,
    set_fields: dict[str, Any] | None = None,
    label: str = "claim",
    condition: Condition | None = None,
) -> Op:
    """Move a claim to `new_status` if it is still in one of `allowed` (optimistic concurrency) and `condition`
    (if given) holds."""
    pk, sk = keys.claim_item(claim.claim_id)
    idx = index_attrs(claim.claim_id, claim.worker_id, claim.task_id, new_status, now_iso, due)

    def apply(t: tx.Tx) -> None:
        actions = [
            ClaimItem.status.set(new_status),
            ClaimItem.updated_at.set(now_iso),
            ClaimItem.GSI1SK.set(idx["GSI1SK"]),
            ClaimItem.GSI3SK.set(idx["GSI3SK"]),
        ]
        if due:
            actions += [
                ClaimItem.GSI2PK.set(idx["GSI2PK"]),
                ClaimItem.GSI2SK.set(idx["GSI2SK"]),
                ClaimItem.deadline_at.set(due),
            ]
        else:
            actions += [ClaimItem.GSI2PK.remove(), ClaimItem.GSI2SK.remove(), ClaimItem.deadline_at.remove()]
        for name, value in (set_fields or {}).items():
            attr = getattr(ClaimItem, name)
            actions.append(attr.remove() if value is None else attr.set(value))
        cond = ClaimItem.status.is_in(*allowed)
        if condition is not None:
            cond = cond & condition
        t.update(ClaimItem(PK=pk, SK=sk), actions, label=label, condition=cond)

    return apply


def task_counter_ops(task_id: str, counters: dict[str, int], *, condition: Condition | None = None) -> Op:
    pk, sk = keys.task(task_id)

    def apply(t: tx.Tx) -> None:
        actions = [getattr(TaskItem, name).add(value) for name, value in counters.items() if value]
        t.update(TaskItem(PK=pk, SK=sk), actions, label="task", condition=condition)

    return apply


def worker_counter_ops(worker_id: str, counters: dict[str, int], *, cap_open: int | None = None) -> Op:
    pk, sk = keys.worker_counters(worker_id)

    def apply(t: tx.Tx) -> None:
        actions = [WorkerCounters.kind.set(WorkerCounters)]
        actions += [getattr(WorkerCounters, name).add(value) for name, value in counters.items() if value]
        condition = None
        if cap_open is not None:
            condition = WorkerCounters.open_claims.does_not_exist() | (WorkerCounters.open_claims < cap_open)
        t.update(WorkerCounters(PK=pk, SK=sk), actions, label="worker", condition=condition)

    return apply


def worker_counters(worker_id: str) -> WorkerCounters | None:
    pk, sk = keys.worker_counters(worker_id)
    try:
        return WorkerCounters.get(pk, sk, consistent_read=True)
    except WorkerCounters.DoesNotExist:
        return None


def new_claim_ops(claim: ClaimItem, device_hash: str | None, ip_hash: str | None, now_iso: str) -> Op:
    """The claim item, the one-claim guard, and the sightings of this claim (all new, all in one transaction)."""

    def apply(t: tx.Tx) -> None:
        t.put(claim, label="claim", condition=ClaimItem.PK.does_not_exist())
        gpk, gsk = keys.claim_guard(claim.task_id, claim.worker_id)
        t.put(
            WorkerGuard(PK=gpk, SK=gsk, claim_id=claim.claim_id),
            label="guard",
            condition=WorkerGuard.PK.does_not_exist(),
        )
        for label, pk_sk in (
            ("seen:dev", keys.device_sighting(device_hash, claim.worker_id) if device_hash else None),
            ("seen:ip", keys.ip_sighting(ip_hash, claim.worker_id) if ip_hash else None),
        ):
            if pk_sk is None:
                continue
            t.update(
                SightingItem(PK=pk_sk[0], SK=pk_sk[1]),
                [
                    SightingItem.kind.set(SightingItem),
                    SightingItem.user_id.set(claim.worker_id),
                    SightingItem.last_seen.set(now_iso),
                    SightingItem.last_action.set("claim"),
                    SightingItem.first_seen.set(SightingItem.first_seen | now_iso),
                    SightingItem.seen.add(1),
                ],
                label=label,
            )

    return apply


def query_worker(worker_id: str, status: str | None, **kwargs: Any) -> Any:
    cond = ClaimItem.GSI1SK.startswith(f"{status}#") if status else None
    return ClaimItem.gsi1.query(keys.worker_claims(worker_id), cond, scan_index_forward=False, **kwargs)


def query_task(task_id: str, status: str | None, **kwargs: Any) -> Any:
    cond = ClaimItem.GSI3SK.startswith(f"{status}#") if status else None
    return ClaimItem.gsi3.query(keys.task_claims(task_id), cond, scan_index_forward=False, **kwargs)


def due_claims(hour: str, until_iso: str, limit: int) -> list[ClaimItem]:
    return list(
        ClaimItem.gsi2.query(keys.due_bucket(hour), ClaimItem.GSI2SK <= f"{until_iso}#~", limit=limit, page_size=limit)
    )
