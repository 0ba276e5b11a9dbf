"""Merchant server API key: register (or replace), read and revoke the RSA public key that signs requests."""

from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.handlers.web import RequestContext, route
from chalicelib.services import signing

bp = Blueprint(__name__)
MERCHANT = ("merchant",)


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    public_key_pem: str = Field(
        min_length=1, max_length=4096, description="PEM 格式 RSA 公钥（-----BEGIN PUBLIC KEY-----），2048–8192 位"
    )


class ApiKeyOut(BaseModel):
    fingerprint: str = Field(description="公钥指纹：SHA256:<DER 编码公钥的 SHA-256 十六进制>")
    bits: int = Field(description="RSA 密钥长度（位）")
    created_at: str


def _out(view: signing.KeyView) -> ApiKeyOut:
    return ApiKeyOut(fingerprint=view.fingerprint, bits=view.bits, created_at=view.created_at)


@route(
    bp,
    "/v1/merchant/api-key",
    "PUT",
    summary="登记或更换服务端接口公钥（之后可用签名调用任务与审核接口）",
    tags=["merchant"],
    auth=MERCHANT,
    body=ApiKeyIn,
    response=ApiKeyOut,
    errors=(401, 403, 422),
)
def put_api_key(ctx: RequestContext, body: ApiKeyIn) -> ApiKeyOut:
    return _out(signing.register_key(ctx.caller, body.public_key_pem, request_id=ctx.request_id))


@route(
    bp,
    "/v1/merchant/api-key",
    summary="当前登记的接口公钥",
    tags=["merchant"],
    auth=MERCHANT,
    response=ApiKeyOut,
    errors=(401, 403, 404),
)
def get_api_key(ctx: RequestContext) -> ApiKeyOut:
    return _out(signing.current_key(ctx.caller))


@route(
    bp,
    "/v1/merchant/api-key",
    "DELETE",
    summary="吊销接口公钥（签名调用随即失效）",
    tags=["merchant"],
    auth=MERCHANT,
    status=204,
    errors=(401, 403, 404),
)
def delete_api_key(ctx: RequestContext) -> None:
    signing.revoke_key(ctx.caller, request_id=ctx.request_id)
