"""Once-markers of the worker promotions: the first-task marker (`USER#<id>`/`PROMO#FIRST_TASK`) and the
transaction pieces that tie it to the coupon and its unlock (docs/decisions/0121).

The coupon grant and the first-task transaction each condition on the other's outcome — the grant on the
marker's absence (locked) or presence (straight to the wallet), the first-task transaction on the
coupon transfer's absence when it unlocks nothing — so whichever commits second sees the first and the coupon
is unlocked exactly once, whatever order the stream delivers registration and first acceptance in.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.domain.errors import Conflict
from chalicelib.store import keys, tx
from chalicelib.store import ledger as books
from chalicelib.store.base import Item


class FirstTaskMarker(Item, discriminator="promo_first_task"):
    worker_id = UnicodeAttribute()
    claim_id = UnicodeAttribute()
    bonus_fen = NumberAttribute(default=0)
    unlocked_fen = NumberAttribute(default=0)
    created_at = UnicodeAttribute()


class Moved(Conflict):
    """A once-marker or the coupon changed between our read and our write: read again and decide again."""

    def __init__(self) -> None:
        super().__init__("PROMO_STATE_MOVED", "活动状态已变化，请稍后重试")


def first_task_marker(worker_id: str) -> FirstTaskMarker | None:
    pk, sk = keys.first_task_marker(worker_id)
    try:
        return FirstTaskMarker.get(pk, sk, consistent_read=True)
    except FirstTaskMarker.DoesNotExist:
        return None


def put_marker(worker_id: str, claim_id: str, bonus_fen: int, unlocked_fen: int, now_iso: str) -> books.Extra:
    """The first-task marker, written only if absent: one first task per worker, even if two accepts race."""
    pk, sk = keys.first_task_marker(worker_id)
    item = FirstTaskMarker(
        PK=pk,
        SK=sk,
        worker_id=worker_id,
        claim_id=claim_id,
        bonus_fen=bonus_fen,
        unlocked_fen=unlocked_fen,
        created_at=now_iso,
    )

    def apply(t: tx.Tx) -> None:
        t.put(item, label="promo-first", condition=FirstTaskMarker.PK.does_not_exist())

    return books.Extra(apply, "promo-first", Moved())


def marker_is(worker_id: str, *, present: bool) -> books.Extra:
    """A condition check on the marker (the coupon grant decides locked vs. unlocked on it)."""
    pk, sk = keys.first_task_marker(worker_id)
    cond = FirstTaskMarker.PK.exists() if present else FirstTaskMarker.PK.does_not_exist()

    def apply(t: tx.Tx) -> None:
        t.check(FirstTaskMarker, pk, sk, cond, label="promo-marker")

    return books.Extra(apply, "promo-marker", Moved())


def transfer_absent(transfer_id: str) -> books.Extra:
    """A condition check that a transfer (the coupon) does not exist yet."""
    pk, sk = keys.transfer(transfer_id)

    def apply(t: tx.Tx) -> None:
        t.check(books.TransferItem, pk, sk, books.TransferItem.PK.does_not_exist(), label="promo-nocoupon")

    return books.Extra(apply, "promo-nocoupon", Moved())


def commit_extras(extras: list[books.Extra]) -> None:
    """Commit once-markers and checks with no money in them (e.g. a first task whose bonus rounds to 0)."""

    def build() -> tx.Tx:
        t = tx.Tx()
        for extra in extras:
            extra.apply(t)
        return t

    try:
        tx.run(build, lambda t: t.commit())
    except tx.TxCancelled as cancelled:
        for extra in extras:
            if cancelled.failed_label(extra.label):
                raise extra.error from None
        raise
