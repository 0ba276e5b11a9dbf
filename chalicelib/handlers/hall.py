"""The task hall for workers: the listing with filters and sorts, and one listed task's public page."""

from __future__ import annotations

from typing import Any, Literal

from chalice import Blueprint
from pydantic import BaseModel, Field, field_validator, model_validator

from chalicelib.domain import hall as H
from chalicelib.domain.tasks import Category
from chalicelib.handlers.pagination import PageQuery
from chalicelib.handlers.web import RequestContext, route
from chalicelib.services import hall

bp = Blueprint(__name__)
WORKERS = ("worker",)


class HallQueryIn(PageQuery):
    category: Category | None = None
    min_reward_fen: int | None = Field(None, ge=0, le=100_000_000, description="最低奖励（分，含）")
    max_reward_fen: int | None = Field(None, ge=0, le=100_000_000, description="最高奖励（分，含）")
    near: str | None = Field(None, max_length=64, description="附近：纬度,经度（WGS-84），如 31.2304,121.4737")
    radius_km: float | None = Field(
        None, ge=H.RADIUS_KM_RANGE[0], le=H.RADIUS_KM_RANGE[1], description="附近半径（公里），默认 5"
    )
    sort: Literal["newest", "reward", "ending"] = Field(
        "newest", description="newest 最新 · reward 奖励最高 · ending 即将结束"
    )

    @field_validator("near")
    @classmethod
    def _near(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            lat, lng = (float(p) for p in value.split(","))
        except ValueError:
            raise ValueError("格式应为 纬度,经度，例如 31.2304,121.4737") from None
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise ValueError("经纬度超出范围")
        return value

    @model_validator(mode="after")
    def _range(self) -> HallQueryIn:
        if self.min_reward_fen is not None and self.max_reward_fen is not None:
            if self.min_reward_fen > self.max_reward_fen:
                raise ValueError("最低奖励不能高于最高奖励")
        if self.radius_km is not None and self.near is None:
            raise ValueError("设置半径时请同时提供 near")
        return self

    def point(self) -> tuple[float, float] | None:
        if self.near is None:
            return None
        lat, lng = (float(p) for p in self.near.split(","))
        return lat, lng


class MerchantOut(BaseModel):
    merchant_id: str
    average_rating: float | None = Field(description="用户给商家的平均评分（1–5）")
    rating_count: int
    mean_review_s: int | None = Field(description="平均审核用时（秒）")
    median_review_s: int | None = Field(description="审核用时中位数（秒；按分段直方图估算，误差在所在分段内）")
    reject_rate: float | None = Field(description="驳回率 = 驳回数 ÷ 审核数")
    reviewed_count: int


class LockedOut(BaseModel):
    code: str = Field(description="领取时会得到的错误码，如 PREMIUM_ONLY、CREDIT_TOO_LOW、NOT_ELIGIBLE")
    message: str


class HallItemOut(BaseModel):
    id: str
    title: str
    category: Category
    category_label: str
    reward_fen: int
    slots_left: int
    ends_at: str
    published_at: str
    member: bool = Field(description="会员商家的任务（排在同一排序的前面）")
    distance_m: int | None = Field(description="按 near 查询时与任务地点的距离（米）")
    merchant: MerchantOut
    locked_reason: LockedOut | None = Field(description="能看到但暂不能领取的原因；可领取时为 null")
    pinned: bool = Field(False, description="置顶任务：按类型筛选时排在第一页最前面")


class HallPageOut(BaseModel):
    items: list[HallItemOut]
    next_cursor: str | None = Field(description="下一页的游标；为 null 表示没有更多了（偶有最后一页为空）")


class PublicTaskOut(BaseModel):
    id: str
    title: str
    description: str
    category: Category
    category_label: str
    steps: list[str]
    proof: dict[str, Any]
    eligibility: dict[str, Any]
    reward_fen: int
    slots_left: int
    claim_ttl_s: int
    review_ttl_s: int
    ends_at: str
    published_at: str | None
    merchant: MerchantOut
    locked_reason: LockedOut | None


def _merchant(m: hall.MerchantSummary) -> MerchantOut:
    return MerchantOut(**m.__dict__)


@route(
    bp,
    "/v1/hall",
    summary="任务大厅：可按类型、奖励、附近筛选，按最新/奖励/即将结束排序，会员商家任务优先",
    tags=["hall"],
    auth=WORKERS,
    query=HallQueryIn,
    response=HallPageOut,
    errors=(400, 401, 403, 422),
)
def browse(ctx: RequestContext, query: HallQueryIn) -> HallPageOut:
    page = hall.browse(
        ctx.caller,
        hall.HallQuery(
            sort=H.Sort(query.sort),
            category=query.category,
            min_reward_fen=query.min_reward_fen,
            max_reward_fen=query.max_reward_fen,
            near=query.point(),
            radius_km=query.radius_km,
            limit=query.limit,
            cursor=query.cursor,
        ),
    )
    items = [
        HallItemOut(
            **{k: v for k, v in i.__dict__.items() if k not in ("merchant", "locked_reason")},
            merchant=_merchant(i.merchant),
            locked_reason=LockedOut(**i.locked_reason) if i.locked_reason else None,
        )
        for i in page.items
    ]
    return HallPageOut(items=items, next_cursor=page.next_cursor)


@route(
    bp,
    "/v1/hall/{task_id}",
    summary="大厅任务详情（领取前查看要求）",
    tags=["hall"],
    auth=WORKERS,
    response=PublicTaskOut,
    errors=(401, 403, 404),
)
def public_task(ctx: RequestContext, task_id: str) -> PublicTaskOut:
    t = hall.public_task(ctx.caller, task_id)
    return PublicTaskOut(
        **{k: v for k, v in t.__dict__.items() if k not in ("merchant", "locked_reason")},
        merchant=_merchant(t.merchant),
        locked_reason=LockedOut(**t.locked_reason) if t.locked_reason else None,
    )
