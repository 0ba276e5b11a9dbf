"""The desk's audit log: every admin and automated risk action, who, what, target, why, before/after (admin only)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from pydantic import AwareDatetime, BaseModel, Field

from chalicelib.handlers.pagination import PageQuery
from chalicelib.handlers.web import RequestContext, route
from chalicelib.services import audit

bp = Blueprint(__name__)


class AuditQuery(PageQuery):
    actor: str | None = Field(None, max_length=64, description="操作人用户 ID（自动风控为 system）")
    target: str | None = Field(None, max_length=200, description="对象 ID（用户、任务、商家、风险标记…）")
    action: str | None = Field(None, max_length=64, description="动作，例如 user.freeze、task.approve")
    from_: AwareDatetime | None = Field(None, alias="from", description="开始时间（含），默认结束时间前 90 天")
    to: AwareDatetime | None = Field(None, description="结束时间（不含），默认现在")


class AuditEntryOut(BaseModel):
    id: str
    at: str
    actor_id: str
    actor_role: str
    action: str
    target_type: str
    target_id: str
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None


def _plain(value: Any) -> Any:
    """MapAttribute values (and nested Decimals from DynamoDB) as JSON-friendly Python values."""
    if value is None:
        return None
    raw = value.as_dict() if hasattr(value, "as_dict") else value
    if isinstance(raw, dict):
        return {k: _plain(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_plain(v) for v in raw]
    if hasattr(raw, "as_integer_ratio") and not isinstance(raw, bool | int | float):
        return int(raw) if raw == int(raw) else float(raw)
    return raw


@route(
    bp,
    "/v1/admin/audit-log",
    summary="审计日志：后台操作和自动风控动作（谁、做了什么、对象、原因、前后状态、时间），新的在前",
    tags=["admin"],
    auth=("admin",),
    query=AuditQuery,
    response=AuditPage,
    errors=(400, 401, 403, 422),
)
def audit_log(ctx: RequestContext, query: AuditQuery) -> AuditPage:
    items, next_cursor = audit.search(
        actor=query.actor,
        target=query.target,
        action=query.action,
        start=query.from_,
        end=query.to,
        limit=query.limit,
        cursor=query.cursor,
    )
    return AuditPage(
        items=[
            AuditEntryOut(
                id=e.audit_id,
                at=e.at,
                actor_id=e.actor_id,
                actor_role=e.actor_role,
                action=e.action,
                target_type=e.target_type,
                target_id=e.target_id,
                reason=e.reason,
                before=_plain(e.before),
                after=_plain(e.after),
                request_id=e.request_id,
            )
            for e in items
        ],
        next_cursor=next_cursor,
    )
