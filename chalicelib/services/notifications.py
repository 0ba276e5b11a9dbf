"""In-app notifications, in Chinese, from the stream: what happened to the user's money, claims and tasks.

Each is keyed by its event (`withdrawal.paid:<id>`, `claim.rejected:<id>:<from status>`,
`task.rejected:<id>:<stream sequence number>`), so a redelivered stream record notifies once.
"""

from __future__ import annotations

import hashlib
from functools import partial

from chalicelib.adapters import clock
from chalicelib.adapters.payments.amounts import fen_to_yuan
from chalicelib.domain import tasks as T
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


def _transition(change: events.Change) -> tuple[dict, str | None, str | None] | None:
    """(new image, old status, new status) of a MODIFY that changed `status`; None for anything else."""
    new, old = change.new or {}, change.old or {}
    if change.event_name != "MODIFY" or new.get("status") == old.get("status"):
        return None
    return new, old.get("status"), new.get("status")


@events.on_change("claim")
def on_claim(change: events.Change) -> None:
    """Tell the worker how a claim ended: accepted (and paid), rejected with the reason, or expired."""
    moved = _transition(change)
    if moved is None:
        return
    new, before, status = moved
    claim_id, worker = str(new["claim_id"]), str(new["worker_id"])
    title = str(new.get("task_title") or "任务")
    at = str(new.get("updated_at") or new.get("settled_at") or new["claimed_at"])
    if status == T.ClaimStatus.ACCEPTED:
        yuan = fen_to_yuan(int(new["reward_fen"]))
        how = "审核超时，系统已自动通过" if new.get("accepted_by") == "auto" else "已通过审核"
        if before == T.ClaimStatus.APPEALED:
            how = "申诉成立，已改判通过"
        notify(
            worker,
            f"claim.accepted:{claim_id}",
            at,
            "claim.accepted",
            "任务审核通过",
            f"你提交的「{title}」{how}，奖励 {yuan} 元已存入钱包。",
            claim_id,
        )
    elif status == T.ClaimStatus.REJECTED:
        reason = str(new.get("reject_reason") or "未说明")
        if before == T.ClaimStatus.APPEALED:
            text = f"你对「{title}」的申诉未获支持，驳回维持不变。理由：{reason}"
        else:
            text = f"你提交的「{title}」未通过审核。理由：{reason}。如有异议，请在 72 小时内提交申诉。"
        # A claim may be rejected twice (on review, then again after an appeal): each rejection is its own event.
        notify(worker, f"claim.rejected:{claim_id}:{before}", at, "claim.rejected", "任务未通过审核", text, claim_id)
    elif status == T.ClaimStatus.EXPIRED:
        notify(
            worker,
            f"claim.expired:{claim_id}",
            at,
            "claim.expired",
            "领取已超时失效",
            f"你领取的「{title}」未在截止时间前提交，名额已释放，可到任务大厅领取其他任务。",
            claim_id,
        )


_APPROVED = (T.TaskStatus.PUBLISHED, T.TaskStatus.APPROVED_UNFUNDED)


@events.on_change("task")
def on_task(change: events.Change) -> None:
    """Tell the merchant a task was approved (published, or waiting for funds), rejected with the reason, or done."""
    moved = _transition(change)
    if moved is None:
        return
    new, before, status = moved
    task_id, merchant = str(new["task_id"]), str(new["merchant_id"])
    title = str(new.get("title") or "任务")
    at = str(new.get("updated_at") or new["created_at"])
    # Each review is its own event (a task rejected, edited and resubmitted is reviewed again). Nothing on the
    # item counts the rounds, and two rounds may share a timestamp; the stream record's sequence number is
    # unique per change and the same on every redelivery of it.
    round_ = change.sequence_number or at
    if before == T.TaskStatus.PENDING_REVIEW and status in _APPROVED:
        if status == T.TaskStatus.PUBLISHED:
            text = f"你的任务「{title}」已通过审核并上架，奖励资金已托管。"
        else:
            text = f"你的任务「{title}」已通过审核，但钱包余额不足以托管奖励，请充值后在任务详情中点击“上架”。"
        notify(merchant, f"task.approved:{task_id}:{round_}", at, "task.approved", "任务审核通过", text, task_id)
    elif status == T.TaskStatus.REJECTED:
        reason = str(new.get("review_reason") or "内容不符合平台规范")
        notify(
            merchant,
            f"task.rejected:{task_id}:{round_}",
            at,
            "task.rejected",
            "任务未通过审核",
            f"你的任务「{title}」未通过审核。理由：{reason}。修改后可重新提交。",
            task_id,
        )
    elif status == T.TaskStatus.COMPLETED:
        accepted = int(new.get("accepted_count") or 0)
        notify(
            merchant,
            f"task.completed:{task_id}",
            at,
            "task.completed",
            "任务已完成",
            f"你的任务「{title}」全部名额已结算完成，共通过 {accepted} 份提交。",
            task_id,
        )


# ---------------------------------------------------------------- risk actions on the user's account


@events.on_change("user")
def on_user_status(change: events.Change) -> None:
    """Freeze and unfreeze (by the desk or the risk engine): the user learns what happened and what to do."""
    new, old = change.new or {}, change.old or {}
    if change.event_name != "MODIFY" or new.get("status") == old.get("status"):
        return
    uid = str(new["user_id"])
    round_ = change.sequence_number or str(new.get("frozen_at") or "")
    if new.get("status") == "frozen":
        reason = str(new.get("frozen_reason") or "违反平台规则")
        notify(
            uid,
            f"user.frozen:{uid}:{round_}",
            str(new.get("frozen_at") or clock.now_iso()),
            "account.frozen",
            "账户已被冻结",
            f"原因：{reason}。冻结期间不能领取任务、发布任务或提现；如有异议，可在“申诉”中提交说明。",
            uid,
        )
    elif old.get("status") == "frozen":
        body = "你的账户已恢复正常使用。"
        notify(uid, f"user.unfrozen:{uid}:{round_}", clock.now_iso(), "account.unfrozen", "账户已解冻", body, uid)


@events.on_change("payout_hold")
def on_payout_hold(change: events.Change) -> None:
    """The risk engine holds or releases a user's payouts (pending withdrawals wait while held)."""
    image = change.new or change.old or {}
    uid = str(image.get("user_id") or "")
    if not uid or change.event_name == "MODIFY":
        return
    round_ = change.sequence_number or str(image.get("created_at") or "")
    if change.event_name == "INSERT":
        notify(
            uid,
            f"payout.held:{uid}:{round_}",
            str(image.get("created_at") or clock.now_iso()),
            "payout.held",
            "提现暂缓处理",
            "为保障资金安全，你的提现需人工复核，处理中的提现将在复核后继续，资金仍在你的账户中。",
            uid,
        )
    else:
        body = "复核已完成，提现将按正常流程到账。"
        notify(uid, f"payout.released:{uid}:{round_}", clock.now_iso(), "payout.released", "提现已恢复处理", body, uid)


@events.on_change("guarantee_hold")
def on_guarantee_hold(change: events.Change) -> None:
    """The mass-rejection breaker held a merchant's guarantee and paused their tasks."""
    if change.event_name != "INSERT" or not change.new:
        return
    merchant_id = str(change.keys.get("PK", "")).removeprefix("USER#")
    if not merchant_id:
        return
    round_ = change.sequence_number or str(change.new.get("created_at") or "")
    notify(
        merchant_id,
        f"guarantee.held:{merchant_id}:{round_}",
        str(change.new.get("created_at") or clock.now_iso()),
        "merchant.breaker",
        "任务已暂停，保证金暂时冻结",
        "近期驳回比例过高，平台已暂停你的任务并冻结保证金，等待人工复核。复核通过后将恢复。",
        merchant_id,
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
