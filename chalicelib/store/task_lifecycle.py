"""Writing a task through its lifecycle: new drafts, conditional status changes with their index attributes,
the desk's review queue, the task-end deadline index, and the desk's per-category fee rates.

Index attributes move with the status, in the same update (docs/decisions/0060-task-lifecycle-and-escrow.md):
- GSI1 `MERCHANT#<id>#TASKS` / `<status>#<created>#<id>` always (the merchant's lists by status);
- GSI3 `REVIEW#TASK` / `<submitted>#<id>` only while pending review;
- GSI3 `DUE#<yyyymmddhh of ends_at>` / `<ends_at>#<id>` only while published or paused (the deadline sweep,
  services/sweep.py, ends the task at `ends_at`; a task is never in review and live at once, so one index
  serves both).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pynamodb.attributes import JSONAttribute, UnicodeAttribute
from pynamodb.expressions.condition import Condition

from chalicelib.domain.errors import Conflict
from chalicelib.store import keys, tx
from chalicelib.store.base import Item
from chalicelib.store.tasks import TaskItem, merchant_index_sk

Op = Callable[[tx.Tx], None]


def new_item(task_id: str, merchant_id: str, created_iso: str, **fields: Any) -> TaskItem:
    pk, sk = keys.task(task_id)
    return TaskItem(
        PK=pk,
        SK=sk,
        task_id=task_id,
        merchant_id=merchant_id,
        status="draft",
        created_at=created_iso,
        updated_at=created_iso,
        GSI1PK=keys.merchant_tasks(merchant_id),
        GSI1SK=merchant_index_sk("draft", created_iso, task_id),
        **fields,
    )


def create(item: TaskItem) -> None:
    item.save(condition=TaskItem.PK.does_not_exist())


def change_ops(
    task: TaskItem,
    new_status: str,
    *,
    allowed: Iterable[str],
    now_iso: str,
    sets: dict[str, Any] | None = None,
    adds: dict[str, int] | None = None,
    condition: Condition | None = None,
    label: str = "task",
) -> Op:
    """Move `task` to `new_status` only while it is still in one of `allowed` (and `condition` holds).

    `sets` maps attribute names to values; None removes the attribute. The merchant-list sort key follows the
    status. Review-queue and deadline index attributes are given in `sets` by the caller (see `review_index`,
    `due_index`, `NO_GSI3`).
    """
    pk, sk = keys.task(task.task_id)
    cond = TaskItem.status.is_in(*allowed)
    if condition is not None:
        cond = cond & condition

    def apply(t: tx.Tx) -> None:
        actions: list[Any] = [
            TaskItem.status.set(new_status),
            TaskItem.updated_at.set(now_iso),
            TaskItem.GSI1SK.set(merchant_index_sk(new_status, task.created_at, task.task_id)),
        ]
        for name, value in (sets or {}).items():
            attr = getattr(TaskItem, name)
            actions.append(attr.remove() if value is None else attr.set(value))
        for name, value in (adds or {}).items():
            actions.append(getattr(TaskItem, name).add(value))
        t.update(TaskItem(PK=pk, SK=sk), actions, label=label, condition=cond)

    return apply


NO_GSI3: dict[str, Any] = {"GSI3PK": None, "GSI3SK": None}


def review_index(submitted_iso: str, task_id: str) -> dict[str, Any]:
    pk, sk = keys.task_in_review(submitted_iso, task_id)
    return {"GSI3PK": pk, "GSI3SK": sk}


def due_index(ends_at_iso: str, task_id: str) -> dict[str, Any]:
    pk, sk = keys.task_due(ends_at_iso, task_id)
    return {"GSI3PK": pk, "GSI3SK": sk}


def commit(ops: list[Op], errors: dict[str, Conflict]) -> None:
    """Commit `ops` in one transaction; a failed condition raises the error given for its label."""

    def build() -> tx.Tx:
        t = tx.Tx()
        for op in ops:
            op(t)
        return t

    try:
        tx.run(build, lambda t: t.commit())
    except tx.TxCancelled as exc:
        for label, error in errors.items():
            if exc.failed_label(label):
                raise error from None
        raise


def update_fields(task: TaskItem, sets: dict[str, Any], *, allowed: Iterable[str], now_iso: str) -> None:
    """Edit a draft: new field values, back to `draft`, only if nobody changed it since it was read."""
    op = change_ops(task, "draft", allowed=allowed, now_iso=now_iso, sets=sets, condition=_unchanged(task))
    commit([op], {"task": _modified()})


def _unchanged(task: TaskItem) -> Condition:
    return TaskItem.updated_at == task.updated_at


def _modified() -> Conflict:
    return Conflict("TASK_STATE_CONFLICT", "任务已被修改或状态已变化，请刷新后重试")


# ---------------------------------------------------------------- queries


def review_queue(**kwargs: Any) -> Any:
    """Tasks waiting for the desk, oldest submission first (pass limit / page_size / last_evaluated_key)."""
    return TaskItem.gsi3.query(keys.task_review_queue(), scan_index_forward=True, **kwargs)


# ---------------------------------------------------------------- fee rates


class FeeSettings(Item, discriminator="fee_settings"):
    """The desk's per-category fee rates in basis points (`SYS#SETTINGS`/`FEES`); absent categories pay the default."""

    category_bps = JSONAttribute(default=dict)
    updated_at = UnicodeAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)


def fee_settings() -> dict[str, int]:
    pk, sk = keys.fee_settings()
    try:
        item = FeeSettings.get(pk, sk, consistent_read=True)
    except FeeSettings.DoesNotExist:
        return {}
    return {str(k): int(v) for k, v in (item.category_bps or {}).items()}


def save_fee_settings(category_bps: dict[str, int], *, now_iso: str, actor_id: str, audit_op: Op) -> None:
    pk, sk = keys.fee_settings()
    item = FeeSettings(PK=pk, SK=sk, category_bps=category_bps, updated_at=now_iso, updated_by=actor_id)

    def put(t: tx.Tx) -> None:
        t.put(item, label="fees")

    commit([put, audit_op], {})
