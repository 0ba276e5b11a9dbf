"""The signed-in person's own account: profile, real-name verification, password change."""

from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.handlers.auth import AuthOut, Password, RealNameOut, UserOut, auth_out, user_out
from chalicelib.handlers.web import USER, RequestContext, route
from chalicelib.services import accounts, auth

bp = Blueprint(__name__)


@route(
    bp,
    "/v1/me",
    summary="我的账号：资料、角色、状态、信用分、实名状态（脱敏）、会员",
    tags=["me"],
    auth=USER,
    allow_frozen=True,
    response=UserOut,
    errors=(401,),
)
def me(ctx: RequestContext) -> UserOut:
    prof = accounts.profile(ctx.caller)
    out = user_out(prof.user, prof.merchant)
    if ctx.caller.role == "merchant":
        from chalicelib.services import membership

        out.membership = membership.summary(ctx.caller.id)
    return out


class RealNameIn(BaseModel):
    name: str = Field(min_length=1, max_length=40, description="与身份证一致的中文姓名")
    id_number: str = Field(min_length=1, max_length=32, description="18 位居民身份证号（末位 x 不区分大小写）")


@route(
    bp,
    "/v1/me/real-name",
    "POST",
    summary="实名认证：校验身份证号并经认证服务核验；返回脱敏信息",
    tags=["me"],
    auth=USER,
    body=RealNameIn,
    response=RealNameOut,
    errors=(401, 409, 422, 503),
)
def verify_real_name(ctx: RequestContext, body: RealNameIn) -> RealNameOut:
    prof = accounts.verify_real_name(ctx.caller, body.name, body.id_number)
    return user_out(prof.user).real_name


class PasswordChangeIn(BaseModel):
    old_password: str = Password
    new_password: str = Password


@route(
    bp,
    "/v1/me/password",
    "POST",
    summary="修改密码：其他设备全部退出，本设备获得新令牌",
    tags=["me"],
    auth=USER,
    body=PasswordChangeIn,
    response=AuthOut,
    errors=(401, 422, 429),
)
def change_password(ctx: RequestContext, body: PasswordChangeIn) -> AuthOut:
    signed = auth.change_password(ctx.caller, body.old_password, body.new_password)
    return auth_out(signed.user, signed.tokens)
