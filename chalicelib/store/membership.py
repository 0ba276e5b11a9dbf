"""Merchant membership items: the current state beside the profile (`USER#<id>`/`MEMBERSHIP`, on a sparse GSI1 of
active memberships by end) and one history line per paid period (docs/decisions/0131-merchant-membership.md)."""

from __future__ import annotations

from collections.abc import Callable

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.store import keys, tx
from chalicelib.store.base import Item


class MembershipItem(Item, discriminator="membership"):
    merchant_id = UnicodeAttribute()
    plan = UnicodeAttribute()
    seq = NumberAttribute()  # periods paid so far
    active_until = UnicodeAttribute()
    status = UnicodeAttribute()  # active | expired (the expiry job's tidy-up; `active_until` is the authority)
    updated_at = UnicodeAttribute()


class PeriodItem(Item, discriminator="membership_period"):
    merchant_id = UnicodeAttribute()
    seq = NumberAttribute()
    plan = UnicodeAttribute()
    starts_at = UnicodeAttribute()
    ends_at = UnicodeAttribute()
    amount_fen = NumberAttribute()
    transfer_id = UnicodeAttribute()
    paid_at = UnicodeAttribute()


def get(merchant_id: str) -> MembershipItem | None:
    pk, sk = keys.membership(merchant_id)
    try:
        return MembershipItem.get(pk, sk, consistent_read=True)
    except MembershipItem.DoesNotExist:
        return None


def active_until(merchant_id: str) -> str | None:
    """The end of the paid membership (past or future), or None for a merchant who never paid: one GetItem."""
    item = get(merchant_id)
    return item.active_until if item is not None else None


def history(merchant_id: str, limit: int) -> list[PeriodItem]:
    pk, prefix = keys.membership_period_prefix(merchant_id)
    return list(PeriodItem.query(pk, PeriodItem.SK.startswith(prefix), scan_index_forward=False, limit=limit))


def new_period(
    merchant_id: str,
    seq: int,
    plan: str,
    *,
    starts_at: str,
    ends_at: str,
    amount_fen: int,
    transfer_id: str,
    paid_at: str,
) -> PeriodItem:
    pk, sk = keys.membership_period(merchant_id, seq)
    return PeriodItem(
        PK=pk,
        SK=sk,
        merchant_id=merchant_id,
        seq=seq,
        plan=plan,
        starts_at=starts_at,
        ends_at=ends_at,
        amount_fen=amount_fen,
        transfer_id=transfer_id,
        paid_at=paid_at,
    )


def purchase_op(current: MembershipItem | None, period: PeriodItem, *, now_iso: str) -> Callable[[tx.Tx], None]:
    """The membership moved to the new period and its history line, for the payment's transaction; conditional on
    the state read (`seq`), so two purchases never extend from the same end."""
    pk, sk = keys.membership(period.merchant_id)
    item = MembershipItem(
        PK=pk,
        SK=sk,
        merchant_id=period.merchant_id,
        plan=period.plan,
        seq=int(period.seq),
        active_until=period.ends_at,
        status="active",
        updated_at=now_iso,
        GSI1PK=keys.memberships_expiring(),
        GSI1SK=f"{period.ends_at}#{period.merchant_id}",
    )
    unchanged = MembershipItem.PK.does_not_exist() if current is None else MembershipItem.seq == int(current.seq)

    def apply(t: tx.Tx) -> None:
        t.put(item, label="membership", condition=unchanged)
        t.put(period, label="membership:period", condition=PeriodItem.PK.does_not_exist())

    return apply


def ended(now_iso: str, limit: int) -> list[MembershipItem]:
    """Memberships still marked active whose end has passed (the sparse index holds active ones only)."""
    return list(
        MembershipItem.gsi1.query(
            keys.memberships_expiring(), MembershipItem.GSI1SK < now_iso, limit=limit, page_size=limit
        )
    )


def mark_expired(item: MembershipItem, now_iso: str) -> bool:
    """Take an ended membership off the active index, unless a renewal moved its end meanwhile."""
    from pynamodb.exceptions import UpdateError

    try:
        item.update(
            actions=[
                MembershipItem.status.set("expired"),
                MembershipItem.updated_at.set(now_iso),
                MembershipItem.GSI1PK.remove(),
                MembershipItem.GSI1SK.remove(),
            ],
            condition=MembershipItem.active_until == item.active_until,
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
