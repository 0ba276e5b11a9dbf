"""Deposits and the payment providers' notification endpoints."""

from __future__ import annotations

from typing import Literal

from chalice import Blueprint, Response
from pydantic import BaseModel, Field

from chalicelib.handlers.pagination import Page, PageQuery
from chalicelib.handlers.web import PUBLIC, USER, RequestContext, route
from chalicelib.services import deposits

bp = Blueprint(__name__)


class DepositIn(BaseModel):
    amount_fen: int = Field(gt=0, le=100_000_000, description="充值金额（分）")
    channel: Literal["alipay", "wechat", "sandbox"] = Field(description="支付渠道；sandbox 仅本地阶段可用")


class DepositOut(BaseModel):
    deposit_id: str
    status: Literal["pending", "paid", "failed"]
    amount_fen: int
    channel: str
    created_at: str
    paid_at: str | None = None
    pay_params: dict[str, str] | None = Field(None, description="App 调起支付所需参数（仅创建时返回）")


def _out(v: deposits.DepositView) -> DepositOut:
    return DepositOut(**v.__dict__)


@route(
    bp,
    "/v1/deposits",
    "POST",
    summary="创建充值单，返回调起支付的参数",
    tags=["money"],
    auth=USER,
    body=DepositIn,
    response=DepositOut,
    status=201,
    idempotency="required",
    errors=(503,),
)
def create_deposit(ctx: RequestContext, body: DepositIn) -> DepositOut:
    return _out(deposits.create(ctx.caller.id, body.amount_fen, body.channel))


@route(
    bp, "/v1/deposits", summary="我的充值记录", tags=["money"], auth=USER, query=PageQuery, response=Page[DepositOut]
)
def list_deposits(ctx: RequestContext, query: PageQuery) -> Page[DepositOut]:
    items, next_cursor = deposits.history(ctx.caller.id, limit=query.limit, page_cursor=query.cursor)
    return Page[DepositOut](items=[_out(v) for v in items], next_cursor=next_cursor)


@route(bp, "/v1/deposits/{deposit_id}", summary="充值单详情", tags=["money"], auth=USER, response=DepositOut)
def get_deposit(ctx: RequestContext, deposit_id: str) -> DepositOut:
    return _out(deposits.get(ctx.caller.id, deposit_id))


@route(
    bp,
    "/v1/payments/{channel}/notify",
    "POST",
    summary="支付渠道异步通知（验签后入账；按渠道要求应答）",
    tags=["money"],
    auth=PUBLIC,
    raw=True,
    content_types=("application/x-www-form-urlencoded", "application/json", "text/plain"),
    response_content_type="text/plain",
    errors=(503,),
)
def payment_notify(ctx: RequestContext, channel: str) -> Response:
    outcome = deposits.handle_notify(channel, ctx.raw_body, ctx.headers)
    return Response(
        body=outcome.body.decode("utf-8"),
        status_code=outcome.status_code,
        headers={"Content-Type": outcome.content_type},
    )
