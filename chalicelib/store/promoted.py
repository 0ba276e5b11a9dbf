"""Promoted (置顶) tasks: one item per promoted task (`TASK#<id>`/`PROMOTION`: how many pins were paid, until
when) and one pin board per category (`PINS#<category>`/`BOARD`: running pins, task id → until) that the hall
reads with one GetItem (docs/decisions/0132-promoted-tasks.md)."""

from __future__ import annotations

from collections.abc import Callable

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.store import keys, tx
from chalicelib.store.base import Item
from chalicelib.store.tasks import TaskItem


class PromotionItem(Item, discriminator="task_promotion"):
    task_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    category = UnicodeAttribute()
    seq = NumberAttribute()  # pins paid so far
    pinned_until = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class BoardItem(Item, discriminator="pin_board"):
    category = UnicodeAttribute()
    pins = JSONAttribute()  # {task_id: pinned_until}, running pins only (ended ones are dropped on each write)
    version = NumberAttribute()
    updated_at = UnicodeAttribute()


def get(task_id: str) -> PromotionItem | None:
    pk, sk = keys.promotion(task_id)
    try:
        return PromotionItem.get(pk, sk, consistent_read=True)
    except PromotionItem.DoesNotExist:
        return None


def board(category: str, *, consistent: bool = False) -> tuple[dict[str, str], int]:
    """The category's pins (task id → until, ended ones included until the next write) and the board's version."""
    pk, sk = keys.pin_board(category)
    try:
        item = BoardItem.get(pk, sk, consistent_read=consistent)
    except BoardItem.DoesNotExist:
        return {}, 0
    return {str(k): str(v) for k, v in dict(item.pins or {}).items()}, int(item.version)


def tasks(task_ids: list[str]) -> dict[str, TaskItem]:
    """The pinned tasks themselves (current slots and status), one BatchGetItem."""
    if not task_ids:
        return {}
    return {t.task_id: t for t in TaskItem.batch_get([keys.task(i) for i in dict.fromkeys(task_ids)])}


def pin_ops(
    current: PromotionItem | None,
    *,
    task: TaskItem,
    seq: int,
    until: str,
    pins: dict[str, str],
    version: int,
    now_iso: str,
) -> dict[str, Callable[[tx.Tx], None]]:
    """For the payment's transaction, by label: the task's pin (conditional on the `seq` read), the category's
    board with `pins` (conditional on its version), and a check that the task is still published."""
    pk, sk = keys.promotion(task.task_id)
    item = PromotionItem(
        PK=pk,
        SK=sk,
        task_id=task.task_id,
        merchant_id=task.merchant_id,
        category=task.category,
        seq=seq,
        pinned_until=until,
        updated_at=now_iso,
    )
    unchanged = PromotionItem.PK.does_not_exist() if current is None else PromotionItem.seq == int(current.seq)
    bpk, bsk = keys.pin_board(task.category)
    board_item = BoardItem(PK=bpk, SK=bsk, category=task.category, pins=pins, version=version + 1, updated_at=now_iso)
    same_board = BoardItem.PK.does_not_exist() if version == 0 else BoardItem.version == version
    tpk, tsk = keys.task(task.task_id)
    return {
        "promo_pin": lambda t: t.put(item, label="promo_pin", condition=unchanged),
        "promo_board": lambda t: t.put(board_item, label="promo_board", condition=same_board),
        "promo_task": lambda t: t.check(TaskItem, tpk, tsk, TaskItem.status == "published", label="promo_task"),
    }
