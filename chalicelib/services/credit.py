"""Worker credit score (0–150, start 100): +1 for each accepted task, −5 for each upheld violation — a
rejection counts only once its 72 h appeal window closed without an appeal (or the appeal failed). Driven by
the stream (claim status changes), one history line per event."""

from __future__ import annotations

from functools import partial

from chalicelib.domain import tasks as T
from chalicelib.services import events
from chalicelib.store import credit as store
from chalicelib.store import cursor

ACCEPTED_DELTA = 1
VIOLATION_DELTA = -5


def change(user_id: str, event: str, delta: int, reason: str, ref: str, at: str) -> str:
    from chalicelib.store import users

    for _ in range(8):
        user = users.get_user(user_id, consistent=True)
        if user is None:
            return "missing"
        old = int(user.credit_score)
        new = T.credit_after(old, delta)
        outcome = store.apply_once(user_id, event, old, new, new - old, reason, ref, at)
        if outcome != "stale":
            return outcome
    return "stale"


@events.on_change("claim")
def on_claim(change_: events.Change) -> None:
    new, old = change_.new or {}, change_.old or {}
    if change_.event_name != "MODIFY":
        return
    claim_id, worker = str(new.get("claim_id")), str(new.get("worker_id"))
    # A dispute's split pays part of the slot: neither a completed task nor a violation.
    split = new.get("accepted_by") == "dispute_split"
    if new.get("status") == T.ClaimStatus.ACCEPTED and old.get("status") != T.ClaimStatus.ACCEPTED and not split:
        change(
            worker, f"accepted:{claim_id}", ACCEPTED_DELTA, "任务按时完成并通过审核", claim_id, str(new["settled_at"])
        )
    # A rejection becomes final when its appeal window closes: status stays `rejected`, settled_at appears.
    if new.get("status") == T.ClaimStatus.REJECTED and new.get("settled_at") and not old.get("settled_at"):
        change(
            worker, f"violation:{claim_id}", VIOLATION_DELTA, "提交被驳回且未申诉成功", claim_id, str(new["settled_at"])
        )


def history(user_id: str, *, limit: int, page_cursor: str | None):  # type: ignore[no-untyped-def]
    return cursor.query_page(
        partial(store.history, user_id),
        scope=cursor.scope("credit", user=user_id),
        limit=limit,
        cursor=page_cursor,
    )
