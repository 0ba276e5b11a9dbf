"""Sign-up, sign-in and sessions: SMS codes, register, login, refresh, logout, password reset."""

from __future__ import annotations

from typing import Literal

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.handlers.web import PUBLIC, USER, RequestContext, route
from chalicelib.services import accounts, auth, otp, sessions
from chalicelib.store.merchants import MerchantItem
from chalicelib.store.users import UserItem

bp = Blueprint(__name__)

Phone = Field(min_length=11, max_length=20, description="中国大陆手机号，如 13800000000（可带 +86）")
Password = Field(min_length=1, max_length=128, description="至少 8 位，需同时包含字母和数字")
OtpCode = Field(min_length=4, max_length=8, description="短信验证码（6 位数字）")


# ---------------------------------------------------------------- shared output models


class RealNameOut(BaseModel):
    status: Literal["none", "verified"]
    name: str | None = Field(default=None, description="脱敏姓名，如 *三")
    id_number: str | None = Field(default=None, description="脱敏身份证号，如 110105********002X")
    verified_at: str | None = None


class MerchantVerificationSummary(BaseModel):
    status: Literal["none", "pending", "approved", "rejected"]
    reject_reason: str | None = None


class UserOut(BaseModel):
    id: str
    role: str
    status: Literal["active", "frozen"]
    phone: str = Field(description="脱敏手机号，如 138****0000")
    credit_score: int
    invite_code: str = Field(description="本人的邀请码")
    real_name: RealNameOut
    membership: dict[str, str] | None = Field(default=None, description="会员信息（增长功能上线前为 null）")
    merchant_verification: MerchantVerificationSummary | None = Field(default=None, description="仅商家账号有此字段")
    created_at: str


class AuthOut(BaseModel):
    user: UserOut
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the scheme name, not a secret
    expires_in: int = Field(description="访问令牌有效期（秒）")


def user_out(user: UserItem, merchant: MerchantItem | None = None) -> UserOut:
    verification = None
    if user.role == "merchant":
        status = merchant.status if merchant else (user.merchant_status or "none")
        reason = merchant.reject_reason if merchant and merchant.status == "rejected" else None
        verification = MerchantVerificationSummary(status=status, reject_reason=reason)  # type: ignore[arg-type]
    return UserOut(
        id=user.user_id,
        role=user.role,
        status=user.status,  # type: ignore[arg-type]
        phone=user.phone_masked,
        credit_score=int(user.credit_score),
        invite_code=user.invite_code,
        real_name=RealNameOut(
            status="verified" if user.real_name_status == "verified" else "none",
            name=user.real_name_masked,
            id_number=user.id_number_masked,
            verified_at=user.real_name_verified_at,
        ),
        membership=None,
        merchant_verification=verification,
        created_at=user.created_at,
    )


def auth_out(user: UserItem, tokens: sessions.Tokens) -> AuthOut:
    merchant = accounts.profile_merchant(user)
    return AuthOut(
        user=user_out(user, merchant),
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    )


# ---------------------------------------------------------------- routes


class OtpIn(BaseModel):
    phone: str = Phone
    purpose: Literal["register", "login", "reset"]


class OtpOut(BaseModel):
    sent: bool = True
    expires_in: int = Field(description="验证码有效期（秒）")
    resend_after_s: int = Field(description="多少秒后可再次获取")
    dev_code: str | None = Field(default=None, description="仅本地阶段返回验证码本身")


@route(
    bp,
    "/v1/auth/otp",
    "POST",
    summary="发送短信验证码（注册、登录、找回密码）",
    tags=["auth"],
    auth=PUBLIC,
    body=OtpIn,
    response=OtpOut,
    errors=(422, 429),
)
def send_otp(ctx: RequestContext, body: OtpIn) -> dict[str, object]:
    code = otp.request_code(body.phone, body.purpose, ip=ctx.source_ip)
    out = OtpOut(expires_in=otp.LIFE_S, resend_after_s=otp.RESEND_AFTER_S)
    if otp.dev_code_visible():
        out.dev_code = code
    return out.model_dump(mode="json", exclude_none=True)


class RegisterIn(BaseModel):
    phone: str = Phone
    password: str = Password
    otp: str = OtpCode
    role: Literal["worker", "merchant"] = Field(description="注册角色；管理员账号不能通过接口注册")
    invite_code: str | None = Field(default=None, max_length=16, description="邀请人的邀请码（可选）")


@route(
    bp,
    "/v1/auth/register",
    "POST",
    summary="用手机号注册（需短信验证码）",
    tags=["auth"],
    auth=PUBLIC,
    body=RegisterIn,
    response=AuthOut,
    status=201,
    errors=(409, 422, 429),
)
def register(ctx: RequestContext, body: RegisterIn) -> AuthOut:
    signed = auth.register(
        body.phone,
        body.password,
        body.otp,
        body.role,
        body.invite_code,
        ip=ctx.source_ip,
        device_id=ctx.device_id,
    )
    return auth_out(signed.user, signed.tokens)


class LoginIn(BaseModel):
    phone: str = Phone
    password: str | None = Field(default=None, max_length=128, description="密码（与 otp 二选一）")
    otp: str | None = Field(default=None, max_length=8, description="purpose=login 的短信验证码（与 password 二选一）")


@route(
    bp,
    "/v1/auth/login",
    "POST",
    summary="登录（密码或短信验证码）；连续失败会临时锁定",
    tags=["auth"],
    auth=PUBLIC,
    body=LoginIn,
    response=AuthOut,
    errors=(401, 422, 429),
)
def login(ctx: RequestContext, body: LoginIn) -> AuthOut:
    signed = auth.login(body.phone, body.password, body.otp, ip=ctx.source_ip, device_id=ctx.device_id)
    return auth_out(signed.user, signed.tokens)


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=512)


@route(
    bp,
    "/v1/auth/refresh",
    "POST",
    summary="用刷新令牌换取新的令牌对（旧刷新令牌随即失效）",
    tags=["auth"],
    auth=PUBLIC,
    body=RefreshIn,
    response=AuthOut,
    errors=(401,),
)
def refresh(ctx: RequestContext, body: RefreshIn) -> AuthOut:
    tokens, user = sessions.refresh(body.refresh_token)
    return auth_out(user, tokens)


class LogoutIn(BaseModel):
    all_devices: bool = Field(default=False, description="同时退出所有设备")


class LogoutOut(BaseModel):
    revoked: int = Field(description="被注销的登录会话数")


@route(
    bp,
    "/v1/auth/logout",
    "POST",
    summary="退出登录：注销当前刷新令牌族（或全部设备）",
    tags=["auth"],
    auth=USER,
    allow_frozen=True,
    body=LogoutIn,
    response=LogoutOut,
    errors=(401,),
)
def logout(ctx: RequestContext, body: LogoutIn) -> LogoutOut:
    return LogoutOut(revoked=sessions.logout(ctx.caller, ctx, all_devices=body.all_devices))


class ResetIn(BaseModel):
    phone: str = Phone
    otp: str = OtpCode
    new_password: str = Password


class OkOut(BaseModel):
    ok: bool = True


@route(
    bp,
    "/v1/auth/reset",
    "POST",
    summary="通过短信验证码重设密码（所有设备将退出登录）",
    tags=["auth"],
    auth=PUBLIC,
    body=ResetIn,
    response=OkOut,
    errors=(422, 429),
)
def reset_password(ctx: RequestContext, body: ResetIn) -> OkOut:
    auth.reset_password(body.phone, body.otp, body.new_password)
    return OkOut()
