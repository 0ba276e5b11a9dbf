"""Local-stage-only payment routes: the sandbox provider pays a deposit (or fails it) and settles payouts."""

from __future__ import annotations

from typing import Literal

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.handlers.web import USER, RequestContext, route
from chalicelib.services import deposits

bp = Blueprint(__name__)


class SandboxPayQuery(BaseModel):
    result: Literal["success", "fail"] = Field("success", description="success 支付成功；fail 支付失败")


class ProviderAnswerOut(BaseModel):
    provider_status: int = Field(description="我方通知接口对沙箱渠道的 HTTP 应答码")
    provider_answer: str = Field(description="我方通知接口的应答正文（支付宝式：success / fail）")


@route(
    bp,
    "/v1/sandbox/deposits/{deposit_id}/pay",
    "POST",
    summary="沙箱渠道支付该充值单：签名通知送到 /v1/payments/sandbox/notify（仅 local 阶段）",
    tags=["sandbox"],
    auth=USER,
    query=SandboxPayQuery,
    response=ProviderAnswerOut,
)
def sandbox_pay(ctx: RequestContext, deposit_id: str, query: SandboxPayQuery) -> ProviderAnswerOut:
    deposits.get(ctx.caller.id, deposit_id)  # only the payer's own deposit (404 otherwise)
    outcome = deposits.sandbox_pay(deposit_id, query.result)
    return ProviderAnswerOut(provider_status=outcome.status_code, provider_answer=outcome.body.decode("utf-8"))


class SandboxFailOut(BaseModel):
    withdrawal_id: str
    will_fail: bool


@route(
    bp,
    "/v1/sandbox/withdrawals/{withdrawal_id}/fail",
    "POST",
    summary="让沙箱渠道的这笔提现在下次结算时失败（仅 local 阶段）",
    tags=["sandbox"],
    auth=USER,
    response=SandboxFailOut,
)
def sandbox_fail_withdrawal(ctx: RequestContext, withdrawal_id: str) -> SandboxFailOut:
    from chalicelib.services import withdrawals

    return SandboxFailOut(withdrawal_id=withdrawal_id, will_fail=withdrawals.sandbox_fail(ctx.caller.id, withdrawal_id))
