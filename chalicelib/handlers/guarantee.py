"""Merchant guarantee deposit routes."""

from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.handlers.web import RequestContext, route
from chalicelib.services import guarantee

bp = Blueprint(__name__)


class GuaranteeIn(BaseModel):
    amount_fen: int = Field(gt=0, le=100_000_000, description="本次缴纳的保证金（分）；缴纳后总额应在 500–2000 元")


class GuaranteeOut(BaseModel):
    guarantee_fen: int = Field(description="保证金总额（分）")


class ReleaseOut(BaseModel):
    released_fen: int


@route(
    bp,
    "/v1/merchant/guarantee",
    "POST",
    summary="缴纳保证金（从钱包划转）",
    tags=["money"],
    auth=("merchant",),
    body=GuaranteeIn,
    response=GuaranteeOut,
    status=201,
    idempotency="required",
    errors=(409,),
)
def lock_guarantee(ctx: RequestContext, body: GuaranteeIn) -> GuaranteeOut:
    return GuaranteeOut(guarantee_fen=guarantee.lock(ctx.caller.id, body.amount_fen))


@route(
    bp,
    "/v1/merchant/guarantee/release",
    "POST",
    summary="申请退回保证金（无进行中任务与纠纷时）",
    tags=["money"],
    auth=("merchant",),
    response=ReleaseOut,
    idempotency="required",
    errors=(409,),
)
def release_guarantee(ctx: RequestContext) -> ReleaseOut:
    return ReleaseOut(released_fen=guarantee.release(ctx.caller.id))
