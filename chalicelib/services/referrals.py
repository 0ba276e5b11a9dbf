"""Referrals: a registration with an invite code is recorded (and counted for the inviter); when the invitee's
first task is accepted, inviter and invitee each get the referral reward from `expense:promo`, once — unless
the risk engine links the two accounts or the inviter hit the day's cap, then it is withheld and flagged
(docs/decisions/0122). Stream consumers on the user INSERT and on claims moving to `accepted`.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.adapters import clock
from chalicelib.adapters.log import logger
from chalicelib.config import settings
from chalicelib.domain import growth as G
from chalicelib.domain.errors import Conflict, Unauthorized
from chalicelib.domain.roles import Caller
from chalicelib.services import events, promotions, risk
from chalicelib.store import ledger as books
from chalicelib.store import referrals as store
from chalicelib.store import users as user_store

ROUNDS = 8


@dataclass(frozen=True)
class InviteView:
    code: str
    link: str
    invited_count: int
    earned_fen: int


def invite(caller: Caller) -> InviteView:
    """The caller's invite code and link, how many registered with it, and what the rewards paid them."""
    user = user_store.get_user(caller.id)
    if user is None:
        raise Unauthorized("TOKEN_INVALID", "登录凭证无效，请重新登录")
    stats = store.stats(caller.id)
    return InviteView(
        code=user.invite_code,
        link=G.invite_link(settings().invite_link_base, user.invite_code),
        invited_count=int(stats.invited_count or 0) if stats else 0,
        earned_fen=int(stats.earned_fen or 0) if stats else 0,
    )


def registered(invitee_id: str, inviter_id: str, code: str | None) -> bool:
    """Count a registration with an invite code once (False for a repeated delivery)."""
    if not inviter_id or inviter_id == invitee_id:
        return False
    return store.create_pending(invitee_id, inviter_id, code, books.iso(clock.now()))


def _withhold(
    current: store.ReferralItem | None, invitee_id: str, inviter_id: str, reasons: list[str], claim_id: str
) -> str:
    now = clock.now()
    if reasons == [G.CAP_REASON]:
        day = G.shanghai_day(now)
        risk.raise_flag(
            "referral_daily_cap",
            inviter_id,
            {"invitee": invitee_id, "day": day, "cap": settings().referral_daily_cap},
            cause=f"{inviter_id}:{day}",
            severity="low",
        )
    else:
        # Flag first: the flag is idempotent by its cause, the record is the once-guard, so a crash between
        # the two still ends with both after the redelivery.
        risk.raise_flag(
            "referral_linked_accounts",
            invitee_id,
            {"inviter": inviter_id, "reasons": reasons},
            cause=f"referral:{invitee_id}",
        )
    if not store.withhold(current, invitee_id, inviter_id, reasons=reasons, claim_id=claim_id, now_iso=books.iso(now)):
        return "moved"
    logger.info("referral withheld", extra={"user_id": invitee_id, "inviter_id": inviter_id, "reasons": reasons})
    return "withheld"


def first_task(invitee_id: str, claim_id: str) -> str:
    """Reward (or withhold) the referral of `invitee_id` at their first accepted task.

    Returns 'paid', 'withheld', 'duplicate' (already decided) or 'none' (registered without a code)."""
    for _ in range(ROUNDS):
        current = store.get(invitee_id)
        if current is not None and current.status != G.ReferralStatus.PENDING:
            return "duplicate"
        inviter_id: str | None
        if current is not None:
            inviter_id = current.inviter_id
        else:
            user = user_store.get_user(invitee_id, consistent=True)
            inviter_id = user.invited_by if user else None
        if not inviter_id or inviter_id == invitee_id:
            return "none"
        decision = G.decide_referral(risk.linked_accounts(inviter_id, invitee_id))
        if decision.status == G.ReferralStatus.WITHHELD:
            outcome = _withhold(current, invitee_id, inviter_id, list(decision.reasons), claim_id)
            if outcome == "moved":
                continue
            return outcome
        amount = settings().referral_reward_fen
        if amount <= 0:
            return "off"
        now = clock.now()
        extras = store.pay_extras(
            current,
            invitee_id,
            inviter_id,
            reward_fen=amount,
            day=G.shanghai_day(now),
            cap=settings().referral_daily_cap,
            claim_id=claim_id,
            now_iso=books.iso(now),
        )
        try:
            if books.post(G.referral_rewards(inviter_id, invitee_id, amount), extras=extras).replayed:
                return "duplicate"
        except store.CapReached:
            outcome = _withhold(current, invitee_id, inviter_id, [G.CAP_REASON], claim_id)
            if outcome == "moved":
                continue
            return outcome
        except store.RecordMoved:
            continue
        except Conflict as exc:
            if exc.code == "TRANSFER_ID_REUSED":
                continue
            raise
        logger.info("referral paid", extra={"user_id": invitee_id, "inviter_id": inviter_id, "amount_fen": amount})
        return "paid"
    raise Conflict("BUSY_RETRY", "系统繁忙，请稍后重试")


@events.on_change("user")
def on_user(change: events.Change) -> None:
    new = change.new or {}
    if change.event_name == "INSERT" and new.get("invited_by"):
        registered(str(new["user_id"]), str(new["invited_by"]), new.get("invited_with"))


@events.on_change("claim")
def on_claim(change: events.Change) -> None:
    if promotions.accepted_now(change):
        first_task(str((change.new or {})["worker_id"]), str((change.new or {})["claim_id"]))
