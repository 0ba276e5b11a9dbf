"""Tasks (`TASK#<id>`/`META`), their claims (`TASK#<id>`/`CLAIM#<id>`), the one-claim-per-worker guards
(`TASK#<id>`/`WORKER#<id>`), and the indexes they sit on.

Indexes (sparse: an item is on an index only while it has that index's attributes):
- task GSI1 `MERCHANT#<merchant>#TASKS` / `<status>#<created>#<id>` — the merchant's own lists (status filter);
- task GSI3 `REVIEW#TASK` / `<submitted>#<id>` — only while pending review (the admin queue);
- claim GSI1 `WORKER#<worker>#CLAIMS` / `<status>#<updated>#<id>` — a worker's claims (status filter);
- claim GSI2 `DUE#<yyyymmddhh>` / `<due iso>#<claim id>` — only while a deadline is pending (claim expiry,
  auto-accept); task GSI2 is the hall (see store/hall.py) and task deadlines (ends_at) use GSI3 `DUE#…` while
  published or paused, since a published task is never in the review queue.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)

from chalicelib.domain import durations as D
from chalicelib.store import keys
from chalicelib.store.base import Item


class TaskItem(Item, discriminator="task"):
    task_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    title = UnicodeAttribute()
    description = UnicodeAttribute()
    category = UnicodeAttribute()
    steps = ListAttribute(of=UnicodeAttribute)
    proof = JSONAttribute()  # {text?, images_min?, gps?: {lat, lng, radius_m}, order_no?}
    eligibility = JSONAttribute()  # {min_credit?, regions?, new_workers_only?, premium_pool?}
    reward_fen = NumberAttribute()
    slots = NumberAttribute()  # total slots ever funded
    claim_ttl_s = NumberAttribute()
    review_ttl_s = NumberAttribute()
    ends_at = UnicodeAttribute()
    status = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    submitted_at = UnicodeAttribute(null=True)
    published_at = UnicodeAttribute(null=True)
    closed_at = UnicodeAttribute(null=True)
    screen_rule = UnicodeAttribute(null=True)  # the content rule that rejected it
    review_reason = UnicodeAttribute(null=True)  # the admin's reason on rejection
    # Snapshotted at publish: never changed by later fee settings.
    fee_bps = NumberAttribute(null=True)
    unit_cost_fen = NumberAttribute(null=True)
    member_boost = BooleanAttribute(default=False)
    # Counters, changed in the same transactions as the claims they count.
    slots_left = NumberAttribute(default=0)  # free slots a worker may still claim
    open_claims = NumberAttribute(default=0)  # claims holding a slot (claimed, submitted, appealed)
    claimed_count = NumberAttribute(default=0)
    # Hot tasks (store/slot_shards.py): how many slot shards claims draw from (0: none), and how many free
    # slots the pool has handed to them since the last fold.
    slot_shards = NumberAttribute(default=0)
    parked = NumberAttribute(default=0)
    submitted_count = NumberAttribute(default=0)
    accepted_count = NumberAttribute(default=0)
    rejected_count = NumberAttribute(default=0)
    expired_count = NumberAttribute(default=0)
    abandoned_count = NumberAttribute(default=0)
    spent_fen = NumberAttribute(default=0)  # rewards + fees paid out of escrow
    submit_seconds_total = NumberAttribute(default=0)  # for the average time to submit
    # Time-to-submit histogram `st00` … `st14` (domain/durations.py), for the median; declared in a loop.
    locals().update({f"st{i:02d}": NumberAttribute(default=0) for i in range(D.BUCKETS)})
    # Task lifecycle (services/tasks.py): funding rounds so each escrow-fund transfer id is deterministic,
    # and the soft content-screen flags the desk should look at first.
    fund_seq = NumberAttribute(default=0)
    screen_flags = ListAttribute(of=UnicodeAttribute, null=True)


class ClaimItem(Item, discriminator="claim"):
    claim_id = UnicodeAttribute()
    task_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    worker_id = UnicodeAttribute()
    status = UnicodeAttribute()
    reward_fen = NumberAttribute()
    fee_fen = NumberAttribute()
    claimed_at = UnicodeAttribute()
    deadline_at = UnicodeAttribute(null=True)  # claim expiry while claimed; auto-accept while submitted
    submitted_at = UnicodeAttribute(null=True)
    settled_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()
    proof = JSONAttribute(null=True)  # {text?, image_keys?, location?, order_no?}
    device_hash = UnicodeAttribute(null=True)
    ip_hash = UnicodeAttribute(null=True)
    reject_reason = UnicodeAttribute(null=True)
    rating = NumberAttribute(null=True)  # merchant's rating of the worker
    merchant_rating = NumberAttribute(null=True)  # worker's rating of the merchant
    accepted_by = UnicodeAttribute(null=True)  # merchant | auto | dispute
    task_title = UnicodeAttribute(null=True)  # copied at claim time: statements and notifications need no task read


class WorkerGuard(Item, discriminator="claim_guard"):
    """One claim per worker per task, written in the claim transaction."""

    claim_id = UnicodeAttribute()


def get_task(task_id: str, *, consistent: bool = False) -> TaskItem | None:
    pk, sk = keys.task(task_id)
    try:
        return TaskItem.get(pk, sk, consistent_read=consistent)
    except TaskItem.DoesNotExist:
        return None


def get_claim(task_id: str, claim_id: str, *, consistent: bool = False) -> ClaimItem | None:
    pk, sk = keys.claim(task_id, claim_id)
    try:
        return ClaimItem.get(pk, sk, consistent_read=consistent)
    except ClaimItem.DoesNotExist:
        return None


def merchant_index_sk(status: str, created_at: str, task_id: str) -> str:
    return f"{status}#{created_at}#{task_id}"


def query_merchant_tasks(merchant_id: str, status: str | None, **kwargs: Any) -> Any:
    cond = Item.GSI1SK.startswith(f"{status}#") if status else None
    return TaskItem.gsi1.query(keys.merchant_tasks(merchant_id), cond, scan_index_forward=False, **kwargs)
