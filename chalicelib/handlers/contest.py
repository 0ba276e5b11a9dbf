"""Weekly contest route: this week's leaderboard with the caller's own rank."""

from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.handlers.web import USER, RequestContext, route
from chalicelib.services import contest

bp = Blueprint(__name__)


class ContestEntryOut(BaseModel):
    rank: int
    name: str = Field(description="脱敏姓名（张**）或手机号（138****0000）")
    count: int = Field(description="本周通过的任务数")
    reached_at: str = Field(description="达到该数量的时间（同数量时先达到者在前）")
    prize_fen: int = Field(description="该名次的奖金（分），无奖金为 0")


class ContestOut(BaseModel):
    week_id: str = Field(description="本周一的日期（北京时间）")
    starts_at: str = Field(description="周一 00:00（北京时间）")
    ends_at: str = Field(description="下周一 00:00（北京时间），此时结算")
    top: list[ContestEntryOut] = Field(description="前 20 名")
    my_rank: int | None = Field(description="我的名次；本周还没有通过的任务为 null")
    my_count: int = Field(description="我本周通过的任务数")
    prizes_fen: list[int] = Field(description="第 1、2、3 名的奖金（分）")
    closed: bool = Field(description="本周是否已结算")


@route(
    bp,
    "/v1/contests/current",
    summary="本周任务达人榜：前 20 名（脱敏）、我的名次与奖金",
    tags=["growth"],
    auth=USER,
    response=ContestOut,
    errors=(401,),
)
def current_contest(ctx: RequestContext) -> ContestOut:
    board = contest.current(ctx.caller)
    return ContestOut(
        week_id=board.week_id,
        starts_at=board.starts_at,
        ends_at=board.ends_at,
        top=[ContestEntryOut(**e.__dict__) for e in board.top],
        my_rank=board.my_rank,
        my_count=board.my_count,
        prizes_fen=board.prizes_fen,
        closed=board.closed,
    )
