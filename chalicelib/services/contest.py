"""The weekly contest: scores from accepted claims (stream), the leaderboard, and the close that pays the top 3
from `expense:promo` once per week, with a notification to each winner (docs/decisions/0130-weekly-contest.md).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime

from chalicelib.adapters import clock
from chalicelib.adapters.log import logger
from chalicelib.domain import contest as C
from chalicelib.domain import ledger as L
from chalicelib.domain import tasks as T
from chalicelib.domain.errors import Conflict
from chalicelib.domain.roles import Caller
from chalicelib.services import events
from chalicelib.store import contest as store
from chalicelib.store import ledger as books


def prizes() -> tuple[int, ...]:
    """Prizes by rank in fen; per stage through `CONTEST_PRIZES_FEN` (e.g. `5000,3000,2000`)."""
    return C.prizes(os.environ.get("CONTEST_PRIZES_FEN"))


def _parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


# ---------------------------------------------------------------- scoring (stream)


def _masked_name(worker_id: str) -> str:
    from chalicelib.store import users

    user = users.get_user(worker_id)
    if user is None:
        return C.mask_name(None, None)
    verified = user.real_name_status == "verified"
    return C.mask_name(user.real_name_masked if verified else None, user.phone_masked)


@events.on_change("claim")
def on_claim_accepted(change: events.Change) -> None:
    """A claim became accepted: one more for its worker in the week of its acceptance (Asia/Shanghai)."""
    new, old = change.new or {}, change.old or {}
    if new.get("status") != T.ClaimStatus.ACCEPTED or old.get("status") == T.ClaimStatus.ACCEPTED:
        return
    accepted_at = str(new.get("settled_at") or new.get("updated_at"))
    week = C.week_of(_parse(accepted_at))
    worker_id, claim_id = str(new["worker_id"]), str(new["claim_id"])
    done = store.count_accept(week.id, worker_id, claim_id, books.iso(_parse(accepted_at)), _masked_name(worker_id))
    if not done.counted:
        logger.info("contest score skipped", extra={"claim_id": claim_id, "week": week.id})


# ---------------------------------------------------------------- the leaderboard


@dataclass(frozen=True)
class Entry:
    rank: int
    name: str
    count: int
    reached_at: str
    prize_fen: int


@dataclass(frozen=True)
class Board:
    week_id: str
    starts_at: str
    ends_at: str
    top: list[Entry]
    my_rank: int | None
    my_count: int
    prizes_fen: list[int]
    closed: bool


def current(caller: Caller) -> Board:
    """This week's leaderboard: one Query for the top 20, one GetItem and (if ranked) one COUNT for the caller."""
    week = C.week_of(clock.now())
    paid = prizes()
    rows = store.top(week.id, C.TOP_N)
    top = [
        Entry(
            rank=i + 1,
            name=r.name_masked,
            count=int(r.accepted),
            reached_at=r.reached_at,
            prize_fen=paid[i] if i < len(paid) else 0,
        )
        for i, r in enumerate(rows)
    ]
    my_rank, my_count = None, 0
    mine = next((i + 1 for i, r in enumerate(rows) if r.worker_id == caller.id), None)
    score = store.get_score(week.id, caller.id) if mine is None else rows[mine - 1]
    if score is not None:
        my_count = int(score.accepted)
        my_rank = mine if mine is not None else store.ahead_of(week.id, score) + 1
    return Board(
        week_id=week.id,
        starts_at=books.iso(week.starts_at),
        ends_at=books.iso(week.ends_at),
        top=top,
        my_rank=my_rank,
        my_count=my_count,
        prizes_fen=list(paid),
        closed=store.get_result(week.id) is not None,
    )


# ---------------------------------------------------------------- the close (weekly calendar job)


def close_week(boundary: datetime) -> None:
    """Scheduled at Monday 00:00 Asia/Shanghai with the boundary instant: close the week that just ended.

    The prizes and the result item go in one ledger transaction; the transfer ids are `contest:<week>:<rank>`
    and the result is conditional on being new, so a second firing (or a racing process) pays nothing again.
    """
    close(C.week_of(boundary).previous().id)


def close(week_id: str) -> bool:
    """Pay the week's top 3 and record the result. False when the week had been closed already."""
    if store.get_result(week_id) is not None:
        return False
    paid = prizes()
    now_iso = books.iso(clock.now())
    rows = store.top(week_id, len(paid))
    winners = [
        {
            "rank": i + 1,
            "worker_id": r.worker_id,
            "name_masked": r.name_masked,
            "count": int(r.accepted),
            "prize_fen": paid[i],
            "transfer_id": C.transfer_id(week_id, i + 1),
        }
        for i, r in enumerate(rows)
    ]
    if not winners:
        closed = store.put_result(week_id, [], now_iso)
        logger.info("contest closed without scores", extra={"week": week_id, "closed_now": closed})
        return closed
    transfers = [
        L.Transfer(
            id=C.transfer_id(week_id, i + 1),
            debit=L.EXPENSE_PROMO,
            credit=L.wallet(r.worker_id),
            amount=paid[i],
            code=L.Code.PROMO,
            memo=f"周榜第 {i + 1} 名奖金",
            meta={"week_id": week_id, "rank": str(i + 1)},
        )
        for i, r in enumerate(rows)
    ]
    already = Conflict("CONTEST_CLOSED", "本周榜单已结算")
    try:
        posted = books.post(
            transfers, extras=[books.Extra(store.result_op(week_id, winners, now_iso), "result", already)]
        )
    except Conflict as err:
        # Another close got there first: its result stands (TRANSFER_ID_REUSED: it saw a later leaderboard).
        if err.code in ("CONTEST_CLOSED", "TRANSFER_ID_REUSED") and store.get_result(week_id) is not None:
            return False
        raise
    if posted.replayed:
        return False
    logger.info("contest closed", extra={"week": week_id, "winners": len(winners)})
    return True


@events.on_change("contest_result")
def notify_winners(change: events.Change) -> None:
    """Each winner hears of their prize once (the notification id comes from the week and rank)."""
    from chalicelib.services.notifications import notify

    if change.event_name != "INSERT" or change.new is None:
        return
    new = change.new
    winners = new.get("winners") or []
    if isinstance(winners, str):  # a JSON attribute arrives as its text
        winners = json.loads(winners)
    for w in winners:
        yuan = f"{int(w['prize_fen']) / 100:.2f}"
        notify(
            str(w["worker_id"]),
            f"contest.prize:{new['week_id']}:{w['rank']}",
            str(new["closed_at"]),
            "contest.prize",
            "周榜奖金已到账",
            f"恭喜你在 {new['week_id']} 周榜中获得第 {w['rank']} 名（完成 {w['count']} 个任务），"
            f"{yuan} 元奖金已存入钱包。",
            str(new["week_id"]),
        )
