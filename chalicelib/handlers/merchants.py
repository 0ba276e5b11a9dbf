"""Merchant onboarding: a merchant submits its qualification; reviewers approve or reject it (audited)."""

from __future__ import annotations

from typing import Literal

from chalice import Blueprint
from pydantic import AnyHttpUrl, BaseModel, Field

from chalicelib.handlers.web import RequestContext, route
from chalicelib.services import merchants
from chalicelib.store.merchants import MerchantItem

bp = Blueprint(__name__)
REVIEWERS = ("admin", "reviewer")


class VerificationIn(BaseModel):
    company_name: str = Field(min_length=2, max_length=100, description="营业执照上的企业名称")
    license_no: str = Field(min_length=1, max_length=32, description="18 位统一社会信用代码")
    shop_url: AnyHttpUrl = Field(description="店铺或官网地址")
    license_image_key: str = Field(min_length=1, max_length=200, description="/v1/uploads（用途 license）返回的 key")


class VerificationOut(BaseModel):
    status: Literal["pending", "approved", "rejected"]
    company_name: str
    license_no: str = Field(description="脱敏统一社会信用代码")
    shop_url: str
    license_image_key: str
    submitted_at: str
    reviewed_at: str | None = None
    reject_reason: str | None = None


class AdminMerchantOut(VerificationOut):
    merchant_id: str
    reviewed_by: str | None = None


class AdminMerchantList(BaseModel):
    items: list[AdminMerchantOut]
    next_cursor: str | None


def _out(item: MerchantItem) -> VerificationOut:
    return VerificationOut(
        status=item.status,  # type: ignore[arg-type]
        company_name=item.company_name,
        license_no=item.license_masked,
        shop_url=item.shop_url,
        license_image_key=item.license_image_key,
        submitted_at=item.submitted_at,
        reviewed_at=item.reviewed_at,
        reject_reason=item.reject_reason,
    )


def _admin_out(item: MerchantItem) -> AdminMerchantOut:
    return AdminMerchantOut(**_out(item).model_dump(), merchant_id=item.user_id, reviewed_by=item.reviewed_by)


@route(
    bp,
    "/v1/merchant/verification",
    "POST",
    summary="提交商家资质（营业执照）等待审核",
    tags=["merchant"],
    auth=("merchant",),
    body=VerificationIn,
    response=VerificationOut,
    status=201,
    errors=(401, 403, 409, 422),
)
def submit_verification(ctx: RequestContext, body: VerificationIn) -> VerificationOut:
    item = merchants.submit_verification(
        ctx.caller, body.company_name, body.license_no, str(body.shop_url), body.license_image_key
    )
    return _out(item)


@route(
    bp,
    "/v1/merchant/verification",
    summary="我的商家资质审核状态",
    tags=["merchant"],
    auth=("merchant",),
    response=VerificationOut,
    errors=(401, 403, 404),
)
def get_verification(ctx: RequestContext) -> VerificationOut:
    return _out(merchants.get_verification(ctx.caller))


class QueueQuery(BaseModel):
    status: Literal["pending", "approved", "rejected"] = "pending"
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=2048)


@route(
    bp,
    "/v1/admin/merchants",
    summary="商家资质审核队列（按状态，先提交的在前）",
    tags=["admin"],
    auth=REVIEWERS,
    query=QueueQuery,
    response=AdminMerchantList,
    errors=(401, 403),
)
def review_queue(ctx: RequestContext, query: QueueQuery) -> AdminMerchantList:
    page = merchants.review_queue(ctx.caller, query.status, limit=query.limit, cursor_token=query.cursor)
    return AdminMerchantList(items=[_admin_out(i) for i in page.items], next_cursor=page.next_cursor)


@route(
    bp,
    "/v1/admin/merchants/{merchant_id}",
    summary="查看一份商家资质",
    tags=["admin"],
    auth=REVIEWERS,
    response=AdminMerchantOut,
    errors=(401, 403, 404),
)
def get_merchant(ctx: RequestContext, merchant_id: str) -> AdminMerchantOut:
    return _admin_out(merchants.load_for_review(merchant_id))


@route(
    bp,
    "/v1/admin/merchants/{merchant_id}/approve",
    "POST",
    summary="通过商家资质（写入审计日志）",
    tags=["admin"],
    auth=REVIEWERS,
    response=AdminMerchantOut,
    errors=(401, 403, 404, 409),
)
def approve_merchant(ctx: RequestContext, merchant_id: str) -> AdminMerchantOut:
    item = merchants.review(ctx.caller, merchant_id, True, reason=None, request_id=ctx.request_id)
    return _admin_out(item)


class RejectIn(BaseModel):
    reason: str = Field(min_length=2, max_length=500, description="驳回理由（商家可见）")


@route(
    bp,
    "/v1/admin/merchants/{merchant_id}/reject",
    "POST",
    summary="驳回商家资质并说明理由（写入审计日志）",
    tags=["admin"],
    auth=REVIEWERS,
    body=RejectIn,
    response=AdminMerchantOut,
    errors=(401, 403, 404, 409, 422),
)
def reject_merchant(ctx: RequestContext, merchant_id: str, body: RejectIn) -> AdminMerchantOut:
    item = merchants.review(ctx.caller, merchant_id, False, reason=body.reason.strip(), request_id=ctx.request_id)
    return _admin_out(item)
