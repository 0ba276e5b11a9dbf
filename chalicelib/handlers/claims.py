"""Claim routes: one-tap claim, proof, abandon, review (single and batch), and the lists of claims."""

from __future__ import annotations

from typing import Any, Literal

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.handlers.pagination import Page, PageQuery
from chalicelib.handlers.web import USER, RequestContext, route
from chalicelib.services import claims

bp = Blueprint(__name__)

ClaimStatusName = Literal["claimed", "submitted", "accepted", "rejected", "appealed", "expired", "abandoned"]


class ClaimOut(BaseModel):
    id: str
    task_id: str
    worker_id: str
    status: ClaimStatusName
    reward_fen: int
    claimed_at: str
    deadline_at: str | None = Field(None, description="领取后：提交截止；提交后：自动通过时间；驳回后：申诉截止")
    submitted_at: str | None = None
    settled_at: str | None = None
    proof: dict[str, Any] | None = None
    reject_reason: str | None = None
    rating: int | None = None


def _out(v: claims.ClaimView) -> ClaimOut:
    return ClaimOut(**v.__dict__)


class ClaimListQuery(PageQuery):
    status: ClaimStatusName | None = None


class Location(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


class ProofIn(BaseModel):
    text: str | None = Field(None, max_length=2000)
    image_keys: list[str] = Field(default_factory=list, max_length=9)
    location: Location | None = None
    order_no: str | None = Field(None, max_length=64)


class AcceptIn(BaseModel):
    rating: int | None = Field(None, ge=1, le=5, description="对用户的评分 1–5")


class RejectIn(BaseModel):
    reason: str = Field(min_length=2, max_length=200, description="驳回理由（用户可据此申诉）")


class RejectItem(BaseModel):
    id: str
    reason: str = Field(min_length=2, max_length=200)


class BatchReviewIn(BaseModel):
    accept: list[str] = Field(default_factory=list, max_length=50)
    reject: list[RejectItem] = Field(default_factory=list, max_length=50)


class BatchItemOut(BaseModel):
    id: str
    ok: bool
    status: str | None = None
    code: str | None = None


class BatchReviewOut(BaseModel):
    results: list[BatchItemOut]


@route(
    bp,
    "/v1/tasks/{task_id}/claims",
    "POST",
    summary="一键领取任务",
    tags=["hall"],
    auth=("worker",),
    response=ClaimOut,
    status=201,
    idempotency="optional",
    errors=(409,),
)
def claim_task(ctx: RequestContext, task_id: str) -> ClaimOut:
    return _out(claims.claim(ctx.caller, task_id, device_id=ctx.device_id, source_ip=ctx.source_ip))


@route(
    bp,
    "/v1/me/claims",
    summary="我领取的任务",
    tags=["hall"],
    auth=("worker",),
    query=ClaimListQuery,
    response=Page[ClaimOut],
)
def my_claims(ctx: RequestContext, query: ClaimListQuery) -> Page[ClaimOut]:
    items, nxt = claims.my_claims(ctx.caller, query.status, limit=query.limit, page_cursor=query.cursor)
    return Page[ClaimOut](items=[_out(v) for v in items], next_cursor=nxt)


@route(
    bp,
    "/v1/claims/{claim_id}",
    summary="领取记录详情（领取人或发布商家）",
    tags=["hall"],
    auth=USER,
    response=ClaimOut,
    signed=True,
)
def get_claim(ctx: RequestContext, claim_id: str) -> ClaimOut:
    return _out(claims.get_claim(ctx.caller, claim_id))


@route(
    bp,
    "/v1/claims/{claim_id}/proof",
    "POST",
    summary="提交任务凭证（文字、截图、定位、订单号）",
    tags=["hall"],
    auth=("worker",),
    body=ProofIn,
    response=ClaimOut,
    errors=(409,),
)
def submit_proof(ctx: RequestContext, claim_id: str, body: ProofIn) -> ClaimOut:
    loc = (body.location.lat, body.location.lng) if body.location else None
    return _out(
        claims.submit_proof(
            ctx.caller,
            claim_id,
            text=body.text,
            image_keys=body.image_keys,
            location=loc,
            order_no=body.order_no,
            device_id=ctx.device_id,
            source_ip=ctx.source_ip,
        )
    )


@route(
    bp,
    "/v1/claims/{claim_id}/abandon",
    "POST",
    summary="放弃领取，名额退回",
    tags=["hall"],
    auth=("worker",),
    response=ClaimOut,
    errors=(409,),
)
def abandon_claim(ctx: RequestContext, claim_id: str) -> ClaimOut:
    return _out(claims.abandon(ctx.caller, claim_id))


@route(
    bp,
    "/v1/claims/{claim_id}/accept",
    "POST",
    summary="审核通过：奖励给用户、服务费给平台",
    tags=["tasks"],
    auth=("merchant",),
    signed=True,
    body=AcceptIn,
    response=ClaimOut,
    idempotency="optional",
    errors=(409,),
)
def accept_claim(ctx: RequestContext, claim_id: str, body: AcceptIn) -> ClaimOut:
    return _out(claims.accept(ctx.caller, claim_id, rating=body.rating))


@route(
    bp,
    "/v1/claims/{claim_id}/reject",
    "POST",
    summary="驳回（必须填写理由，用户 72 小时内可申诉）",
    tags=["tasks"],
    auth=("merchant",),
    signed=True,
    body=RejectIn,
    response=ClaimOut,
    errors=(409,),
)
def reject_claim(ctx: RequestContext, claim_id: str, body: RejectIn) -> ClaimOut:
    return _out(claims.reject(ctx.caller, claim_id, body.reason))


@route(
    bp,
    "/v1/tasks/{task_id}/claims/review",
    "POST",
    summary="批量审核",
    tags=["tasks"],
    auth=("merchant",),
    signed=True,
    body=BatchReviewIn,
    response=BatchReviewOut,
)
def review_claims(ctx: RequestContext, task_id: str, body: BatchReviewIn) -> BatchReviewOut:
    results = claims.review_batch(ctx.caller, task_id, body.accept, [(r.id, r.reason) for r in body.reject])
    return BatchReviewOut(results=[BatchItemOut(**r.__dict__) for r in results])


@route(
    bp,
    "/v1/tasks/{task_id}/claims",
    summary="任务的领取与凭证列表",
    tags=["tasks"],
    auth=("merchant",),
    signed=True,
    query=ClaimListQuery,
    response=Page[ClaimOut],
)
def list_task_claims(ctx: RequestContext, task_id: str, query: ClaimListQuery) -> Page[ClaimOut]:
    items, nxt = claims.task_claims(ctx.caller, task_id, query.status, limit=query.limit, page_cursor=query.cursor)
    return Page[ClaimOut](items=[_out(v) for v in items], next_cursor=nxt)


class RateMerchantIn(BaseModel):
    rating: int = Field(ge=1, le=5, description="对商家的评分 1–5")


@route(
    bp,
    "/v1/claims/{claim_id}/rate-merchant",
    "POST",
    summary="结算后评价商家（每个领取一次）",
    tags=["hall"],
    auth=("worker",),
    body=RateMerchantIn,
    response=ClaimOut,
    errors=(409,),
)
def rate_merchant(ctx: RequestContext, claim_id: str, body: RateMerchantIn) -> ClaimOut:
    return _out(claims.rate_merchant(ctx.caller, claim_id, body.rating))
