"""Promoted (置顶) task route: the owning merchant pays to pin a published task at the top of its category."""

from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.handlers.web import RequestContext, route
from chalicelib.services import promoted

bp = Blueprint(__name__)


class PromotionOut(BaseModel):
    task_id: str
    category: str
    pinned_from: str = Field(description="本次置顶开始时间（已在置顶中则从当前置顶结束时顺延）")
    pinned_until: str = Field(description="置顶结束时间")
    price_fen: int = Field(description="本次支付的置顶费（分）")
    times: int = Field(description="该任务累计置顶次数")


@route(
    bp,
    "/v1/tasks/{task_id}/promotion",
    "POST",
    summary="任务置顶 24 小时（从钱包扣置顶费；在其类型的任务大厅第一页置顶）",
    tags=["growth"],
    auth=("merchant",),
    response=PromotionOut,
    status=201,
    idempotency="required",
    errors=(400, 404, 409),
)
def promote_task(ctx: RequestContext, task_id: str) -> PromotionOut:
    return PromotionOut(**promoted.promote(ctx.caller, task_id).__dict__)
