"""The desk's user management routes: search, detail with masked fields, freeze/unfreeze, CSV export (admin only)."""

from __future__ import annotations

from typing import Literal

from chalice import Blueprint, Response
from pydantic import BaseModel, Field

from chalicelib.domain.roles import ALL_ROLES
from chalicelib.handlers.pagination import PageQuery
from chalicelib.handlers.web import RequestContext, route
from chalicelib.services import admin_users
from chalicelib.store.users import UserItem

bp = Blueprint(__name__)

ADMIN = ("admin",)
RoleName = Literal["worker", "merchant", "admin", "reviewer", "finance"]
assert set(ALL_ROLES) == set(RoleName.__args__)  # type: ignore[attr-defined]  # one list of roles


class UsersQuery(PageQuery):
    q: str | None = Field(None, max_length=40, description="手机号（精确）或用户 ID（usr_…）")
    role: RoleName | None = None
    status: Literal["active", "frozen"] | None = None


class ExportQuery(BaseModel):
    role: RoleName | None = None
    status: Literal["active", "frozen"] | None = None
    cursor: str | None = Field(None, max_length=2048, description="上一份文件的 X-Next-Cursor，原样传回")


class AdminUserOut(BaseModel):
    id: str
    role: str
    status: str
    phone_masked: str = Field(description="138****0000")
    real_name_status: str
    real_name_masked: str | None = Field(description="*三")
    id_number_masked: str | None = Field(description="110105********0022")
    id_province: str | None
    credit_score: int
    merchant_status: str | None
    frozen_reason: str | None
    frozen_at: str | None
    created_at: str
    updated_at: str


class AdminUserPage(BaseModel):
    items: list[AdminUserOut]
    next_cursor: str | None


class FreezeIn(BaseModel):
    reason: str = Field(min_length=2, max_length=500, description="冻结原因（写入审计日志）")


class UnfreezeIn(BaseModel):
    reason: str | None = Field(None, max_length=500, description="解冻说明（可选，写入审计日志）")


def _out(u: UserItem) -> AdminUserOut:
    return AdminUserOut(
        id=u.user_id,
        role=u.role,
        status=u.status,
        phone_masked=u.phone_masked,
        real_name_status=u.real_name_status,
        real_name_masked=u.real_name_masked,
        id_number_masked=u.id_number_masked,
        id_province=u.id_province,
        credit_score=int(u.credit_score),
        merchant_status=u.merchant_status,
        frozen_reason=u.frozen_reason,
        frozen_at=u.frozen_at,
        created_at=u.created_at,
        updated_at=u.updated_at,
    )


@route(
    bp,
    "/v1/admin/users",
    summary="用户查询：按手机号/用户 ID 精确查找，或按角色、状态列出（新注册的在前）",
    tags=["admin"],
    auth=ADMIN,
    query=UsersQuery,
    response=AdminUserPage,
    errors=(401, 403, 422),
)
def list_users(ctx: RequestContext, query: UsersQuery) -> AdminUserPage:
    page = admin_users.search(
        ctx.caller, q=query.q, role=query.role, status=query.status, limit=query.limit, cursor=query.cursor
    )
    return AdminUserPage(items=[_out(u) for u in page.items], next_cursor=page.next_cursor)


@route(
    bp,
    "/v1/admin/users/export.csv",
    summary="导出用户 CSV（手机号、姓名、身份证号均为掩码；UTF-8 带 BOM；每份最多 5000 行，续页见 X-Next-Cursor）",
    tags=["admin"],
    auth=ADMIN,
    query=ExportQuery,
    response_content_type="text/csv",
    errors=(401, 403, 422),
)
def export_users(ctx: RequestContext, query: ExportQuery) -> Response:
    text, next_cursor, _ = admin_users.export_csv(
        ctx.caller, role=query.role, status=query.status, cursor=query.cursor, request_id=ctx.request_id
    )
    headers = {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="taskhall-users-{admin_users.now_date()}.csv"',
    }
    if next_cursor:
        headers["X-Next-Cursor"] = next_cursor
    return Response(body=text, status_code=200, headers=headers)


@route(
    bp,
    "/v1/admin/users/{user_id}",
    summary="用户详情（敏感字段为掩码）",
    tags=["admin"],
    auth=ADMIN,
    response=AdminUserOut,
    errors=(401, 403, 404),
)
def get_user(ctx: RequestContext, user_id: str) -> AdminUserOut:
    return _out(admin_users.detail(user_id))


@route(
    bp,
    "/v1/admin/users/{user_id}/freeze",
    "POST",
    summary="冻结账号并说明原因（写入审计日志；被冻结的账号除查看本人信息和申诉外一律 403 ACCOUNT_FROZEN）",
    tags=["admin"],
    auth=ADMIN,
    body=FreezeIn,
    response=AdminUserOut,
    errors=(401, 403, 404, 422),
)
def freeze_user(ctx: RequestContext, user_id: str, body: FreezeIn) -> AdminUserOut:
    user = admin_users.set_frozen(ctx.caller, user_id, True, reason=body.reason.strip(), request_id=ctx.request_id)
    return _out(user)


@route(
    bp,
    "/v1/admin/users/{user_id}/unfreeze",
    "POST",
    summary="解冻账号（写入审计日志）",
    tags=["admin"],
    auth=ADMIN,
    body=UnfreezeIn,
    response=AdminUserOut,
    errors=(401, 403, 404, 422),
)
def unfreeze_user(ctx: RequestContext, user_id: str, body: UnfreezeIn) -> AdminUserOut:
    reason = body.reason.strip() if body.reason else None
    return _out(admin_users.set_frozen(ctx.caller, user_id, False, reason=reason, request_id=ctx.request_id))
