"""Presigned uploads straight to S3, for proof images, licences, task images and dispute evidence."""

from __future__ import annotations

from typing import Any, Literal

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.handlers.web import USER, RequestContext, route
from chalicelib.services import uploads

bp = Blueprint(__name__)


class UploadIn(BaseModel):
    purpose: Literal["proof", "license", "task_image", "evidence"]
    content_type: str = Field(min_length=3, max_length=100, description="如 image/jpeg、image/png、application/pdf")
    size_bytes: int = Field(ge=1, description="文件大小（字节）；上传时 S3 会按此上限校验")


class UploadOut(BaseModel):
    key: str = Field(description="上传完成后在其他接口中引用的文件 key")
    url: str = Field(description="以 multipart/form-data POST 到此地址")
    fields: dict[str, Any] = Field(description="表单字段，原样放在文件字段之前")
    expires_in: int


@route(
    bp,
    "/v1/uploads",
    "POST",
    summary="申请一次文件直传（预签名 POST，限制类型与大小）",
    tags=["uploads"],
    auth=USER,
    body=UploadIn,
    response=UploadOut,
    errors=(401, 403, 422),
)
def create_upload(ctx: RequestContext, body: UploadIn) -> UploadOut:
    ticket = uploads.create_upload(ctx.caller, body.purpose, body.content_type, body.size_bytes)
    return UploadOut(key=ticket.key, url=ticket.url, fields=ticket.fields, expires_in=ticket.expires_in)
