"""Notification routes: the caller's notifications, newest first, and read markers."""

from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.handlers.pagination import Page, PageQuery
from chalicelib.handlers.web import USER, RequestContext, route
from chalicelib.services import notifications

bp = Blueprint(__name__)


class NotificationOut(BaseModel):
    id: str
    type: str
    title: str
    body: str
    ref: str | None = None
    read: bool
    created_at: str


class ReadIn(BaseModel):
    ids: list[str] = Field(min_length=1, max_length=100)


class ReadOut(BaseModel):
    marked: int


@route(
    bp,
    "/v1/notifications",
    summary="我的通知（新的在前）",
    tags=["me"],
    auth=USER,
    query=PageQuery,
    response=Page[NotificationOut],
    allow_frozen=True,
)
def list_notifications(ctx: RequestContext, query: PageQuery) -> Page[NotificationOut]:
    items, nxt = notifications.page(ctx.caller.id, limit=query.limit, page_cursor=query.cursor)
    return Page[NotificationOut](
        items=[
            NotificationOut(
                id=i.SK, type=i.type, title=i.title, body=i.body, ref=i.ref, read=bool(i.read), created_at=i.created_at
            )
            for i in items
        ],
        next_cursor=nxt,
    )


@route(
    bp,
    "/v1/notifications/read",
    "POST",
    summary="标记通知为已读",
    tags=["me"],
    auth=USER,
    body=ReadIn,
    response=ReadOut,
    allow_frozen=True,
)
def read_notifications(ctx: RequestContext, body: ReadIn) -> ReadOut:
    return ReadOut(marked=notifications.mark_read(ctx.caller.id, body.ids))
