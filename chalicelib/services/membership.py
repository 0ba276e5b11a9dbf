"""Merchant membership: buy or extend a monthly plan from the wallet (one ledger transaction to
`revenue:membership`), the merchant's status and history, and the expiry job. While active a merchant's newly
published tasks snapshot the member fee (200 bps) and the hall boost (services/tasks.py `_is_member`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from chalicelib.adapters import clock
from chalicelib.adapters.log import logger
from chalicelib.domain import ledger as L
from chalicelib.domain import membership as M
from chalicelib.domain import tasks as T
from chalicelib.domain.errors import Conflict, Invalid
from chalicelib.domain.roles import Caller
from chalicelib.services import events
from chalicelib.store import ledger as books
from chalicelib.store import membership as store

MAX_ROUNDS = 16  # optimistic rounds against concurrent purchases of the same merchant
HISTORY = 24
EXPIRE_BATCH = 200


def price_fen(plan: str) -> int:
    """Per stage through `MEMBERSHIP_MONTHLY_FEN`."""
    if plan != "monthly":
        raise Invalid({"plan": "不支持的会员方案"})
    return int(os.environ.get("MEMBERSHIP_MONTHLY_FEN", M.DEFAULT_MONTHLY_FEN))


def _parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Period:
    seq: int
    plan: str
    starts_at: str
    ends_at: str
    amount_fen: int
    paid_at: str


@dataclass(frozen=True)
class MembershipView:
    status: str
    plan: str | None
    active_until: str | None
    current: Period | None
    fee_bps: int
    price_fen: int
    history: list[Period]


def _period(p: store.PeriodItem) -> Period:
    return Period(int(p.seq), p.plan, p.starts_at, p.ends_at, int(p.amount_fen), p.paid_at)


def view(merchant_id: str) -> MembershipView:
    now_iso = books.iso(clock.now())
    item = store.get(merchant_id)
    state = M.status(item.active_until if item else None, now_iso)
    lines = [_period(p) for p in store.history(merchant_id, HISTORY)] if item else []
    current = next((p for p in lines if p.starts_at <= now_iso < p.ends_at), None)
    return MembershipView(
        status=state,
        plan=item.plan if item else None,
        active_until=item.active_until if item else None,
        current=current,
        fee_bps=T.MEMBER_FEE_BPS if state == M.Status.ACTIVE else T.DEFAULT_FEE_BPS,
        price_fen=price_fen("monthly"),
        history=lines,
    )


def summary(merchant_id: str) -> dict[str, str] | None:
    """What `/v1/me` shows of a merchant's membership (None for one who never bought)."""
    item = store.get(merchant_id)
    if item is None:
        return None
    state = M.status(item.active_until, books.iso(clock.now()))
    return {"status": str(state), "plan": item.plan, "active_until": item.active_until}


def purchase(caller: Caller, plan: str) -> MembershipView:
    """Pay one period from the wallet and extend the membership: the transfer, the new end and the history line
    in one ledger transaction. A concurrent purchase that took the same period number makes this one rebuild on
    the new end (and pay again: a different Idempotency-Key is a different purchase)."""
    amount = price_fen(plan)
    wallet = L.wallet(caller.id)
    for _ in range(MAX_ROUNDS):
        now = clock.now()
        now_iso = books.iso(now)
        current = store.get(caller.id)
        seq = int(current.seq) + 1 if current else 1
        start, end = M.period(plan, _parse(current.active_until) if current else None, now)
        tid = M.transfer_id(caller.id, seq)
        line = store.new_period(
            caller.id,
            seq,
            plan,
            starts_at=books.iso(start),
            ends_at=books.iso(end),
            amount_fen=amount,
            transfer_id=tid,
            paid_at=now_iso,
        )
        transfer = L.Transfer(
            id=tid,
            debit=wallet,
            credit=L.REVENUE_MEMBERSHIP,
            amount=amount,
            code=L.Code.MEMBERSHIP,
            memo="商家会员（月度）",
            meta={"plan": plan, "seq": str(seq)},
        )
        raced = Conflict("MEMBERSHIP_BUSY", "会员状态已变化，请重试")
        try:
            posted = books.post(
                [transfer], extras=[books.Extra(store.purchase_op(current, line, now_iso=now_iso), "membership", raced)]
            )
        except Conflict as err:
            if err.code in ("MEMBERSHIP_BUSY", "TRANSFER_ID_REUSED"):
                continue
            raise
        if posted.replayed:  # another purchase paid period `seq` first: build on its end
            continue
        logger.info("membership purchased", extra={"merchant_id": caller.id, "seq": seq, "amount_fen": amount})
        return view(caller.id)
    raise Conflict("MEMBERSHIP_BUSY", "会员状态已变化，请重试")


# ---------------------------------------------------------------- expiry (rate job)


def expire_due(now: datetime) -> int:
    """Tidy memberships whose end has passed: status `expired`, off the active index (which lets the stream
    tell the merchant). Whether a member is active never waits for this job: it reads `active_until`."""
    now_iso = books.iso(now)
    done = 0
    for item in store.ended(now_iso, EXPIRE_BATCH):
        if store.mark_expired(item, now_iso):
            done += 1
    if done:
        logger.info("memberships expired", extra={"count": done})
    return done


@events.on_change("membership")
def notify_expired(change: events.Change) -> None:
    from chalicelib.services.notifications import notify

    new, old = change.new or {}, change.old or {}
    if new.get("status") != "expired" or old.get("status") == "expired":
        return
    notify(
        str(new["merchant_id"]),
        f"membership.expired:{new['merchant_id']}:{new['seq']}",
        str(new["updated_at"]),
        "membership.expired",
        "商家会员已到期",
        "你的商家会员已到期，之后发布的任务按标准费率收取服务费。续费后立即恢复会员权益。",
        None,
    )
