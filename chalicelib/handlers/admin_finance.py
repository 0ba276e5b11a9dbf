"""The desk's finance views, read from stream-maintained rollups (never from the ledger by scanning)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.handlers.web import RequestContext, route
from chalicelib.services import finance

bp = Blueprint(__name__)


class FinanceQuery(BaseModel):
    period: Literal["day", "week", "month"] = "day"
    from_: date = Field(alias="from", description="开始日期（北京时间）")
    to: date = Field(description="结束日期（北京时间，含）")


class FinanceRow(BaseModel):
    bucket: str = Field(description="2026-11-25 / 2026-W48 / 2026-11（北京时间）")
    deposits_fen: int = Field(description="充值到账")
    deposits_count: int
    withdrawals_fen: int = Field(description="提现已打款")
    withdrawals_count: int
    fees_fen: int = Field(description="平台服务费收入")
    membership_fen: int = Field(description="会员费收入")
    promotion_fen: int = Field(description="商家推广费收入（revenue:promotion）")
    penalty_fen: int = Field(description="违约金收入（从保证金扣除）")
    promo_spend_fen: int = Field(description="平台推广支出：新人奖励、竞赛奖金等（expense:promo）")
    escrow_in_fen: int
    escrow_out_fen: int
    escrow_outstanding_fen: int = Field(description="该周期结束时托管中的金额")


class FinanceSummaryOut(BaseModel):
    period: str
    items: list[FinanceRow]


@route(
    bp,
    "/v1/admin/finance/summary",
    summary="资金汇总：充值、提现、服务费、会员费、推广收入与支出、违约金、托管进出与余额（按日/周/月，北京时间）",
    tags=["admin"],
    auth=("finance",),
    query=FinanceQuery,
    response=FinanceSummaryOut,
)
def finance_summary(ctx: RequestContext, query: FinanceQuery) -> FinanceSummaryOut:
    rows = finance.summary(query.period, query.from_, query.to)
    return FinanceSummaryOut(period=query.period, items=[FinanceRow(**r) for r in rows])
