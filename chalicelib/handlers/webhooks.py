"""Webhook routes: a merchant's endpoints (the secret shown once), their delivery log and manual redelivery."""

from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.domain import webhooks as W
from chalicelib.handlers.pagination import Page, PageQuery
from chalicelib.handlers.web import RequestContext, route
from chalicelib.services import webhooks
from chalicelib.store.webhooks import WebhookDelivery, WebhookEndpoint

bp = Blueprint(__name__)

MERCHANT = ("merchant",)


class WebhookIn(BaseModel):
    url: str = Field(min_length=1, max_length=W.MAX_URL_CHARS, description="接收事件的地址（https）")
    events: list[str] = Field(min_length=1, max_length=len(W.EVENTS), description="订阅的事件：" + "、".join(W.EVENTS))


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    status: str = Field(description="active 正常；disabled 连续 3 天投递失败后已停用")
    created_at: str
    failing_since: str | None = Field(None, description="自上次成功以来第一次失败的时间")
    disabled_at: str | None = None

    @classmethod
    def of(cls, e: WebhookEndpoint) -> WebhookOut:
        return cls(
            id=e.webhook_id,
            url=e.url,
            events=list(e.events or []),
            status=e.status,
            created_at=e.created_at,
            failing_since=e.failing_since,
            disabled_at=e.disabled_at,
        )


class WebhookCreated(WebhookOut):
    secret: str = Field(description="签名密钥，只在创建时返回这一次，请妥善保存")


class AttemptOut(BaseModel):
    at: str
    response_code: int | None = None
    latency_ms: int
    error: str | None = None
    manual: bool = False


class DeliveryOut(BaseModel):
    id: str
    event: str
    event_id: str
    status: str = Field(
        description="pending 待投递/重试中；delivered 已送达；dead 重试 24 小时后放弃；cancelled 地址已删除或停用"
    )
    attempts: int
    response_code: int | None = Field(None, description="最近一次尝试的 HTTP 状态码")
    latency_ms: int | None = Field(None, description="最近一次尝试的耗时（毫秒）")
    last_error: str | None = None
    next_attempt_at: str | None = None
    delivered_at: str | None = None
    created_at: str
    history: list[AttemptOut] = Field(default_factory=list, description="最近的尝试记录（旧的在前）")

    @classmethod
    def of(cls, d: WebhookDelivery) -> DeliveryOut:
        return cls(
            id=d.delivery_id,
            event=d.event,
            event_id=d.event_id,
            status=d.status,
            attempts=int(d.attempts or 0),
            response_code=int(d.response_code) if d.response_code is not None else None,
            latency_ms=int(d.latency_ms) if d.latency_ms is not None else None,
            last_error=d.last_error,
            next_attempt_at=d.next_attempt_at if d.status == "pending" else None,
            delivered_at=d.delivered_at,
            created_at=d.created_at,
            history=[
                AttemptOut(
                    at=h["at"],
                    response_code=h.get("code"),
                    latency_ms=int(h.get("latency_ms") or 0),
                    error=h.get("error"),
                    manual=bool(h.get("manual")),
                )
                for h in (d.history or [])
            ],
        )


class RedeliverOut(BaseModel):
    id: str
    queued: bool


@route(
    bp,
    "/v1/webhooks",
    "POST",
    summary="添加回调地址（密钥只返回这一次）",
    tags=["webhooks"],
    auth=MERCHANT,
    body=WebhookIn,
    response=WebhookCreated,
    status=201,
    errors=(401, 403, 409, 422),
)
def create_webhook(ctx: RequestContext, body: WebhookIn) -> WebhookCreated:
    made = webhooks.create(ctx.caller, body.url, body.events)
    return WebhookCreated(**WebhookOut.of(made.endpoint).model_dump(), secret=made.secret)


@route(
    bp,
    "/v1/webhooks",
    summary="我的回调地址",
    tags=["webhooks"],
    auth=MERCHANT,
    response=Page[WebhookOut],
    errors=(401, 403),
)
def list_webhooks(ctx: RequestContext) -> Page[WebhookOut]:
    return Page[WebhookOut](items=[WebhookOut.of(e) for e in webhooks.list_endpoints(ctx.caller)], next_cursor=None)


@route(
    bp,
    "/v1/webhooks/{webhook_id}",
    "DELETE",
    summary="删除回调地址",
    tags=["webhooks"],
    auth=MERCHANT,
    status=204,
    errors=(401, 403, 404),
)
def delete_webhook(ctx: RequestContext, webhook_id: str) -> None:
    webhooks.delete(ctx.caller, webhook_id)


@route(
    bp,
    "/v1/webhooks/{webhook_id}/deliveries",
    summary="回调投递记录（新的在前）",
    tags=["webhooks"],
    auth=MERCHANT,
    query=PageQuery,
    response=Page[DeliveryOut],
    errors=(400, 401, 403, 404),
)
def list_deliveries(ctx: RequestContext, webhook_id: str, query: PageQuery) -> Page[DeliveryOut]:
    items, nxt = webhooks.deliveries_page(ctx.caller, webhook_id, limit=query.limit, page_cursor=query.cursor)
    return Page[DeliveryOut](items=[DeliveryOut.of(d) for d in items], next_cursor=nxt)


@route(
    bp,
    "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    "POST",
    summary="立即重新投递一次",
    tags=["webhooks"],
    auth=MERCHANT,
    response=RedeliverOut,
    status=202,
    errors=(401, 403, 404, 409),
)
def redeliver(ctx: RequestContext, webhook_id: str, delivery_id: str) -> RedeliverOut:
    delivery = webhooks.redeliver(ctx.caller, webhook_id, delivery_id)
    return RedeliverOut(id=delivery.delivery_id, queued=True)
