"""Local-stage-only routes (registered by app.py only when the stage is local): the stage clock."""

from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.handlers.web import PUBLIC, RequestContext, route
from chalicelib.services import system

bp = Blueprint(__name__)


class ClockIn(BaseModel):
    advance_s: int = Field(ge=0, le=366 * 86400, description="把本地阶段的时钟向前拨动的秒数")


class ClockOut(BaseModel):
    now: str = Field(description="拨动后的阶段时间（RFC 3339 UTC）")
    ran: list[str] = Field(description="本次执行了的定时任务")
    failed: list[str] = Field(description="本次执行失败的定时任务（下次拨动或定时触发时重试）")


@route(
    bp,
    "/v1/sandbox/clock",
    "POST",
    summary="拨动本地时钟并执行到期的定时任务（仅 local 阶段）",
    tags=["sandbox"],
    auth=PUBLIC,
    body=ClockIn,
    response=ClockOut,
    errors=(409,),
)
def advance_clock(ctx: RequestContext, body: ClockIn) -> ClockOut:
    now, ran, failed = system.advance_clock(body.advance_s)
    return ClockOut(now=now.isoformat().replace("+00:00", "Z"), ran=ran, failed=failed)
