"""Worker promotions paid from `expense:promo`: the new-worker coupon (credited locked at registration) and,
at the worker's first accepted task, the coupon's unlock plus the first-task bonus (docs/decisions/0120, 0121).

Both are stream consumers — on the user item's INSERT and on a claim's move to `accepted` — so registration and
the accept path keep their own transactions and budgets. Each use case is one ledger transaction guarded by a
once-marker, so a redelivered or duplicated record, or two accepts racing, pay once.
"""

from __future__ import annotations

from chalicelib.adapters import clock
from chalicelib.adapters.log import logger
from chalicelib.config import settings
from chalicelib.domain import growth as G
from chalicelib.domain import ledger as L
from chalicelib.domain import tasks as T
from chalicelib.domain.errors import Conflict
from chalicelib.services import events
from chalicelib.store import ledger as books
from chalicelib.store import promotions as store

ROUNDS = 8  # each round re-reads after another writer moved a marker; two writers exist, so 2 suffice


def grant_coupon(worker_id: str) -> str:
    """Credit the new-worker coupon once: locked, or — if the first task was already accepted — to the wallet.

    Returns 'granted', 'granted_unlocked', 'duplicate' or 'off' (amount 0 on this stage)."""
    amount = settings().coupon_fen
    if amount <= 0:
        return "off"
    for _ in range(ROUNDS):
        if books.get_transfer_item(G.coupon_id(worker_id)) is not None:
            return "duplicate"
        first = store.first_task_marker(worker_id) is not None
        grant = G.coupon(worker_id, amount, unlocked=first)
        try:
            posted = books.post([grant], extras=[store.marker_is(worker_id, present=first)])
            outcome = "granted_unlocked" if first else "granted"
            if posted.replayed:  # a concurrent delivery of the same registration granted it
                return "duplicate"
        except store.Moved:
            continue
        except Conflict as exc:
            if exc.code == "TRANSFER_ID_REUSED":  # a concurrent delivery granted it the other way: look again
                continue
            raise
        logger.info("coupon granted", extra={"user_id": worker_id, "outcome": outcome, "amount_fen": amount})
        return outcome
    raise Conflict("BUSY_RETRY", "系统繁忙，请稍后重试")


def first_task(worker_id: str, claim_id: str, reward_fen: int) -> str:
    """The worker's first accepted task: unlock the coupon and pay the first-task bonus, once per worker.

    Returns 'paid' or 'duplicate' (an earlier claim, or an earlier delivery of this one, was the first)."""
    for _ in range(ROUNDS):
        if store.first_task_marker(worker_id) is not None:
            return "duplicate"
        bonus = G.first_task_bonus_fen(reward_fen, settings().first_task_bonus_bps)
        coupon = books.get_transfer_item(G.coupon_id(worker_id))
        transfers: list[L.Transfer] = []
        if bonus:
            transfers.append(G.first_task_bonus(worker_id, bonus, claim_id))
        unlocked = 0
        if coupon is not None:
            unlocked = int(coupon.amount)
            transfers.append(G.unlock(worker_id, unlocked, claim_id))
        extras = [store.put_marker(worker_id, claim_id, bonus, unlocked, clock.now_iso())]
        if coupon is None:
            # Unlocking nothing is only right if the coupon does not land between this read and this write.
            extras.append(store.transfer_absent(G.coupon_id(worker_id)))
        try:
            if transfers:
                if books.post(transfers, extras=extras).replayed:
                    return "duplicate"  # a racing delivery with the same amounts paid it
            else:
                store.commit_extras(extras)
        except store.Moved:
            continue
        except Conflict as exc:
            if exc.code == "TRANSFER_ID_REUSED":  # a racing first task of this worker won: the marker says so
                continue
            raise
        logger.info(
            "first task rewarded",
            extra={"user_id": worker_id, "claim_id": claim_id, "bonus_fen": bonus, "unlocked_fen": unlocked},
        )
        return "paid"
    raise Conflict("BUSY_RETRY", "系统繁忙，请稍后重试")


def accepted_now(change: events.Change) -> bool:
    """A claim's move to `accepted` (MODIFY only: claims are created `claimed`)."""
    new, old = change.new or {}, change.old or {}
    return (
        change.event_name == "MODIFY"
        and new.get("status") == T.ClaimStatus.ACCEPTED
        and old.get("status") != T.ClaimStatus.ACCEPTED
    )


@events.on_change("user")
def on_user(change: events.Change) -> None:
    new = change.new or {}
    if change.event_name == "INSERT" and new.get("role") == "worker":
        grant_coupon(str(new["user_id"]))


@events.on_change("claim")
def on_claim(change: events.Change) -> None:
    if not accepted_now(change):
        return
    new = change.new or {}
    first_task(str(new["worker_id"]), str(new["claim_id"]), int(new.get("reward_fen", 0) or 0))
