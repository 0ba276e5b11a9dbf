"""The desk's risk review: flags raised by the risk engine, and their resolution (admin role, audit-logged)."""

from __future__ import annotations

from typing import Any, Literal

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.domain import risk_rules
from chalicelib.handlers.pagination import Page, PageQuery
from chalicelib.handlers.web import RequestContext, route
from chalicelib.services import risk

bp = Blueprint(__name__)


class FlagsQuery(PageQuery):
    status: Literal["open", "resolved"] = Field("open", description="open 待处理 / resolved 已处理")


class FlagOut(BaseModel):
    id: str
    rule_id: str
    description: str = Field(description="规则说明")
    subject: str = Field(description="被标记的对象：用户 usr_…、充值 dep_… 等")
    status: str = Field(description="open / resolved")
    severity: str = Field(description="low / medium / high")
    score: int | None = Field(None, description="规则分值 0–100")
    action: str | None = Field(None, description="自动采取的处置：flag / hold_payouts / freeze / pause_merchant")
    evidence: dict[str, Any] = Field(description="证据（不含明文设备号、IP、证件号或账号）")
    created_at: str
    resolution: str | None = None
    resolved_by: str | None = None
    resolved_at: str | None = None
    note: str | None = None


class ResolveIn(BaseModel):
    action: Literal["dismiss", "confirm", "release_hold", "unfreeze", "resume_merchant", "freeze"] = Field(
        description="dismiss 误报（撤销自动处置）/ confirm 确认 / release_hold 恢复提现 / unfreeze 解冻 / "
        "resume_merchant 恢复商家任务与保证金 / freeze 冻结账号"
    )
    note: str | None = Field(None, max_length=500, description="处理说明（写入审计日志）")


def _out(f: Any) -> FlagOut:
    known = risk_rules.RULES.get(f.rule_id)
    return FlagOut(
        id=f.flag_id,
        rule_id=f.rule_id,
        description=known.description if known else (f.evidence or {}).get("description", f.rule_id),
        subject=f.subject,
        status=f.status,
        severity=f.severity,
        score=int(f.score) if f.score is not None else None,
        action=f.action,
        evidence=dict(f.evidence or {}),
        created_at=f.created_at,
        resolution=f.resolution,
        resolved_by=f.resolved_by,
        resolved_at=f.resolved_at,
        note=f.resolution_note,
    )


@route(
    bp,
    "/v1/admin/risk/flags",
    summary="风险标记列表（按状态，最新在前）",
    tags=["admin"],
    auth=("admin",),
    query=FlagsQuery,
    response=Page[FlagOut],
    errors=(401, 403, 422),
)
def list_flags(ctx: RequestContext, query: FlagsQuery) -> Page[FlagOut]:
    items, next_cursor = risk.list_flags(query.status, limit=query.limit, page_cursor=query.cursor)
    return Page[FlagOut](items=[_out(f) for f in items], next_cursor=next_cursor)


@route(
    bp,
    "/v1/admin/risk/flags/{flag_id}/resolve",
    "POST",
    summary="处理风险标记：误报、确认、恢复提现、解冻、恢复商家、冻结（记入审计日志）",
    tags=["admin"],
    auth=("admin",),
    body=ResolveIn,
    response=FlagOut,
    idempotency="optional",
    errors=(401, 403, 404, 409, 422),
)
def resolve_flag(ctx: RequestContext, flag_id: str, body: ResolveIn) -> FlagOut:
    return _out(risk.resolve_flag(ctx.caller, flag_id, body.action, note=body.note, request_id=ctx.request_id))
