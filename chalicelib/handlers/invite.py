"""Invite route: the caller's own invite code, link and referral results."""

from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.handlers.web import USER, RequestContext, route
from chalicelib.services import referrals

bp = Blueprint(__name__)


class InviteOut(BaseModel):
    code: str = Field(description="我的邀请码（不含易混淆字符 0/O、1/I）")
    link: str = Field(description="邀请链接")
    invited_count: int = Field(description="用我的邀请码注册的人数")
    earned_fen: int = Field(description="邀请奖励累计到账（分）")


@route(
    bp,
    "/v1/me/invite",
    summary="我的邀请：邀请码、链接、邀请人数、累计奖励",
    tags=["me"],
    auth=USER,
    response=InviteOut,
    errors=(401,),
)
def my_invite(ctx: RequestContext) -> InviteOut:
    return InviteOut(**referrals.invite(ctx.caller).__dict__)
