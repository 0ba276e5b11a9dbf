"""The desk's generated report files (finance and activity CSVs per day, week and month) with download links."""

from __future__ import annotations

from typing import Literal

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.handlers.pagination import PageQuery
from chalicelib.handlers.web import RequestContext, route
from chalicelib.services import reports

bp = Blueprint(__name__)


class ReportsQuery(PageQuery):
    period: Literal["day", "week", "month"] = Field("day", description="日报、周报或月报")


class ReportOut(BaseModel):
    period: str
    bucket: str = Field(description="2026-11-25 / 2026-W48 / 2026-11（北京时间）")
    kind: str = Field(description="finance 资金 | activity 运营")
    period_start: str
    period_end: str
    rows: int
    size_bytes: int
    generated_at: str
    download_url: str = Field(description="限时下载链接（15 分钟内有效），CSV，UTF-8 带 BOM")


class ReportPage(BaseModel):
    items: list[ReportOut]
    next_cursor: str | None


@route(
    bp,
    "/v1/admin/reports",
    summary="报表文件：资金与运营的日报、周报、月报（新的在前，附限时下载链接）",
    tags=["admin"],
    auth=("finance",),
    query=ReportsQuery,
    response=ReportPage,
    errors=(400, 401, 403, 422),
)
def list_reports(ctx: RequestContext, query: ReportsQuery) -> ReportPage:
    items, next_cursor = reports.listing(query.period, limit=query.limit, cursor=query.cursor)
    return ReportPage(
        items=[
            ReportOut(
                period=r.period,
                bucket=r.bucket,
                kind=r.report_kind,
                period_start=r.period_start,
                period_end=r.period_end,
                rows=int(r.rows),
                size_bytes=int(r.size_bytes),
                generated_at=r.generated_at,
                download_url=reports.download_url(r),
            )
            for r in items
        ],
        next_cursor=next_cursor,
    )
