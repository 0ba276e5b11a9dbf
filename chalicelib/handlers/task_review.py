"""The desk's task routes: the review queue, approve (publish with escrow, or approved unfunded) and reject, both
audit-logged; and the per-category fee rates."""

from __future__ import annotations

from typing import Literal

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.handlers.pagination import Page, PageQuery
from chalicelib.handlers.tasks import TaskOut, out
from chalicelib.handlers.web import RequestContext, route
from chalicelib.services import tasks

bp = Blueprint(__name__)
REVIEWERS = ("admin", "reviewer")


class QueueQuery(PageQuery):
    status: Literal["pending_review"] = "pending_review"


class ApproveOut(BaseModel):
    task: TaskOut
    funded: bool = Field(description="true：已从商家钱包托管资金并上架；false：余额不足，状态为 approved_unfunded")
    escrow_fen: int = Field(description="本次托管的金额（分）")


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=2, max_length=500, description="驳回理由（商家可见）")


class FeesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category_bps: dict[str, int] = Field(description="各任务类型的服务费率（基点，300–1000）；未列出的类型按 500")


class FeesOut(BaseModel):
    category_bps: dict[str, int]


@route(
    bp,
    "/v1/admin/tasks",
    summary="任务审核队列（先提交的在前）",
    tags=["admin"],
    auth=REVIEWERS,
    query=QueueQuery,
    response=Page[TaskOut],
    errors=(401, 403),
)
def review_queue(ctx: RequestContext, query: QueueQuery) -> Page[TaskOut]:
    items, nxt = tasks.review_queue(ctx.caller, limit=query.limit, page_cursor=query.cursor)
    return Page[TaskOut](items=[out(i) for i in items], next_cursor=nxt)


@route(
    bp,
    "/v1/admin/tasks/{task_id}/approve",
    "POST",
    summary="审核通过：商家余额足够即托管资金并上架，否则进入待充值上架（写入审计日志）",
    tags=["admin"],
    auth=REVIEWERS,
    response=ApproveOut,
    idempotency="optional",
    errors=(401, 403, 404, 409),
)
def approve_task(ctx: RequestContext, task_id: str) -> ApproveOut:
    done = tasks.approve(ctx.caller, task_id, request_id=ctx.request_id)
    return ApproveOut(task=out(done.task), funded=done.funded, escrow_fen=done.escrow_fen)


@route(
    bp,
    "/v1/admin/tasks/{task_id}/reject",
    "POST",
    summary="驳回任务并说明理由（写入审计日志）",
    tags=["admin"],
    auth=REVIEWERS,
    body=RejectIn,
    response=TaskOut,
    errors=(401, 403, 404, 409, 422),
)
def reject_task(ctx: RequestContext, task_id: str, body: RejectIn) -> TaskOut:
    return out(tasks.reject(ctx.caller, task_id, body.reason, request_id=ctx.request_id))


@route(
    bp,
    "/v1/admin/settings/fees",
    "PUT",
    summary="设置各任务类型的服务费率（仅管理员，写入审计日志；已上架任务的费率不变）",
    tags=["admin"],
    auth=("admin",),
    body=FeesIn,
    response=FeesOut,
    errors=(401, 403, 422),
)
def put_fees(ctx: RequestContext, body: FeesIn) -> FeesOut:
    return FeesOut(category_bps=tasks.save_fee_settings(ctx.caller, body.category_bps, request_id=ctx.request_id))
