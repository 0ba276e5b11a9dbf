"""Credit score changes: the user's score (on the user item) and one history line per event, in one transaction.

History lines (`USER#<id>` / `CREDIT#<time>#<event>`) are keyed by their event, so a redelivered stream
record changes the score once; the score update is optimistic on the value read, so it stays within 0–150.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.store import keys, tx
from chalicelib.store.base import Item
from chalicelib.store.users import UserItem


class CreditLine(Item, discriminator="credit_line"):
    event = UnicodeAttribute()
    delta = NumberAttribute()
    score_after = NumberAttribute()
    reason = UnicodeAttribute()
    ref = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()


class CreditMarker(Item, discriminator="credit_marker"):
    pass


def apply_once(
    user_id: str, event: str, old_score: int, new_score: int, delta: int, reason: str, ref: str, at: str
) -> str:
    """'done', 'duplicate' (this event already counted) or 'stale' (the score moved: re-read and retry)."""
    t = tx.Tx()
    mpk, msk = keys.credit_marker(user_id, event)
    t.put(CreditMarker(PK=mpk, SK=msk), label="marker", condition=CreditMarker.PK.does_not_exist())
    pk, sk = keys.credit_line(user_id, at, event)
    t.put(
        CreditLine(
            PK=pk, SK=sk, event=event, delta=delta, score_after=new_score, reason=reason, ref=ref, created_at=at
        ),
        label="line",
    )
    upk, usk = keys.user(user_id)
    t.update(
        UserItem(PK=upk, SK=usk),
        [UserItem.credit_score.set(new_score)],
        label="user",
        condition=UserItem.credit_score == old_score,
    )
    try:
        t.commit()
    except tx.TxCancelled as exc:
        if "marker" in exc.failed:
            return "duplicate"
        if "user" in exc.failed:
            return "stale"
        raise
    return "done"


def history(user_id: str, **kwargs: Any) -> Any:
    pk, prefix = keys.credit_prefix(user_id)
    return CreditLine.query(pk, CreditLine.SK.startswith(prefix), scan_index_forward=False, **kwargs)
