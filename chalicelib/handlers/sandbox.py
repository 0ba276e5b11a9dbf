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
    now: str


@route(
    bp,
    "/v1/sandbox/clock",
    "POST",
    summary="拨动本地时钟并执行到期的定时任务（仅 local 阶段）",
    tags=["sandbox"],
    auth=PUBLIC,
    body=ClockIn,
    response=ClockOut,
)
def advance_clock(ctx: RequestContext, body: ClockIn) -> ClockOut:
    now = system.advance_clock(body.advance_s)
    return ClockOut(now=now.isoformat().replace("+00:00", "Z"))
