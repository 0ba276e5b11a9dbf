"""Merchant membership routes: buy or extend the monthly plan, and see status, current period and history."""

from __future__ import annotations

from typing import Literal

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.handlers.web import RequestContext, route
from chalicelib.services import membership

bp = Blueprint(__name__)


class MembershipIn(BaseModel):
    plan: Literal["monthly"] = Field(description="会员方案：monthly（30 天）")


class PeriodOut(BaseModel):
    seq: int = Field(description="第几期")
    plan: str
    starts_at: str
    ends_at: str
    amount_fen: int
    paid_at: str


class MembershipOut(BaseModel):
    status: Literal["none", "active", "expired"]
    plan: str | None
    active_until: str | None = Field(description="会员有效期至（此刻起不再享受会员权益）")
    current: PeriodOut | None = Field(description="当前所在的会员期")
    fee_bps: int = Field(description="现在发布任务将锁定的服务费率（基点）；会员 200，非会员按类目费率")
    price_fen: int = Field(description="月度会员价格（分）")
    history: list[PeriodOut] = Field(description="购买记录，最近的在前（最多 24 条）")


def _out(v: membership.MembershipView) -> MembershipOut:
    return MembershipOut(
        status=v.status,  # type: ignore[arg-type]
        plan=v.plan,
        active_until=v.active_until,
        current=PeriodOut(**v.current.__dict__) if v.current else None,
        fee_bps=v.fee_bps,
        price_fen=v.price_fen,
        history=[PeriodOut(**p.__dict__) for p in v.history],
    )


@route(
    bp,
    "/v1/membership",
    "POST",
    summary="购买或续费商家会员（从钱包扣款；有效期内续费从当前到期日顺延）",
    tags=["growth"],
    auth=("merchant",),
    body=MembershipIn,
    response=MembershipOut,
    status=201,
    idempotency="required",
    errors=(400, 409, 422),
)
def buy_membership(ctx: RequestContext, body: MembershipIn) -> MembershipOut:
    return _out(membership.purchase(ctx.caller, body.plan))


@route(
    bp,
    "/v1/membership",
    summary="我的商家会员：状态、当前会员期、购买记录",
    tags=["growth"],
    auth=("merchant",),
    response=MembershipOut,
)
def get_membership(ctx: RequestContext) -> MembershipOut:
    return _out(membership.view(ctx.caller.id))
