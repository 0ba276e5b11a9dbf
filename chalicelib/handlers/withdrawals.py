"""Withdrawal routes and the guarantee deposit."""

from __future__ import annotations

from typing import Literal

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.handlers.pagination import Page, PageQuery
from chalicelib.handlers.web import USER, RequestContext, route
from chalicelib.services import withdrawals

bp = Blueprint(__name__)


class PayoutAccountIn(BaseModel):
    number: str = Field(min_length=3, max_length=100, description="收款账号（支付宝登录名/手机号/邮箱；微信为 openid）")
    holder_name: str = Field(min_length=2, max_length=30, description="户名，须与实名认证姓名一致")


class WithdrawalIn(BaseModel):
    amount_fen: int = Field(gt=0, le=100_000_000, description="提现金额（分），最少 100")
    channel: Literal["alipay", "wechat", "sandbox"]
    account: PayoutAccountIn


class WithdrawalOut(BaseModel):
    withdrawal_id: str
    status: Literal["pending", "paid", "failed"]
    amount_fen: int
    channel: str
    account_masked: str
    created_at: str
    settled_at: str | None = None
    failure_reason: str | None = None


def _out(v: withdrawals.WithdrawalView) -> WithdrawalOut:
    return WithdrawalOut(**v.__dict__)


@route(
    bp,
    "/v1/withdrawals",
    "POST",
    summary="申请提现（需实名；户名须与实名一致；每日有次数与金额上限）",
    tags=["money"],
    auth=USER,
    body=WithdrawalIn,
    response=WithdrawalOut,
    status=201,
    idempotency="required",
    errors=(409, 429),
)
def request_withdrawal(ctx: RequestContext, body: WithdrawalIn) -> WithdrawalOut:
    from chalicelib.store import sightings

    sightings.record_sighting(ctx.caller.id, ctx.device_id, ctx.source_ip, "withdrawal")
    view = withdrawals.request(
        ctx.caller.id, body.amount_fen, body.channel, body.account.number, body.account.holder_name
    )
    return _out(view)


@route(
    bp,
    "/v1/withdrawals",
    summary="我的提现记录",
    tags=["money"],
    auth=USER,
    query=PageQuery,
    response=Page[WithdrawalOut],
)
def list_withdrawals(ctx: RequestContext, query: PageQuery) -> Page[WithdrawalOut]:
    items, next_cursor = withdrawals.history(ctx.caller.id, limit=query.limit, page_cursor=query.cursor)
    return Page[WithdrawalOut](items=[_out(v) for v in items], next_cursor=next_cursor)


@route(bp, "/v1/withdrawals/{withdrawal_id}", summary="提现详情", tags=["money"], auth=USER, response=WithdrawalOut)
def get_withdrawal(ctx: RequestContext, withdrawal_id: str) -> WithdrawalOut:
    return _out(withdrawals.get(ctx.caller.id, withdrawal_id))
