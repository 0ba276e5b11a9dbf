"""A task completes when every slot has been settled: no free slot left and no claim still holding escrow.

Driven by the stream (the task item's counters change in the settlement transactions), so settlement itself
stays one transaction; closing is conditional on the counters it saw, so a racing abandon or a second
delivery of the record changes nothing.
"""

from __future__ import annotations

from chalicelib.adapters.log import logger
from chalicelib.domain import tasks as T
from chalicelib.services import events

LIVE = (T.TaskStatus.PUBLISHED, T.TaskStatus.PAUSED)


def _all_settled(image: dict) -> bool:
    return (
        image.get("status") in LIVE
        and int(image.get("slots_left", 0) or 0) == 0
        and int(image.get("open_claims", 0) or 0) == 0
        and int(image.get("parked", 0) or 0) == 0  # a hot task's shards are folded back (store/slot_shards.py)
        and int(image.get("accepted_count", 0) or 0) > 0
    )


@events.on_change("task")
def on_task(change: events.Change) -> None:
    if change.event_name != "MODIFY" or not change.new or not _all_settled(change.new):
        return
    from chalicelib.services import tasks
    from chalicelib.store import tasks as task_store

    task_id = str(change.new["task_id"])
    task = task_store.get_task(task_id, consistent=True)
    if task is None or not _all_settled(task.attribute_values):
        return
    if tasks._close(task, "complete", reason="任务完成") is not None:
        logger.info("task completed", extra={"task_id": task_id})


@events.on_change("slot_shard")
def on_slot_shard(change: events.Change) -> None:
    """A hot task's shard ran dry: if the pool and every shard are empty, fold them back into the task item so
    the hall takes the task out and, once every claim settles, it completes."""
    new, old = change.new or {}, change.old or {}
    if change.event_name != "MODIFY" or int(new.get("free", 0) or 0) != 0 or int(old.get("free", 0) or 0) == 0:
        return
    from chalicelib.services import tasks

    tasks.fold_dry_shards(str(new["task_id"]))
