"""Wallet routes: balances, statement lines, CSV statements."""

from __future__ import annotations

from datetime import date

from chalice import Blueprint, Response
from pydantic import BaseModel, Field

from chalicelib.handlers.pagination import Page, PageQuery
from chalicelib.handlers.web import USER, RequestContext, route
from chalicelib.services import wallet

bp = Blueprint(__name__)


class WalletOut(BaseModel):
    available_fen: int = Field(description="可用余额（分）")
    frozen_fen: int = Field(description="冻结金额（分）：商家为任务托管中的资金，用户为待解锁的新人红包")
    guarantee_fen: int = Field(description="保证金（分）")
    withdrawing_fen: int = Field(description="提现处理中（分）")
    bonus_locked_fen: int = Field(
        description="待解锁的新人红包（分），首个任务通过验收后转入可用余额；已含在 frozen_fen 中"
    )


class EntryOut(BaseModel):
    id: str = Field(description="交易编号")
    type: str
    type_label: str
    description: str
    amount_fen: int = Field(description="变动金额（分），收入为正，支出为负")
    balance_after_fen: int | None = Field(description="变动后可用余额（分）")
    created_at: str


class StatementQuery(BaseModel):
    from_: date = Field(alias="from", description="开始日期（北京时间，含），例如 2026-11-01")
    to: date = Field(description="结束日期（北京时间，含）")


@route(bp, "/v1/wallet", summary="我的钱包余额", tags=["money"], auth=USER, response=WalletOut)
def get_wallet(ctx: RequestContext) -> WalletOut:
    return WalletOut(**wallet.wallet(ctx.caller.id).__dict__)


@route(
    bp,
    "/v1/wallet/entries",
    summary="钱包流水（新的在前）",
    tags=["money"],
    auth=USER,
    query=PageQuery,
    response=Page[EntryOut],
)
def list_entries(ctx: RequestContext, query: PageQuery) -> Page[EntryOut]:
    items, next_cursor = wallet.entries(ctx.caller.id, limit=query.limit, page_cursor=query.cursor)
    return Page[EntryOut](items=[EntryOut(**e.__dict__) for e in items], next_cursor=next_cursor)


@route(
    bp,
    "/v1/wallet/statement.csv",
    summary="导出对账单 CSV（UTF-8 带 BOM，北京时间）",
    tags=["money"],
    auth=USER,
    query=StatementQuery,
    response_content_type="text/csv",
)
def statement_csv(ctx: RequestContext, query: StatementQuery) -> Response:
    body = wallet.statement_csv(ctx.caller.id, query.from_, query.to)
    filename = f"taskhall-statement-{query.from_.isoformat()}-{query.to.isoformat()}.csv"
    return Response(
        body=body,
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )
