"""The deadline sweep (every minute): claims whose time ran out, submissions nobody reviewed, appeal windows
that closed, tasks past their end, disputes whose respondent stayed silent — read from the sparse deadline
index, never by scanning.

Deadlines live in hour buckets (`DUE#<yyyymmddhh>`, GSI2 for claims and disputes, GSI3 for tasks). A watermark remembers
the oldest bucket that may still hold work; buckets before it are empty. Each run handles at most
`MAX_ITEMS` items and looks at most `MAX_BUCKETS` buckets, and continues on the next tick. Every action is
conditional on the item's current state, so running twice — or racing a user — does nothing twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.adapters import clock
from chalicelib.adapters.log import logger
from chalicelib.domain import tasks as T
from chalicelib.domain.errors import Conflict
from chalicelib.store import claims as claim_store
from chalicelib.store import disputes as dispute_store
from chalicelib.store import sweep as sweep_store

MAX_ITEMS = 200
MAX_BUCKETS = 240
# The first run of a stage starts one hour back: the schedule runs from deployment on, before any deadline
# can exist. (Tests, whose clock jumps, seed the watermark when they create their stack.)
FIRST_LOOKBACK = timedelta(hours=1)


def _hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def sweep_deadlines(now: datetime | None = None) -> dict[str, int]:
    from chalicelib.store.ledger import iso

    now = now or clock.now()
    now_iso = iso(now)
    current = _hour(now)
    hour = sweep_store.watermark() or (current - FIRST_LOOKBACK)
    counts = {
        "expired": 0,
        "auto_accepted": 0,
        "appeals_closed": 0,
        "tasks_ended": 0,
        "disputes_auto_resolved": 0,
        "disputes_escalated": 0,
        "skipped": 0,
        "buckets": 0,
    }
    budget = MAX_ITEMS
    contiguous = True  # every bucket before `hour` is empty: the watermark may move up to it
    while hour <= current and counts["buckets"] < MAX_BUCKETS and budget > 0:
        counts["buckets"] += 1
        bucket = hour.strftime("%Y%m%d%H")
        skipped_before = counts["skipped"]
        claims = claim_store.due_claims(bucket, now_iso, budget)
        for c in claims:
            budget -= 1
            _handle_claim(c, counts)
        tasks = sweep_store.due_tasks(bucket, now_iso, budget) if budget > 0 else []
        for task_id in tasks:
            budget -= 1
            _handle_task(task_id, now, counts)
        cases = dispute_store.due_disputes(bucket, now_iso, budget) if budget > 0 else []
        for case in cases:
            budget -= 1
            _handle_dispute(case, now, counts)
        # A past bucket is empty once everything read from it was handled and nothing was cut off by the
        # budget; only then (or after a look, when something was skipped) may the watermark pass it.
        settled = budget > 0 and counts["skipped"] == skipped_before
        if contiguous and hour < current and (settled or not sweep_store.bucket_has_items(bucket)):
            sweep_store.advance_watermark(hour + timedelta(hours=1))
        else:
            contiguous = False
        hour += timedelta(hours=1)
    if any(n for k, n in counts.items() if k not in ("skipped", "buckets")):
        logger.info("deadline sweep", extra=counts)
    return counts


def _handle_claim(c: claim_store.ClaimItem, counts: dict[str, int]) -> None:
    from chalicelib.services import claims

    try:
        if c.status == T.ClaimStatus.CLAIMED:
            counts["expired" if claims.expire(c) else "skipped"] += 1
        elif c.status == T.ClaimStatus.SUBMITTED:
            claims.accept(None, c.claim_id, by="auto")
            counts["auto_accepted"] += 1
        elif c.status == T.ClaimStatus.REJECTED:
            counts["appeals_closed" if claims.close_appeal_window(c) else "skipped"] += 1
        else:
            counts["skipped"] += 1
    except Conflict:
        counts["skipped"] += 1  # a user or another run changed it first


def _handle_task(task_id: str, now: datetime, counts: dict[str, int]) -> None:
    from chalicelib.services import tasks

    try:
        tasks.end_task(task_id, now)
        counts["tasks_ended"] += 1
    except Conflict:
        counts["skipped"] += 1


def _handle_dispute(case: dispute_store.DisputeItem, now: datetime, counts: dict[str, int]) -> None:
    from chalicelib.services import disputes

    try:
        done = disputes.handle_due(case, now)
    except Conflict:
        done = "skipped"  # an answer or the desk got there first
    counts[{"auto_resolved": "disputes_auto_resolved", "escalated": "disputes_escalated"}.get(done, "skipped")] += 1
