"""In-app notifications, in Chinese, from the stream: what happened to the user's money, claims and tasks.

Each is keyed by its event (`withdrawal.paid:<id>`), so a redelivered stream record notifies once.
"""

from __future__ import annotations

import hashlib
from functools import partial

from chalicelib.adapters.payments.amounts import fen_to_yuan
from chalicelib.domain.errors import Invalid
from chalicelib.services import events
from chalicelib.store import cursor
from chalicelib.store import notifications as store


def notify(user_id: str, event_key: str, at: str, type_: str, title: str, body: str, ref: str | None) -> bool:
    nid = "ntf_" + hashlib.sha256(event_key.encode()).hexdigest()[:24]
    return store.put_once(user_id, nid, at, type=type_, title=title, body=body, ref=ref)


@events.on_change("withdrawal")
def on_withdrawal(change: events.Change) -> None:
    new, old = change.new or {}, change.old or {}
    if change.event_name != "MODIFY" or old.get("status") != "pending" or new.get("status") == "pending":
        return
    yuan = fen_to_yuan(int(new["amount_fen"]))
    wid = str(new["withdrawal_id"])
    at = str(new.get("settled_at") or new["created_at"])
    if new["status"] == "paid":
        notify(
            new["user_id"],
            f"withdrawal.paid:{wid}",
            at,
            "withdrawal.paid",
            "提现已到账",
            f"你的 {yuan} 元提现已转入 {new.get('account_masked', '')}。",
            wid,
        )
    elif new["status"] == "failed":
        notify(
            new["user_id"],
            f"withdrawal.failed:{wid}",
            at,
            "withdrawal.failed",
            "提现失败，资金已退回",
            f"你的 {yuan} 元提现未能完成，资金已退回钱包，请核对收款账户后重试。",
            wid,
        )


@events.on_change("deposit")
def on_deposit(change: events.Change) -> None:
    new, old = change.new or {}, change.old or {}
    if new.get("status") == "paid" and old.get("status") != "paid":
        yuan = fen_to_yuan(int(new["amount_fen"]))
        did = str(new["deposit_id"])
        notify(
            new["user_id"],
            f"deposit.paid:{did}",
            str(new.get("paid_at") or new["created_at"]),
            "deposit.paid",
            "充值成功",
            f"{yuan} 元已存入你的钱包。",
            did,
        )


def page(user_id: str, *, limit: int, page_cursor: str | None) -> tuple[list[store.NotificationItem], str | None]:
    return cursor.query_page(
        partial(store.query, user_id),
        scope=cursor.scope("notifications", user=user_id),
        limit=limit,
        cursor=page_cursor,
    )


def mark_read(user_id: str, ids: list[str]) -> int:
    """Mark the caller's notifications read; ids are the opaque `id`s from the list."""
    done = 0
    for opaque in ids:
        if not opaque.startswith("NTF#") or len(opaque) > 120:
            raise Invalid({"ids": "通知编号无效"})
        done += store.mark_read(user_id, opaque)
    return done
