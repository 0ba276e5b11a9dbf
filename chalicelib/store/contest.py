"""Weekly contest items: each worker's score per week (on a sparse GSI1 leaderboard), the counted-claim marks,
and the closed week's result (docs/decisions/0130-weekly-contest.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.domain import contest as C
from chalicelib.store import keys, tx
from chalicelib.store.base import Item


class ScoreItem(Item, discriminator="contest_score"):
    week_id = UnicodeAttribute()
    worker_id = UnicodeAttribute()
    accepted = NumberAttribute()  # accepted claims this week
    reached_at = UnicodeAttribute()  # when the worker reached `accepted` (the tie-break)
    name_masked = UnicodeAttribute()  # copied at scoring time so the leaderboard reads no user items


class MarkItem(Item, discriminator="contest_mark"):
    claim_id = UnicodeAttribute()
    week_id = UnicodeAttribute()


class ResultItem(Item, discriminator="contest_result"):
    week_id = UnicodeAttribute()
    winners = JSONAttribute()  # [{"rank", "worker_id", "name_masked", "count", "prize_fen", "transfer_id"}]
    closed_at = UnicodeAttribute()


def get_score(week_id: str, worker_id: str) -> ScoreItem | None:
    pk, sk = keys.contest_score(week_id, worker_id)
    try:
        return ScoreItem.get(pk, sk, consistent_read=True)
    except ScoreItem.DoesNotExist:
        return None


def get_result(week_id: str) -> ResultItem | None:
    pk, sk = keys.contest_result(week_id)
    try:
        return ResultItem.get(pk, sk, consistent_read=True)
    except ResultItem.DoesNotExist:
        return None


def top(week_id: str, n: int) -> list[ScoreItem]:
    """The first `n` of the week in leaderboard order: one Query on the sparse index."""
    return list(ScoreItem.gsi1.query(keys.contest_board(week_id), limit=n, page_size=n, scan_index_forward=True))


def ahead_of(week_id: str, score: ScoreItem) -> int:
    """How many workers rank above `score` (a COUNT Query over the keys before it)."""
    return int(ScoreItem.gsi1.count(keys.contest_board(week_id), ScoreItem.GSI1SK < str(score.GSI1SK)))


@dataclass(frozen=True)
class Counted:
    counted: bool  # False: already counted, or the week had closed
    count: int


def count_accept(week_id: str, worker_id: str, claim_id: str, accepted_at: str, name_masked: str) -> Counted:
    """One accepted claim onto the worker's score: the mark, the score and its rank key in one transaction,
    on the score's current count (a concurrent accept of the same worker rebuilds on the fresh count), refused
    once the week's result exists."""
    spk, ssk = keys.contest_score(week_id, worker_id)
    mpk, msk = keys.contest_mark(claim_id)
    rpk, rsk = keys.contest_result(week_id)
    seen: dict[str, Any] = {}

    def build() -> tx.Tx:
        current = get_score(week_id, worker_id)
        count = (int(current.accepted) if current else 0) + 1
        reached = C.later(current.reached_at if current else None, accepted_at)
        seen["count"] = count
        t = tx.Tx()
        t.put(
            MarkItem(PK=mpk, SK=msk, claim_id=claim_id, week_id=week_id),
            label="mark",
            condition=MarkItem.PK.does_not_exist(),
        )
        t.check(ResultItem, rpk, rsk, ResultItem.PK.does_not_exist(), label="closed")
        score = ScoreItem(
            PK=spk,
            SK=ssk,
            week_id=week_id,
            worker_id=worker_id,
            accepted=count,
            reached_at=reached,
            name_masked=name_masked,
            GSI1PK=keys.contest_board(week_id),
            GSI1SK=C.rank_key(count, reached, worker_id),
        )
        unchanged = ScoreItem.PK.does_not_exist() if current is None else ScoreItem.accepted == int(current.accepted)
        t.put(score, label="score", condition=unchanged)
        return t

    while True:
        try:
            tx.run(build, lambda t: t.commit())
            return Counted(True, int(seen["count"]))
        except tx.TxCancelled as cancelled:
            if cancelled.failed_label("mark") or cancelled.failed_label("closed"):
                current = get_score(week_id, worker_id)
                return Counted(False, int(current.accepted) if current else 0)
            if cancelled.failed_label("score"):
                continue  # another accept of this worker landed first: count on top of it
            raise


def result_op(week_id: str, winners: list[dict[str, Any]], closed_at: str) -> Any:
    """Adds the week's result to a transaction, on the condition that the week has not closed yet."""
    pk, sk = keys.contest_result(week_id)
    item = ResultItem(PK=pk, SK=sk, week_id=week_id, winners=winners, closed_at=closed_at)

    def apply(t: tx.Tx) -> None:
        t.put(item, label="result", condition=ResultItem.PK.does_not_exist())

    return apply


def put_result(week_id: str, winners: list[dict[str, Any]], closed_at: str) -> bool:
    """Close a week that pays nobody (no scores). False if it was closed already."""
    t = tx.Tx()
    result_op(week_id, winners, closed_at)(t)
    try:
        t.commit()
    except tx.TxCancelled:
        return False
    return True
