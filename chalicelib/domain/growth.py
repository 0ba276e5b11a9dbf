"""Growth rules, pure: the new-worker coupon, the first-task bonus and referral rewards as ledger transfers,
and the referral decision (paid, or withheld for linked accounts or the inviter's daily cap).

Every promotional fen is debited from `expense:promo` (docs/decisions/0120). Transfer ids come from the
business event and the person, never from the claim alone, so each reward can exist at most once per person
even before the once-markers in the store are consulted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from chalicelib.domain import ledger as L

SHANGHAI = ZoneInfo("Asia/Shanghai")
BPS = 10_000


class ReferralStatus(StrEnum):
    PENDING = "pending"  # registered with a code; the invitee has no accepted task yet
    PAID = "paid"  # both were paid
    WITHHELD = "withheld"  # not paid: the accounts look linked, or the inviter hit the daily cap


CAP_REASON = "cap"


def coupon_id(worker_id: str) -> str:
    return f"coupon:{worker_id}"


def unlock_id(worker_id: str) -> str:
    return f"bonus-unlock:{worker_id}"


def first_task_id(worker_id: str) -> str:
    return f"first-task:{worker_id}"


def referral_ids(invitee_id: str) -> tuple[str, str]:
    """(inviter's transfer, invitee's transfer) of one referral: keyed by the invitee, who is referred once."""
    return (f"referral:{invitee_id}:inviter", f"referral:{invitee_id}:invitee")


def first_task_bonus_fen(reward_fen: int, bps: int) -> int:
    """The first-task bonus: `bps` of the reward, rounded down to whole fen (0 for a tiny reward)."""
    if reward_fen <= 0 or bps <= 0:
        return 0
    return reward_fen * bps // BPS


def coupon(worker_id: str, amount_fen: int, *, unlocked: bool = False) -> L.Transfer:
    """The new-worker coupon, credited locked (`bonus:<worker>`): registering alone earns nothing spendable.

    `unlocked`: the worker's first task was accepted before the coupon was granted (the stream delivered the two
    out of order), so it goes straight to the wallet — one transfer, not a credit and an unlock of one account
    in one batch, whose two statement lines would share a timestamp."""
    return L.Transfer(
        id=coupon_id(worker_id),
        debit=L.EXPENSE_PROMO,
        credit=L.wallet(worker_id) if unlocked else L.bonus(worker_id),
        amount=amount_fen,
        code=L.Code.PROMO,
        memo="新人红包" if unlocked else "新人红包（完成首个任务后解锁）",
        meta={"promo": "coupon"},
    )


def unlock(worker_id: str, amount_fen: int, claim_id: str | None) -> L.Transfer:
    """The locked coupon moves to the wallet once the worker's first task is accepted."""
    meta = {"promo": "coupon"}
    if claim_id:
        meta["claim_id"] = claim_id
    return L.Transfer(
        id=unlock_id(worker_id),
        debit=L.bonus(worker_id),
        credit=L.wallet(worker_id),
        amount=amount_fen,
        code=L.Code.BONUS_UNLOCK,
        memo="新人红包解锁",
        meta=meta,
    )


def first_task_bonus(worker_id: str, amount_fen: int, claim_id: str) -> L.Transfer:
    return L.Transfer(
        id=first_task_id(worker_id),
        debit=L.EXPENSE_PROMO,
        credit=L.wallet(worker_id),
        amount=amount_fen,
        code=L.Code.PROMO,
        memo="首单奖励",
        meta={"promo": "first_task", "claim_id": claim_id},
    )


def referral_rewards(inviter_id: str, invitee_id: str, amount_fen: int) -> list[L.Transfer]:
    to_inviter, to_invitee = referral_ids(invitee_id)
    meta = {"promo": "referral", "inviter": inviter_id, "invitee": invitee_id}
    return [
        L.Transfer(
            id=to_inviter,
            debit=L.EXPENSE_PROMO,
            credit=L.wallet(inviter_id),
            amount=amount_fen,
            code=L.Code.PROMO,
            memo="邀请好友奖励",
            meta=meta,
        ),
        L.Transfer(
            id=to_invitee,
            debit=L.EXPENSE_PROMO,
            credit=L.wallet(invitee_id),
            amount=amount_fen,
            code=L.Code.PROMO,
            memo="受邀新人奖励",
            meta=meta,
        ),
    ]


@dataclass(frozen=True)
class ReferralDecision:
    status: ReferralStatus
    reasons: tuple[str, ...] = ()


def decide_referral(link_reasons: list[str]) -> ReferralDecision:
    """Linked accounts (same device, IP cluster, payout account, identity) are withheld; otherwise paid — the
    daily cap is the store's condition, so it is decided in the paying transaction itself."""
    if link_reasons:
        return ReferralDecision(ReferralStatus.WITHHELD, tuple(sorted(set(link_reasons))))
    return ReferralDecision(ReferralStatus.PAID)


def shanghai_day(at: datetime) -> str:
    return at.astimezone(SHANGHAI).date().isoformat()


def invite_link(base: str, code: str) -> str:
    return f"{base.rstrip('/')}/{code}"
