"""Promoted (置顶) tasks: a merchant pays a fixed price from the wallet to `revenue:promotion` to pin a published
task at the top of its category in the hall for 24 hours of stage time (paying again extends from the current
end); the hall reads the pins (`pinned_entries`) and shows them first on a category's first page."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.adapters import clock
from chalicelib.adapters.log import logger
from chalicelib.domain import ledger as L
from chalicelib.domain import tasks as T
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.roles import Caller
from chalicelib.store import hall as hall_store
from chalicelib.store import ledger as books
from chalicelib.store import promoted as store
from chalicelib.store import tasks as task_store

PIN_FOR = timedelta(hours=24)
DEFAULT_PRICE_FEN = 2_000
MAX_PINS_SHOWN = 3  # per category page: a few pins, so paid placement does not crowd out the hall
MAX_PINS_PER_CATEGORY = 10  # running pins one category sells at a time (the board item stays small)
MAX_ROUNDS = 16


def price_fen() -> int:
    """Per stage through `PROMOTION_PRICE_FEN`."""
    return int(os.environ.get("PROMOTION_PRICE_FEN", DEFAULT_PRICE_FEN))


def _parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Promotion:
    task_id: str
    category: str
    pinned_from: str
    pinned_until: str
    price_fen: int
    times: int


def _not_listed() -> Conflict:
    return Conflict("TASK_NOT_LISTED", "只有上架中的任务可以置顶")


def promote(caller: Caller, task_id: str) -> Promotion:
    """Pin the caller's published task for 24 h (from the current pin's end if one is running): the payment and
    the pin in one ledger transaction, conditional on the task still being published."""
    task = task_store.get_task(task_id, consistent=True)
    if task is None or task.merchant_id != caller.id:
        raise NotFound("TASK_NOT_FOUND", "任务不存在")
    if task.status != T.TaskStatus.PUBLISHED:
        raise _not_listed()
    amount = price_fen()
    raced = Conflict("PROMOTION_BUSY", "置顶状态已变化，请重试")
    for _ in range(MAX_ROUNDS):
        now = clock.now()
        now_iso = books.iso(now)
        current = store.get(task_id)
        seq = int(current.seq) + 1 if current else 1
        running = current is not None and current.pinned_until > now_iso
        start = _parse(current.pinned_until) if current is not None and running else now
        if books.iso(start) >= task.ends_at:
            raise Conflict("TASK_ENDING", "任务在置顶开始前就会结束，无需置顶")
        until = books.iso(start + PIN_FOR)
        pins, version = store.board(task.category, consistent=True)
        pins = {tid: end for tid, end in pins.items() if end > now_iso}
        if task_id not in pins and len(pins) >= MAX_PINS_PER_CATEGORY:
            raise Conflict("PROMOTION_SLOTS_FULL", "该类型的置顶位已满，请稍后再试")
        pins[task_id] = until
        transfer = L.Transfer(
            id=f"promotion:{task_id}:{seq}",
            debit=L.wallet(caller.id),
            credit=L.REVENUE_PROMOTION,
            amount=amount,
            code=L.Code.PROMOTION,
            memo=f"任务置顶：{task.title}"[:80],
            meta={"task_id": task_id, "seq": str(seq)},
        )
        ops = store.pin_ops(current, task=task, seq=seq, until=until, pins=pins, version=version, now_iso=now_iso)
        extras = [
            books.Extra(ops["promo_pin"], "promo_pin", raced),
            books.Extra(ops["promo_board"], "promo_board", raced),
            books.Extra(ops["promo_task"], "promo_task", _not_listed()),
        ]
        try:
            posted = books.post([transfer], extras=extras)
        except Conflict as err:
            if err.code in ("PROMOTION_BUSY", "TRANSFER_ID_REUSED"):
                continue  # another pin of this task or this category landed first: rebuild on it
            raise
        if posted.replayed:  # a concurrent purchase paid pin `seq` first: extend from its end
            continue
        logger.info("task promoted", extra={"task_id": task_id, "seq": seq, "amount_fen": amount})
        return Promotion(task_id, task.category, books.iso(start), until, amount, seq)
    raise raced


def pinned_entries(category: str, now_iso: str) -> list[hall_store.HallEntry]:
    """A category's running pins as hall entries built from the tasks' current state, the pin ending soonest
    first (one GetItem and, when there are pins, one BatchGetItem); tasks no longer listed are left out. The hall
    filters them like any entry."""
    pins, _ = store.board(category)
    running = sorted((until, task_id) for task_id, until in pins.items() if until > now_iso)
    found = store.tasks([task_id for _, task_id in running])
    out = []
    for _, task_id in running:
        task = found.get(task_id)
        if task is None:
            continue
        listed = hall_store.HallTask.from_item(task)
        if listed.listable:
            out.append(hall_store.entries(listed)[0])
    return out
