"""Slot shards of hot tasks (docs/decisions/0005-slot-shards.md): free slots parked beside the task item so
a claim rush writes to one of up to 10 shard items instead of all to the task item.

The task item stays the book of record. `slots_left` is its pool of free slots; `parked` counts slots moved
from the pool into shards. A claim takes a slot from a shard (`free - 1`) and counts itself on that shard
(`open_claims`, `claimed_count`); only a refill (pool → shards, in the same transaction as the claim that needed
it) touches the task item. Everything that closes or empties the task folds the shards back into the task item
in its own transaction (`fold_ops`), conditioned on the shard values it read, so after a fold the task item's
counters are exact again and `parked` is 0. Slots given back (abandon, expiry) and settlements go to the task
item as for any task: counters are sums, so a total is the task item's plus its shards'.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.store import keys, tx
from chalicelib.store.base import Item
from chalicelib.store.tasks import TaskItem

Op = Callable[[tx.Tx], None]


class SlotShard(Item, discriminator="slot_shard"):
    task_id = UnicodeAttribute()
    shard = NumberAttribute()
    free = NumberAttribute(default=0)
    open_claims = NumberAttribute(default=0)
    claimed_count = NumberAttribute(default=0)


@dataclass(frozen=True)
class Totals:
    """A task's counters with its shards folded in (what a reader should show)."""

    slots_left: int
    open_claims: int
    claimed_count: int


def load(task_id: str) -> tuple[TaskItem | None, list[SlotShard]]:
    """The task item and its shards in one strongly consistent Query (shards sort right after `META`)."""
    pk, prefix = keys.task_with_shards_prefix(task_id)
    task: TaskItem | None = None
    shards: list[SlotShard] = []
    for item in Item.query(pk, Item.SK.startswith(prefix), consistent_read=True):
        if isinstance(item, TaskItem):
            task = item
        elif isinstance(item, SlotShard):
            shards.append(item)
    return task, sorted(shards, key=lambda s: int(s.shard))


def totals(task: TaskItem, shards: list[SlotShard]) -> Totals:
    return Totals(
        slots_left=int(task.slots_left or 0) + sum(int(s.free or 0) for s in shards),
        open_claims=int(task.open_claims or 0) + sum(int(s.open_claims or 0) for s in shards),
        claimed_count=int(task.claimed_count or 0) + sum(int(s.claimed_count or 0) for s in shards),
    )


def _shard_key(task_id: str, shard: int) -> SlotShard:
    pk, sk = keys.task_slot_shard(task_id, shard)
    return SlotShard(PK=pk, SK=sk)


def _counting(task_id: str, shard: int) -> list:
    # A shard is created by its first refill's ADD: name its kind and owner in every write that may create it.
    return [SlotShard.kind.set(SlotShard), SlotShard.task_id.set(task_id), SlotShard.shard.set(shard)]


def take_op(task_id: str, shard: int) -> Op:
    """A claim's slot from `shard`: only while it has one."""

    def apply(t: tx.Tx) -> None:
        t.update(
            _shard_key(task_id, shard),
            [SlotShard.free.add(-1), SlotShard.open_claims.add(1), SlotShard.claimed_count.add(1)],
            label="shard",
            condition=SlotShard.free > 0,
        )

    return apply


def refill_ops(task: TaskItem, amounts: list[int], taker: int, *, published: str) -> Op:
    """Move `sum(amounts)` free slots from the task's pool into its shards, the claim's own slot taken from
    shard `taker` in the same write. Conditioned on the task still being published with the pool to give."""
    moved = sum(amounts)
    pk, sk = keys.task(task.task_id)

    def apply(t: tx.Tx) -> None:
        t.update(
            TaskItem(PK=pk, SK=sk),
            [TaskItem.slots_left.add(-moved), TaskItem.parked.add(moved)],
            label="task",
            condition=(TaskItem.status == published) & (TaskItem.slots_left >= moved),
        )
        for i, amount in enumerate(amounts):
            if i != taker and amount == 0:
                continue
            took = 1 if i == taker else 0
            # ADD 0 still creates the counter, so a fold can condition on every counter's value.
            actions = [
                *_counting(task.task_id, i),
                SlotShard.free.add(amount - took),
                SlotShard.open_claims.add(took),
                SlotShard.claimed_count.add(took),
            ]
            t.update(_shard_key(task.task_id, i), actions, label=f"shard:{i}")

    return apply


@dataclass(frozen=True)
class Fold:
    """What folding a task's shards back moves onto its task item."""

    free: int
    open_claims: int
    claimed_count: int
    op: Op

    @property
    def task_adds(self) -> dict[str, int]:
        """ADDs for the task item's update in the same transaction (`parked` is set to 0 by the caller)."""
        return {"slots_left": self.free, "open_claims": self.open_claims, "claimed_count": self.claimed_count}


def fold(task_id: str, shards: list[SlotShard]) -> Fold:
    """Zero every shard, conditioned on the values read: the caller's transaction adds them to the task item
    and sets `parked` to 0, so no slot or count is lost or counted twice if a claim moves a shard meanwhile."""
    live = [s for s in shards if int(s.free or 0) or int(s.open_claims or 0) or int(s.claimed_count or 0)]

    def apply(t: tx.Tx) -> None:
        for s in live:
            t.update(
                _shard_key(task_id, int(s.shard)),
                [SlotShard.free.set(0), SlotShard.open_claims.set(0), SlotShard.claimed_count.set(0)],
                label=f"fold:{int(s.shard)}",
                condition=(SlotShard.free == int(s.free or 0))
                & (SlotShard.open_claims == int(s.open_claims or 0))
                & (SlotShard.claimed_count == int(s.claimed_count or 0)),
            )

    return Fold(
        free=sum(int(s.free or 0) for s in live),
        open_claims=sum(int(s.open_claims or 0) for s in live),
        claimed_count=sum(int(s.claimed_count or 0) for s in live),
        op=apply,
    )
