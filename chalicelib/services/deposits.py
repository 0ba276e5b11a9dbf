"""Deposits: create an order with a provider, credit the wallet once when the provider's verified
notification says it was paid, and answer the provider exactly as it expects.

The credit is one ledger transaction that also moves the deposit to `paid`; its transfer id is
`deposit:<deposit id>`, so a duplicate or replayed notification credits nothing more. A notification whose
amount differs from the order credits nothing and raises a risk flag.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import partial

from chalicelib.adapters import clock, ids
from chalicelib.adapters.log import logger
from chalicelib.config import settings
from chalicelib.domain import ledger as L
from chalicelib.domain.errors import Conflict, Invalid, NotFound, ServiceUnavailable
from chalicelib.services import risk
from chalicelib.store import cursor, deposits
from chalicelib.store import ledger as books

CHANNEL_LABELS = {"alipay": "支付宝", "wechat": "微信支付", "sandbox": "沙箱支付"}


@dataclass(frozen=True)
class DepositView:
    deposit_id: str
    status: str
    amount_fen: int
    channel: str
    created_at: str
    paid_at: str | None
    pay_params: dict[str, str] | None = None


def _view(item: deposits.DepositItem, pay_params: dict[str, str] | None = None) -> DepositView:
    return DepositView(
        deposit_id=item.deposit_id,
        status=item.status,
        amount_fen=int(item.amount_fen),
        channel=item.channel,
        created_at=item.created_at,
        paid_at=item.paid_at,
        pay_params=pay_params,
    )


def allowed_channels() -> tuple[str, ...]:
    return ("alipay", "wechat", "sandbox") if settings().is_local else ("alipay", "wechat")


def create(user_id: str, amount_fen: int, channel: str) -> DepositView:
    cfg = settings()
    if channel not in allowed_channels():
        raise Invalid({"channel": "不支持的支付渠道"})
    if not cfg.deposit_min_fen <= amount_fen <= cfg.deposit_max_fen:
        raise Invalid(
            {"amount_fen": f"单笔充值金额应在 {cfg.deposit_min_fen} 到 {cfg.deposit_max_fen} 分之间"},
            code="AMOUNT_OUT_OF_RANGE",
        )
    from chalicelib.adapters.payments import providers
    from chalicelib.adapters.payments.base import PayIntent, PaymentAdapterError

    try:
        provider = providers.provider(channel)
    except PaymentAdapterError:
        logger.exception("payment provider unavailable", extra={"channel": channel})
        raise ServiceUnavailable("CHANNEL_UNAVAILABLE", "该支付渠道暂不可用，请换一种方式") from None
    deposit_id = ids.new_id("dep")
    item = deposits.create(deposit_id, user_id, amount_fen, channel, clock.now_iso())
    intent = PayIntent(
        deposit_id=deposit_id,
        amount_fen=amount_fen,
        subject="任务大厅余额充值",
        notify_url=f"/v1/payments/{channel}/notify",
    )
    try:
        pay = provider.pay_params(intent)
    except PaymentAdapterError:
        logger.exception("pay_params failed", extra={"channel": channel, "deposit_id": deposit_id})
        deposits.mark_failed(deposit_id, "PROVIDER_ERROR")
        raise ServiceUnavailable("CHANNEL_UNAVAILABLE", "支付渠道暂时无法下单，请稍后重试") from None
    return _view(item, dict(pay.params))


def get(user_id: str, deposit_id: str) -> DepositView:
    item = deposits.get(deposit_id)
    if item is None or item.user_id != user_id:
        raise NotFound("DEPOSIT_NOT_FOUND", "充值记录不存在")
    return _view(item)


def history(user_id: str, *, limit: int, page_cursor: str | None) -> tuple[list[DepositView], str | None]:
    items, next_cursor = cursor.query_page(
        partial(deposits.query_for_user, user_id),
        scope=cursor.scope("deposits", user=user_id),
        limit=limit,
        cursor=page_cursor,
    )
    return [_view(i) for i in items], next_cursor


@dataclass(frozen=True)
class NotifyOutcome:
    status_code: int
    content_type: str
    body: bytes


def handle_notify(channel: str, body: bytes, headers: dict[str, str]) -> NotifyOutcome:
    """Verify and apply one provider notification; always return the provider's expected answer."""
    from chalicelib.adapters.payments import providers
    from chalicelib.adapters.payments.base import BadSignature, NotifyRejected, PaymentAdapterError

    if channel not in allowed_channels():
        raise NotFound("NOT_FOUND", "接口不存在")
    try:
        provider = providers.provider(channel)
    except PaymentAdapterError:
        logger.exception("notify: provider not configured", extra={"channel": channel})
        raise ServiceUnavailable("CHANNEL_UNAVAILABLE", "支付渠道暂不可用") from None

    def answer(ack: bool) -> NotifyOutcome:
        a = provider.ack() if ack else provider.nack()
        return NotifyOutcome(a.status_code, a.content_type, a.body)

    try:
        note = provider.verify_notification(body, headers)
    except BadSignature as exc:
        logger.warning("notify: bad signature", extra={"channel": channel, "reason": exc.reason})
        risk.raise_flag(
            "PAY-FORGED-NOTIFY",
            f"channel:{channel}",
            {"reason": exc.reason},
            cause=f"{exc.reason}:{hashlib.sha256(body).hexdigest()}",  # the same body flags once, in any process
            severity="high",
        )
        return answer(False)
    except NotifyRejected as exc:
        logger.warning("notify: rejected", extra={"channel": channel, "reason": exc.reason})
        return answer(False)

    deposit = deposits.get(note.out_trade_no)
    if deposit is None or deposit.channel != channel:
        logger.warning("notify: unknown order", extra={"channel": channel})
        return answer(False)
    if note.status == "failed":
        deposits.mark_failed(deposit.deposit_id, "PROVIDER_CLOSED")
        return answer(True)
    if note.status != "success":
        return answer(True)  # WAIT_BUYER_PAY and the like: nothing to do yet
    if note.amount_fen != int(deposit.amount_fen):
        risk.raise_flag(
            "PAY-AMOUNT-MISMATCH",
            deposit.user_id,
            {
                "deposit_id": deposit.deposit_id,
                "expected_fen": int(deposit.amount_fen),
                "notified_fen": note.amount_fen,
                "channel": channel,
                "provider_trade_no": note.provider_trade_no,
            },
            cause=f"{deposit.deposit_id}:{note.provider_trade_no}:{note.amount_fen}",
            severity="high",
        )
        # Acknowledged so the provider stops resending; nothing is credited and a person looks at the flag.
        return answer(True)
    credit(deposit, note.provider_trade_no)
    return answer(True)


def credit(deposit: deposits.DepositItem, provider_trade_no: str) -> bool:
    """Credit a paid deposit exactly once. Returns False when it had already been credited."""
    label = CHANNEL_LABELS.get(deposit.channel, deposit.channel)
    transfer = L.Transfer(
        id=f"deposit:{deposit.deposit_id}",
        debit=L.clearing(deposit.channel),
        credit=L.wallet(deposit.user_id),
        amount=int(deposit.amount_fen),
        code=L.Code.DEPOSIT,
        memo=f"{label}充值",
        meta={"deposit_id": deposit.deposit_id, "provider_trade_no": provider_trade_no},
    )
    extra = books.Extra(
        apply=deposits.mark_paid_op(deposit.deposit_id, provider_trade_no, clock.now_iso()),
        label="deposit:",
        error=Conflict("DEPOSIT_STATE", "充值单状态异常"),
    )
    posted = books.post([transfer], extras=[extra])
    return not posted.replayed


def sandbox_pay(deposit_id: str, result: str) -> NotifyOutcome:
    """Local stage: the sandbox provider signs a notification for this deposit and delivers it to the very
    notify handler a real provider's request reaches."""
    from chalicelib.adapters.payments import providers

    item = deposits.get(deposit_id)
    if item is None or item.channel != "sandbox":
        raise NotFound("DEPOSIT_NOT_FOUND", "充值记录不存在")
    body, content_type = providers.sandbox_provider().build_notification(
        deposit_id, int(item.amount_fen), "success" if result == "success" else "fail"
    )
    return handle_notify("sandbox", body, {"content-type": content_type})
