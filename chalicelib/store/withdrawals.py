"""Withdrawals (`WDR#<id>`/`META`), their daily counters, payout-account claims and the sandbox payout state.

A pending withdrawal sits on GSI3 `WITHDRAWALS#PENDING` (sparse: removed when it settles), which is what the
payout poll reads — no scan, and settled withdrawals cost it nothing.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.store import keys, tx
from chalicelib.store.base import Item


class WithdrawalItem(Item, discriminator="withdrawal"):
    withdrawal_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    amount_fen = NumberAttribute()
    channel = UnicodeAttribute()
    status = UnicodeAttribute()  # pending | paid | failed
    account_masked = UnicodeAttribute()
    account_enc = UnicodeAttribute()
    account_hash = UnicodeAttribute()
    holder_masked = UnicodeAttribute()
    submitted = BooleanAttribute(default=False)
    provider_ref = UnicodeAttribute(null=True)
    failure_reason = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    settled_at = UnicodeAttribute(null=True)
    hold_reason = UnicodeAttribute(null=True)  # set by the risk engine: the poll leaves it alone


class DailyWithdrawals(Item, discriminator="withdrawal_day"):
    count = NumberAttribute(default=0)
    amount_fen = NumberAttribute(default=0)


class PayoutAccountClaim(Item, discriminator="payout_account_claim"):
    user_id = UnicodeAttribute()


class SandboxPayoutItem(Item, discriminator="sandbox_payout"):
    withdrawal_id = UnicodeAttribute()
    submitted = BooleanAttribute(default=False)
    amount_fen = NumberAttribute(null=True)
    fail_requested = BooleanAttribute(default=False)
    settled = UnicodeAttribute(null=True)


def new_item(**fields: Any) -> WithdrawalItem:
    pk, sk = keys.withdrawal(fields["withdrawal_id"])
    return WithdrawalItem(
        PK=pk,
        SK=sk,
        GSI1PK=keys.user_withdrawals(fields["user_id"]),
        GSI1SK=f"{fields['created_at']}#{fields['withdrawal_id']}",
        GSI3PK=keys.withdrawals_pending(),
        GSI3SK=f"{fields['created_at']}#{fields['withdrawal_id']}",
        status="pending",
        **fields,
    )


def request_ops(item: WithdrawalItem, *, day: str, max_count: int, max_fen: int) -> tuple[Any, Any, Any]:
    """The three items a new withdrawal writes with its ledger hold: itself, the day's counter (capped), and the
    payout account's claim (one account, one user)."""
    amount = int(item.amount_fen)

    def put_withdrawal(t: tx.Tx) -> None:
        t.put(item, label="wdr:new", condition=WithdrawalItem.PK.does_not_exist())

    def count_day(t: tx.Tx) -> None:
        pk, sk = keys.withdrawal_day(item.user_id, day)
        t.update(
            DailyWithdrawals(PK=pk, SK=sk),
            [
                DailyWithdrawals.count.add(1),
                DailyWithdrawals.amount_fen.add(amount),
                DailyWithdrawals.kind.set(DailyWithdrawals),
            ],
            label="wdr:day",
            condition=DailyWithdrawals.PK.does_not_exist()
            | ((DailyWithdrawals.count < max_count) & (DailyWithdrawals.amount_fen <= max_fen - amount)),
        )

    def claim_account(t: tx.Tx) -> None:
        pk, sk = keys.payout_account_claim(item.account_hash)
        t.put(
            PayoutAccountClaim(PK=pk, SK=sk, user_id=item.user_id),
            label="wdr:acct",
            condition=PayoutAccountClaim.PK.does_not_exist() | (PayoutAccountClaim.user_id == item.user_id),
        )

    return put_withdrawal, count_day, claim_account


def settle_op(withdrawal_id: str, status: str, at: str, *, provider_ref: str | None, reason: str | None) -> Any:
    pk, sk = keys.withdrawal(withdrawal_id)

    def apply(t: tx.Tx) -> None:
        actions = [
            WithdrawalItem.status.set(status),
            WithdrawalItem.settled_at.set(at),
            WithdrawalItem.GSI3PK.remove(),
            WithdrawalItem.GSI3SK.remove(),
        ]
        if provider_ref:
            actions.append(WithdrawalItem.provider_ref.set(provider_ref))
        if reason:
            actions.append(WithdrawalItem.failure_reason.set(reason))
        t.update(
            WithdrawalItem(PK=pk, SK=sk), actions, label="wdr:settle", condition=WithdrawalItem.status == "pending"
        )

    return apply


def mark_submitted(withdrawal_id: str, provider_ref: str | None) -> None:
    pk, sk = keys.withdrawal(withdrawal_id)
    actions = [WithdrawalItem.submitted.set(True)]
    if provider_ref:
        actions.append(WithdrawalItem.provider_ref.set(provider_ref))
    WithdrawalItem(PK=pk, SK=sk).update(actions=actions, condition=WithdrawalItem.PK.exists())


def get(withdrawal_id: str) -> WithdrawalItem | None:
    pk, sk = keys.withdrawal(withdrawal_id)
    try:
        return WithdrawalItem.get(pk, sk, consistent_read=True)
    except WithdrawalItem.DoesNotExist:
        return None


def query_for_user(user_id: str, **kwargs: Any) -> Any:
    return WithdrawalItem.gsi1.query(keys.user_withdrawals(user_id), scan_index_forward=False, **kwargs)


def pending(limit: int) -> list[WithdrawalItem]:
    """Oldest pending withdrawals first, at most `limit` (the poll continues next tick)."""
    return list(WithdrawalItem.gsi3.query(keys.withdrawals_pending(), limit=limit, page_size=limit))


class TableSandboxPayoutStore:
    """The sandbox payout provider's memory, in the table (the API and the pump are different processes)."""

    def load(self, withdrawal_id: str) -> Any:
        from chalicelib.adapters.payments.sandbox import SandboxTransfer

        pk, sk = keys.sandbox_payout(withdrawal_id)
        try:
            i = SandboxPayoutItem.get(pk, sk, consistent_read=True)
        except SandboxPayoutItem.DoesNotExist:
            return None
        return SandboxTransfer(
            withdrawal_id=i.withdrawal_id,
            submitted=bool(i.submitted),
            amount_fen=int(i.amount_fen) if i.amount_fen is not None else None,
            fail_requested=bool(i.fail_requested),
            settled=i.settled,  # type: ignore[arg-type]
        )

    def save(self, transfer: Any) -> None:
        pk, sk = keys.sandbox_payout(transfer.withdrawal_id)
        item = SandboxPayoutItem(
            PK=pk,
            SK=sk,
            withdrawal_id=transfer.withdrawal_id,
            submitted=transfer.submitted,
            amount_fen=transfer.amount_fen,
            fail_requested=transfer.fail_requested,
            settled=transfer.settled,
        )
        item.save()
