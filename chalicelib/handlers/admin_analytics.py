"""The desk's analytics: activity overview and the region heatmap, read from stream-maintained rollups only."""

from __future__ import annotations

from datetime import date

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.handlers.web import RequestContext, route
from chalicelib.services import analytics

bp = Blueprint(__name__)

ADMIN = ("admin",)


class OverviewQuery(BaseModel):
    on: date | None = Field(None, alias="date", description="统计日（北京时间），默认今天；同时返回所在周和月")


class Figures(BaseModel):
    bucket: str = Field(description="2026-11-25 / 2026-W48 / 2026-11（北京时间）")
    active_users: int = Field(description="活跃用户数（登录、刷新凭证、领取/提交任务、商家操作任务，去重）")
    new_users: int
    new_workers: int
    new_merchants: int
    tasks_published: int
    claims_created: int
    claims_accepted: int
    claims_rejected: int
    claims_expired: int
    claims_abandoned: int
    completion_rate: float | None = Field(description="通过 ÷（通过+驳回+超时+放弃），无结果时为 null")
    reviews: int = Field(description="商家审核次数（含超时自动通过）")
    median_review_s: int | None = Field(description="从提交到审核的中位时长（秒，由分桶直方图估算）")


class OverviewOut(BaseModel):
    date: str
    day: Figures
    week: Figures
    month: Figures


class HeatmapQuery(BaseModel):
    from_: date = Field(alias="from", description="开始日期（北京时间）")
    to: date = Field(description="结束日期（北京时间，含），最多 92 天")


class CellOut(BaseModel):
    cell: str = Field(description="H3 单元（分辨率 5）")
    lat: float
    lng: float
    tasks: int
    claims: int


class ProvinceOut(BaseModel):
    province: str = Field(description="省级行政区划代码；00 表示不限地区的任务或未实名的用户")
    tasks: int
    claims: int


class HeatmapOut(BaseModel):
    from_: str = Field(alias="from")
    to: str
    resolution: int
    cells: list[CellOut]
    provinces: list[ProvinceOut]


@route(
    bp,
    "/v1/admin/analytics/overview",
    summary="运营概览：日/周/月活跃用户、新用户、发布任务数、完成率、审核时长中位数",
    tags=["admin"],
    auth=ADMIN,
    query=OverviewQuery,
    response=OverviewOut,
    errors=(401, 403, 422),
)
def overview(ctx: RequestContext, query: OverviewQuery) -> OverviewOut:
    return OverviewOut.model_validate(analytics.overview(query.on))


@route(
    bp,
    "/v1/admin/analytics/heatmap",
    summary="地区热力图：任务发布和领取按 H3 单元与省份汇总",
    tags=["admin"],
    auth=ADMIN,
    query=HeatmapQuery,
    response=HeatmapOut,
    errors=(401, 403, 422),
)
def heatmap(ctx: RequestContext, query: HeatmapQuery) -> dict:
    return HeatmapOut.model_validate(analytics.heatmap(query.from_, query.to)).model_dump(mode="json", by_alias=True)
