"""Health and the OpenAPI document."""

from __future__ import annotations

from chalice import Blueprint, Response
from pydantic import BaseModel

from chalicelib.handlers.web import PUBLIC, RequestContext, json_response, route
from chalicelib.services import system

bp = Blueprint(__name__)


class HealthOut(BaseModel):
    status: str
    time: str


@route(
    bp,
    "/v1/health",
    summary="健康检查（会真实访问数据表）",
    tags=["system"],
    auth=PUBLIC,
    response=HealthOut,
    errors=(503,),
)
def health(ctx: RequestContext) -> HealthOut:
    return HealthOut(**system.health())


@route(bp, "/v1/openapi.json", summary="本接口文档（OpenAPI 3.1）", tags=["system"], auth=PUBLIC)
def openapi_document(ctx: RequestContext) -> Response:
    from chalicelib.handlers import openapi  # pydantic's schema generator is only needed here

    return json_response(openapi.document(ctx.app))
