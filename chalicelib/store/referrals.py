"""Referral records and counters (docs/decisions/0122).

- `USER#<invitee>`/`REFERRAL`: who invited this account and what became of it (pending → paid | withheld);
  its status condition is the once-guard of the reward.
- `USER#<inviter>`/`INVITE_STATS`: `invited_count` (bumped when the referral record is created) and
  `earned_fen` (bumped in the paying transaction), so `GET /v1/me/invite` is two GetItems, not a Query.
- `USER#<inviter>`/`REFDAY#<date>`: rewarded invitees that Asia/Shanghai day; the paying transaction adds one
  on the condition that the count is below the cap.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.expressions.condition import Condition

from chalicelib.domain import growth as G
from chalicelib.domain.errors import Conflict
from chalicelib.store import keys, tx
from chalicelib.store import ledger as books
from chalicelib.store.base import Item


class ReferralItem(Item, discriminator="referral"):
    invitee_id = UnicodeAttribute()
    inviter_id = UnicodeAttribute()
    code = UnicodeAttribute(null=True)
    status = UnicodeAttribute()  # pending | paid | withheld
    reasons = ListAttribute(of=UnicodeAttribute, null=True)  # why withheld: device, ip, …, cap
    reward_fen = NumberAttribute(null=True)
    claim_id = UnicodeAttribute(null=True)  # the invitee's first accepted claim
    created_at = UnicodeAttribute()
    decided_at = UnicodeAttribute(null=True)


class InviteStats(Item, discriminator="invite_stats"):
    invited_count = NumberAttribute(default=0)
    earned_fen = NumberAttribute(default=0)


class ReferralDay(Item, discriminator="referral_day"):
    rewarded = NumberAttribute(default=0)


class RecordMoved(Conflict):
    def __init__(self) -> None:
        super().__init__("REFERRAL_STATE_MOVED", "邀请记录状态已变化")


class CapReached(Conflict):
    def __init__(self) -> None:
        super().__init__("REFERRAL_DAILY_CAP", "今日邀请奖励已达上限")


def get(invitee_id: str) -> ReferralItem | None:
    pk, sk = keys.referral(invitee_id)
    try:
        return ReferralItem.get(pk, sk, consistent_read=True)
    except ReferralItem.DoesNotExist:
        return None


def stats(inviter_id: str) -> InviteStats | None:
    pk, sk = keys.invite_stats(inviter_id)
    try:
        return InviteStats.get(pk, sk)
    except InviteStats.DoesNotExist:
        return None


def _stats_add(t: tx.Tx, inviter_id: str, *, invited: int, earned: int) -> None:
    pk, sk = keys.invite_stats(inviter_id)
    actions: list[Any] = [InviteStats.kind.set(InviteStats)]
    if invited:
        actions.append(InviteStats.invited_count.add(invited))
    if earned:
        actions.append(InviteStats.earned_fen.add(earned))
    t.update(InviteStats(PK=pk, SK=sk), actions, label="ref-stats")


def create_pending(invitee_id: str, inviter_id: str, code: str | None, now_iso: str) -> bool:
    """Record a registration with an invite code and count it for the inviter; False if already recorded."""
    pk, sk = keys.referral(invitee_id)
    item = ReferralItem(
        PK=pk,
        SK=sk,
        invitee_id=invitee_id,
        inviter_id=inviter_id,
        code=code,
        status=G.ReferralStatus.PENDING,
        created_at=now_iso,
    )

    def build() -> tx.Tx:
        t = tx.Tx()
        t.put(item, label="ref-record", condition=ReferralItem.PK.does_not_exist())
        _stats_add(t, inviter_id, invited=1, earned=0)
        return t

    try:
        tx.run(build, lambda t: t.commit())
    except tx.TxCancelled as cancelled:
        if cancelled.failed_label("ref-record"):
            return False
        raise
    return True


def _decide(
    t: tx.Tx,
    current: ReferralItem | None,
    invitee_id: str,
    inviter_id: str,
    status: str,
    *,
    reasons: list[str] | None,
    reward_fen: int | None,
    claim_id: str,
    now_iso: str,
) -> None:
    """Move the record from pending (or from nothing, if the first acceptance is seen before the registration)."""
    pk, sk = keys.referral(invitee_id)
    if current is None:
        item = ReferralItem(
            PK=pk,
            SK=sk,
            invitee_id=invitee_id,
            inviter_id=inviter_id,
            status=status,
            reasons=reasons,
            reward_fen=reward_fen,
            claim_id=claim_id,
            created_at=now_iso,
            decided_at=now_iso,
        )
        t.put(item, label="ref-record", condition=ReferralItem.PK.does_not_exist())
        return
    actions: list[Any] = [
        ReferralItem.status.set(status),
        ReferralItem.claim_id.set(claim_id),
        ReferralItem.decided_at.set(now_iso),
    ]
    if reasons:
        actions.append(ReferralItem.reasons.set(reasons))  # type: ignore[arg-type]  # pynamodb stubs: list of str
    if reward_fen is not None:
        actions.append(ReferralItem.reward_fen.set(reward_fen))
    cond: Condition = ReferralItem.status == G.ReferralStatus.PENDING
    t.update(ReferralItem(PK=pk, SK=sk), actions, label="ref-record", condition=cond)


def pay_extras(
    current: ReferralItem | None,
    invitee_id: str,
    inviter_id: str,
    *,
    reward_fen: int,
    day: str,
    cap: int,
    claim_id: str,
    now_iso: str,
) -> list[books.Extra]:
    """What the paying ledger transaction changes besides money: the record, the inviter's stats, the day cap."""

    def record(t: tx.Tx) -> None:
        _decide(
            t,
            current,
            invitee_id,
            inviter_id,
            G.ReferralStatus.PAID,
            reasons=None,
            reward_fen=reward_fen,
            claim_id=claim_id,
            now_iso=now_iso,
        )
        _stats_add(t, inviter_id, invited=1 if current is None else 0, earned=reward_fen)

    dpk, dsk = keys.referral_day(inviter_id, day)

    def day_cap(t: tx.Tx) -> None:
        cond = ReferralDay.rewarded.does_not_exist() | (ReferralDay.rewarded < cap)
        t.update(
            ReferralDay(PK=dpk, SK=dsk),
            [ReferralDay.rewarded.add(1), ReferralDay.kind.set(ReferralDay)],
            label="ref-day",
            condition=cond,
        )

    return [books.Extra(record, "ref-record", RecordMoved()), books.Extra(day_cap, "ref-day", CapReached())]


def withhold(
    current: ReferralItem | None,
    invitee_id: str,
    inviter_id: str,
    *,
    reasons: list[str],
    claim_id: str,
    now_iso: str,
) -> bool:
    """Record a withheld referral (no money moves); False if the record was decided meanwhile."""

    def build() -> tx.Tx:
        t = tx.Tx()
        _decide(
            t,
            current,
            invitee_id,
            inviter_id,
            G.ReferralStatus.WITHHELD,
            reasons=reasons,
            reward_fen=None,
            claim_id=claim_id,
            now_iso=now_iso,
        )
        if current is None:
            _stats_add(t, inviter_id, invited=1, earned=0)
        return t

    try:
        tx.run(build, lambda t: t.commit())
    except tx.TxCancelled as cancelled:
        if cancelled.failed_label("ref-record"):
            return False
        raise
    return True
