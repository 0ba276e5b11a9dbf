"""Merchant task routes: drafts, submit (content screen), fund, pause/resume, cancel, more slots, lists, stats."""

from __future__ import annotations

from typing import Any, Literal

from chalice import Blueprint
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from chalicelib.domain.tasks import Category
from chalicelib.handlers.pagination import Page, PageQuery
from chalicelib.handlers.web import RequestContext, route
from chalicelib.services import tasks

bp = Blueprint(__name__)
MERCHANT = ("merchant",)

TaskStatusName = Literal[
    "draft",
    "pending_review",
    "rejected",
    "approved_unfunded",
    "published",
    "paused",
    "completed",
    "cancelled",
    "expired",
]


class GpsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lat: float = Field(ge=-90, le=90, description="打卡地点纬度（WGS-84）")
    lng: float = Field(ge=-180, le=180, description="打卡地点经度（WGS-84）")
    radius_m: int = Field(description="打卡范围（米），50–5000")


class ProofIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(None, max_length=1000, description="用户须填写的文字说明要求，1–200 字")
    images_min: int | None = Field(None, ge=0, le=100, description="至少上传的截图数，0–9")
    gps: GpsIn | None = Field(None, description="定位打卡要求；地推（promotion）任务必填")
    order_no: bool = Field(False, description="是否要求填写订单号")


class EligibilityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_credit: int | None = Field(None, description="信用分门槛，0–150")
    regions: list[str] = Field(default_factory=list, max_length=40, description="限定省份（2 位行政区划代码）")
    new_workers_only: bool = Field(False, description="仅限从未完成过任务的新用户")
    premium_pool: bool = Field(False, description="优质任务池：信用分 ≥ 120 且已实名")


class TaskIn(BaseModel):
    """A new task draft. Limits are checked with Chinese messages per field (see each description)."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(max_length=200, description="标题，4–40 字")
    description: str = Field(max_length=10_000, description="任务说明，10–2000 字")
    category: Category
    steps: list[str] = Field(max_length=50, description="操作步骤，1–10 步，每步 2–200 字")
    proof: ProofIn = Field(description="提交要求，至少一项")
    reward_fen: int = Field(ge=0, le=100_000_000, description="每个名额的奖励（分），10–100000")
    slots: int = Field(ge=0, le=1_000_000, description="名额数，1–10000")
    claim_ttl_s: int = Field(ge=0, le=100_000_000, description="领取后须在多少秒内提交，600–604800")
    review_ttl_s: int = Field(86400, ge=0, le=100_000_000, description="提交后多少秒内未审核即自动通过，3600–604800")
    ends_at: AwareDatetime = Field(description="任务结束时间（RFC 3339），至少 1 小时后、180 天内")
    eligibility: EligibilityIn = Field(default_factory=EligibilityIn)


class TaskPatch(BaseModel):
    """Fields to replace on a draft or rejected task (each given field replaces the old value whole)."""

    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=10_000)
    category: Category | None = None
    steps: list[str] | None = Field(None, max_length=50)
    proof: ProofIn | None = None
    reward_fen: int | None = Field(None, ge=0, le=100_000_000)
    slots: int | None = Field(None, ge=0, le=1_000_000)
    claim_ttl_s: int | None = Field(None, ge=0, le=100_000_000)
    review_ttl_s: int | None = Field(None, ge=0, le=100_000_000)
    ends_at: AwareDatetime | None = None
    eligibility: EligibilityIn | None = None


class TaskOut(BaseModel):
    id: str
    merchant_id: str
    status: TaskStatusName
    title: str
    description: str
    category: Category
    steps: list[str]
    proof: dict[str, Any]
    eligibility: dict[str, Any]
    reward_fen: int
    slots: int
    slots_left: int = Field(description="可领取的剩余名额")
    claim_ttl_s: int
    review_ttl_s: int
    ends_at: str
    created_at: str
    updated_at: str
    submitted_at: str | None
    published_at: str | None
    closed_at: str | None
    fee_bps: int | None = Field(description="上架时锁定的服务费率（基点）")
    unit_cost_fen: int | None = Field(description="每个名额托管金额 = 奖励 + 服务费（分）")
    escrow_required_fen: int | None = Field(description="全部名额的托管金额（分）")
    screen_rule: str | None = Field(description="内容审核命中的规则编号（被自动驳回时）")
    screen_flags: list[str] = Field(description="内容审核提示人工重点核对的规则")
    review_reason: str | None = Field(description="驳回理由")


def out(v: tasks.TaskView) -> TaskOut:
    return TaskOut(**v.__dict__)


class TaskListQuery(PageQuery):
    status: TaskStatusName | None = None


class SlotsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    add: int = Field(ge=1, le=10_000, description="追加的名额数")


class CancelOut(BaseModel):
    task: TaskOut
    refund_fen: int = Field(description="退回钱包的托管金额（未被领取的名额）")


class StatsOut(BaseModel):
    task_id: str
    status: TaskStatusName
    slots: int
    slots_left: int
    claimed: int = Field(description="累计领取次数")
    open_claims: int = Field(description="进行中（已领取、待审核、申诉中）的领取")
    submitted: int
    accepted: int
    rejected: int
    expired: int
    abandoned: int
    completion_rate: float | None = Field(description="通过数 ÷ 领取数")
    mean_submit_s: int | None = Field(description="从领取到提交的平均用时（秒）")
    median_submit_s: int | None = Field(description="从领取到提交的用时中位数（秒；按分段直方图估算）")
    funded_fen: int = Field(description="累计托管（分）")
    spent_fen: int = Field(description="已支付的奖励与服务费（分）")
    escrow_fen: int = Field(description="仍在托管中（分）")
    refunded_fen: int = Field(description="已退回钱包（分）")


@route(
    bp,
    "/v1/tasks",
    "POST",
    summary="创建任务草稿",
    tags=["tasks"],
    auth=MERCHANT,
    signed=True,
    body=TaskIn,
    response=TaskOut,
    status=201,
    errors=(401, 403, 422),
)
def create_task(ctx: RequestContext, body: TaskIn) -> TaskOut:
    return out(tasks.create(ctx.caller, body.model_dump()))


@route(
    bp,
    "/v1/tasks/{task_id}",
    "PATCH",
    summary="修改草稿或被驳回的任务（修改后回到草稿）",
    tags=["tasks"],
    auth=MERCHANT,
    signed=True,
    body=TaskPatch,
    response=TaskOut,
    errors=(401, 403, 404, 409, 422),
)
def edit_task(ctx: RequestContext, task_id: str, body: TaskPatch) -> TaskOut:
    return out(tasks.edit(ctx.caller, task_id, body.model_dump(exclude_unset=True, exclude_none=True)))


@route(
    bp,
    "/v1/tasks/{task_id}/submit",
    "POST",
    summary="提交审核：先经内容审核，违规即驳回（409 CONTENT_REJECTED，附规则编号），其余进入人工审核",
    tags=["tasks"],
    auth=MERCHANT,
    signed=True,
    response=TaskOut,
    errors=(401, 403, 404, 409, 422),
)
def submit_task(ctx: RequestContext, task_id: str) -> TaskOut:
    return out(tasks.submit(ctx.caller, task_id))


@route(
    bp,
    "/v1/tasks/{task_id}/fund",
    "POST",
    summary="为已通过审核但余额不足的任务托管资金并上架",
    tags=["tasks"],
    auth=MERCHANT,
    signed=True,
    response=TaskOut,
    idempotency="optional",
    errors=(401, 403, 404, 409),
)
def fund_task(ctx: RequestContext, task_id: str) -> TaskOut:
    return out(tasks.fund(ctx.caller, task_id))


@route(
    bp,
    "/v1/tasks/{task_id}/pause",
    "POST",
    summary="暂停任务（从任务大厅下架，已领取的继续）",
    tags=["tasks"],
    auth=MERCHANT,
    signed=True,
    response=TaskOut,
    errors=(401, 403, 404, 409),
)
def pause_task(ctx: RequestContext, task_id: str) -> TaskOut:
    return out(tasks.pause(ctx.caller, task_id))


@route(
    bp,
    "/v1/tasks/{task_id}/resume",
    "POST",
    summary="恢复已暂停的任务",
    tags=["tasks"],
    auth=MERCHANT,
    signed=True,
    response=TaskOut,
    errors=(401, 403, 404, 409),
)
def resume_task(ctx: RequestContext, task_id: str) -> TaskOut:
    return out(tasks.resume(ctx.caller, task_id))


@route(
    bp,
    "/v1/tasks/{task_id}/cancel",
    "POST",
    summary="取消任务：未被领取名额的托管资金退回钱包，已领取的照常结算",
    tags=["tasks"],
    auth=MERCHANT,
    signed=True,
    response=CancelOut,
    idempotency="optional",
    errors=(401, 403, 404, 409),
)
def cancel_task(ctx: RequestContext, task_id: str) -> CancelOut:
    closed = tasks.cancel(ctx.caller, task_id)
    return CancelOut(task=out(closed.task), refund_fen=closed.refund_fen)


@route(
    bp,
    "/v1/tasks/{task_id}/slots",
    "POST",
    summary="追加名额，从钱包补足托管资金",
    tags=["tasks"],
    auth=MERCHANT,
    signed=True,
    body=SlotsIn,
    response=TaskOut,
    idempotency="optional",
    errors=(401, 403, 404, 409, 422),
)
def add_slots(ctx: RequestContext, task_id: str, body: SlotsIn) -> TaskOut:
    return out(tasks.add_slots(ctx.caller, task_id, body.add))


@route(
    bp,
    "/v1/tasks",
    summary="我发布的任务（新的在前，可按状态筛选）",
    tags=["tasks"],
    auth=MERCHANT,
    signed=True,
    query=TaskListQuery,
    response=Page[TaskOut],
    errors=(401, 403),
)
def list_tasks(ctx: RequestContext, query: TaskListQuery) -> Page[TaskOut]:
    items, nxt = tasks.my_tasks(ctx.caller, query.status, limit=query.limit, page_cursor=query.cursor)
    return Page[TaskOut](items=[out(i) for i in items], next_cursor=nxt)


@route(
    bp,
    "/v1/tasks/{task_id}",
    summary="任务详情（仅发布者）",
    tags=["tasks"],
    auth=MERCHANT,
    signed=True,
    response=TaskOut,
    errors=(401, 403, 404),
)
def get_task(ctx: RequestContext, task_id: str) -> TaskOut:
    return out(tasks.get(ctx.caller, task_id))


@route(
    bp,
    "/v1/tasks/{task_id}/stats",
    summary="任务数据：领取、提交、通过、驳回、超时、完成率、平均提交用时、花费",
    tags=["tasks"],
    auth=MERCHANT,
    signed=True,
    response=StatsOut,
    errors=(401, 403, 404),
)
def task_stats(ctx: RequestContext, task_id: str) -> StatsOut:
    return StatsOut(**tasks.stats(ctx.caller, task_id).__dict__)
