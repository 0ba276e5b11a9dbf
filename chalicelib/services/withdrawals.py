"""Withdrawals: hold the money at request time, pay out from the schedule, post or void by the provider's word.

Request: real name verified, the payout account's holder equals it, minimum and daily caps, then ONE
transaction holds `wallet → payout:<channel>` (pending), writes the withdrawal, counts the day and claims the
payout account. Nothing is sent to the provider in the request. The payout poll (every minute) submits each
pending withdrawal (idempotent at the provider by withdrawal id), queries it, and posts the hold when paid or
voids it when failed — so a crash anywhere is finished by the next tick, never paid twice.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from chalicelib.adapters import clock, ids
from chalicelib.adapters.log import logger
from chalicelib.config import settings
from chalicelib.domain import ledger as L
from chalicelib.domain.errors import Conflict, Forbidden, Invalid, NotFound, RateLimited
from chalicelib.store import cursor
from chalicelib.store import ledger as books
from chalicelib.store import withdrawals as store

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLL_BATCH = 50


@dataclass(frozen=True)
class WithdrawalView:
    withdrawal_id: str
    status: str
    amount_fen: int
    channel: str
    account_masked: str
    created_at: str
    settled_at: str | None
    failure_reason: str | None


def _view(i: store.WithdrawalItem) -> WithdrawalView:
    return WithdrawalView(
        withdrawal_id=i.withdrawal_id,
        status=i.status,
        amount_fen=int(i.amount_fen),
        channel=i.channel,
        account_masked=i.account_masked,
        created_at=i.created_at,
        settled_at=i.settled_at,
        failure_reason=i.failure_reason,
    )


def allowed_channels() -> tuple[str, ...]:
    return ("alipay", "wechat", "sandbox") if settings().is_local else ("alipay", "wechat")


def _norm_name(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split())


def mask_account(number: str) -> str:
    if "@" in number:
        local, _, domain = number.partition("@")
        return f"{local[:2]}***@{domain}"
    return f"{number[:3]}****{number[-4:]}" if len(number) > 7 else "****" + number[-2:]


def request(user_id: str, amount_fen: int, channel: str, account_number: str, holder_name: str) -> WithdrawalView:
    from chalicelib.adapters import crypto
    from chalicelib.store import users

    cfg = settings()
    if channel not in allowed_channels():
        raise Invalid({"channel": "不支持的提现渠道"})
    if amount_fen < cfg.withdraw_min_fen:
        raise Invalid({"amount_fen": f"单笔提现最少 {cfg.withdraw_min_fen} 分"}, code="AMOUNT_TOO_SMALL")
    user = users.get_user(user_id, consistent=True)
    if user is None:
        raise NotFound("USER_NOT_FOUND", "用户不存在")
    if user.real_name_status != "verified" or not user.real_name_enc:
        raise Forbidden("REAL_NAME_REQUIRED", "提现前请先完成实名认证")
    real_name = crypto.decrypt_field(user.real_name_enc, owner=user_id, field="real_name")
    if _norm_name(holder_name) != _norm_name(real_name):
        raise Invalid({"account.holder_name": "收款账户的户名必须与实名认证的姓名一致"}, code="HOLDER_NAME_MISMATCH")
    account_number = account_number.strip()
    now = clock.now()
    withdrawal_id = ids.new_id("wdr")
    created = books.iso(now)
    item = store.new_item(
        withdrawal_id=withdrawal_id,
        user_id=user_id,
        amount_fen=amount_fen,
        channel=channel,
        account_masked=mask_account(account_number),
        account_enc=crypto.encrypt_field(account_number, owner=user_id, field="payout_account"),
        account_hash=crypto.blind_index("payout_account", f"{channel}:{account_number.lower()}"),
        holder_masked=user.real_name_masked or "",
        created_at=created,
    )
    day = now.astimezone(SHANGHAI).date().isoformat()
    put_wdr, count_day, claim = store.request_ops(
        item, day=day, max_count=cfg.withdraw_daily_count, max_fen=cfg.withdraw_daily_fen
    )
    hold = L.Transfer(
        id=f"withdrawal:{withdrawal_id}",
        debit=L.wallet(user_id),
        credit=L.payout(channel),
        amount=amount_fen,
        code=L.Code.WITHDRAWAL,
        phase=L.Phase.PENDING,
        memo=f"提现至 {item.account_masked}",
        meta={"withdrawal_id": withdrawal_id},
    )
    tomorrow = datetime.combine(now.astimezone(SHANGHAI).date(), datetime.min.time(), SHANGHAI).timestamp() + 86400
    try:
        books.post(
            [hold],
            extras=[
                books.Extra(put_wdr, "wdr:new", Conflict("WITHDRAWAL_EXISTS", "提现单已存在")),
                books.Extra(
                    count_day,
                    "wdr:day",
                    RateLimited(
                        int(tomorrow - now.timestamp()),
                        code="WITHDRAWAL_DAILY_LIMIT",
                        message="今日提现次数或金额已达上限，请明天再试",
                    ),
                ),
                books.Extra(claim, "wdr:acct", Conflict("PAYOUT_ACCOUNT_IN_USE", "该收款账户已绑定其他用户")),
            ],
        )
    except Conflict as exc:
        if exc.code == "PAYOUT_ACCOUNT_IN_USE":
            from chalicelib.services import risk

            risk.note_payout_account_attempt(user_id, item.account_hash)  # blocked, but flagged and linked
        raise
    return _view(item)


def get(user_id: str, withdrawal_id: str) -> WithdrawalView:
    item = store.get(withdrawal_id)
    if item is None or item.user_id != user_id:
        raise NotFound("WITHDRAWAL_NOT_FOUND", "提现记录不存在")
    return _view(item)


def history(user_id: str, *, limit: int, page_cursor: str | None) -> tuple[list[WithdrawalView], str | None]:
    items, next_cursor = cursor.query_page(
        partial(store.query_for_user, user_id),
        scope=cursor.scope("withdrawals", user=user_id),
        limit=limit,
        cursor=page_cursor,
    )
    return [_view(i) for i in items], next_cursor


# ------------------------------------------------------------------ the payout poll


def _payouts(channel: str):  # type: ignore[no-untyped-def]
    from chalicelib.adapters.payments import providers

    return providers.payout_provider(channel, sandbox_store=store.TableSandboxPayoutStore())


def settle(item: store.WithdrawalItem, status: str, *, provider_ref: str | None, reason: str | None) -> None:
    """Post (paid) or void (failed) the hold, and move the withdrawal out of `pending`, in one transaction."""
    at = books.iso(clock.now())
    amount = int(item.amount_fen)
    hold_id = f"withdrawal:{item.withdrawal_id}"
    if status == "paid":
        second = L.Transfer(
            id=f"{hold_id}:post",
            debit=L.wallet(item.user_id),
            credit=L.payout(item.channel),
            amount=amount,
            code=L.Code.WITHDRAWAL,
            phase=L.Phase.POST_PENDING,
            pending_id=hold_id,
            pending_amount=amount,
            memo="提现成功",
        )
    else:
        second = L.Transfer(
            id=f"{hold_id}:void",
            debit=L.wallet(item.user_id),
            credit=L.payout(item.channel),
            amount=0,
            code=L.Code.WITHDRAWAL,
            phase=L.Phase.VOID_PENDING,
            pending_id=hold_id,
            pending_amount=amount,
            memo="提现失败，资金已退回",
        )
    books.post(
        [second],
        extras=[
            books.Extra(
                store.settle_op(item.withdrawal_id, status, at, provider_ref=provider_ref, reason=reason),
                "wdr:settle",
                Conflict("WITHDRAWAL_SETTLED", "提现已处理"),
            )
        ],
    )


def _risk_held(user_id: str, seen: dict[str, bool]) -> bool:
    """The risk engine's payout hold on the user (asked once per user per run): covers withdrawals made after the
    hold was placed, which carry no `hold_reason` of their own."""
    if user_id not in seen:
        from chalicelib.services import risk

        seen[user_id] = risk.payouts_held(user_id)
    return seen[user_id]


def poll_payouts(now: datetime | None = None) -> dict[str, int]:
    """Schedule job: submit and settle pending withdrawals, at most POLL_BATCH per run."""
    from chalicelib.adapters.payments.base import PaymentAdapterError

    counts = {"submitted": 0, "paid": 0, "failed": 0, "waiting": 0, "errors": 0}
    held: dict[str, bool] = {}
    for item in store.pending(POLL_BATCH):
        if item.hold_reason or _risk_held(item.user_id, held):
            counts["waiting"] += 1
            continue
        try:
            payouts = _payouts(item.channel)
            if not item.submitted:
                from chalicelib.adapters import crypto
                from chalicelib.adapters.payments.base import PayoutRequest
                from chalicelib.store import users

                user = users.get_user(item.user_id, consistent=True)
                real_name = (
                    crypto.decrypt_field(user.real_name_enc, owner=item.user_id, field="real_name")
                    if user and user.real_name_enc
                    else ""
                )
                account = crypto.decrypt_field(item.account_enc, owner=item.user_id, field="payout_account")
                result = payouts.submit(PayoutRequest(item.withdrawal_id, int(item.amount_fen), account, real_name))
                store.mark_submitted(item.withdrawal_id, result.provider_ref)
                counts["submitted"] += 1
            result = payouts.query(item.withdrawal_id)
        except PaymentAdapterError as exc:
            counts["errors"] += 1
            logger.warning(
                "payout poll: provider error", extra={"withdrawal_id": item.withdrawal_id, "error": str(exc)}
            )
            continue
        if result.status in ("paid", "failed"):
            try:
                settle(item, result.status, provider_ref=result.provider_ref, reason=result.reason)
            except Conflict:
                continue  # another run settled it first
            counts[result.status] += 1
        else:
            counts["waiting"] += 1
    return counts


def sandbox_fail(user_id: str, withdrawal_id: str) -> bool:
    """Local stage: make a pending sandbox withdrawal fail when it settles."""
    from chalicelib.adapters.payments.sandbox import SandboxPayouts

    item = store.get(withdrawal_id)
    if item is None or item.user_id != user_id or item.channel != "sandbox":
        raise NotFound("WITHDRAWAL_NOT_FOUND", "提现记录不存在")
    if item.status != "pending":
        raise Conflict("WITHDRAWAL_SETTLED", "提现已处理，无法再设置失败")
    return SandboxPayouts(store.TableSandboxPayoutStore()).mark_failed(withdrawal_id)
