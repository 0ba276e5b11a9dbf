"""Deposits (`DEP#<id>`/`META`; a user's history on GSI1 `USER#<id>#DEPOSITS`)."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.store import keys, tx
from chalicelib.store.base import Item


class DepositItem(Item, discriminator="deposit"):
    deposit_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    amount_fen = NumberAttribute()
    channel = UnicodeAttribute()
    status = UnicodeAttribute()  # pending | paid | failed
    provider_trade_no = UnicodeAttribute(null=True)
    failure_reason = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    paid_at = UnicodeAttribute(null=True)


def create(deposit_id: str, user_id: str, amount_fen: int, channel: str, created_at: str) -> DepositItem:
    pk, sk = keys.deposit(deposit_id)
    item = DepositItem(
        PK=pk,
        SK=sk,
        deposit_id=deposit_id,
        user_id=user_id,
        amount_fen=amount_fen,
        channel=channel,
        status="pending",
        created_at=created_at,
        GSI1PK=keys.user_deposits(user_id),
        GSI1SK=f"{created_at}#{deposit_id}",
    )
    item.save(condition=DepositItem.PK.does_not_exist())
    return item


def get(deposit_id: str) -> DepositItem | None:
    pk, sk = keys.deposit(deposit_id)
    try:
        return DepositItem.get(pk, sk, consistent_read=True)
    except DepositItem.DoesNotExist:
        return None


def mark_paid_op(deposit_id: str, trade_no: str, paid_at: str) -> Any:
    """The deposit's move to `paid`, for the ledger transaction that credits it (pending or failed → paid)."""
    pk, sk = keys.deposit(deposit_id)

    def apply(t: tx.Tx) -> None:
        t.update(
            DepositItem(PK=pk, SK=sk),
            [
                DepositItem.status.set("paid"),
                DepositItem.provider_trade_no.set(trade_no),
                DepositItem.paid_at.set(paid_at),
                DepositItem.failure_reason.remove(),
            ],
            label="deposit:",
            condition=DepositItem.status.is_in("pending", "failed"),
        )

    return apply


def mark_failed(deposit_id: str, reason: str) -> bool:
    """pending → failed; False if the deposit is no longer pending (paid stays paid)."""
    from pynamodb.exceptions import UpdateError

    pk, sk = keys.deposit(deposit_id)
    try:
        DepositItem(PK=pk, SK=sk).update(
            actions=[DepositItem.status.set("failed"), DepositItem.failure_reason.set(reason)],
            condition=DepositItem.status == "pending",
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def query_for_user(user_id: str, **kwargs: Any) -> Any:
    return DepositItem.gsi1.query(keys.user_deposits(user_id), scan_index_forward=False, **kwargs)
