"""The worker's credit score and its history."""

from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel

from chalicelib.handlers.pagination import PageQuery
from chalicelib.handlers.web import USER, RequestContext, route
from chalicelib.services import credit

bp = Blueprint(__name__)


class CreditLineOut(BaseModel):
    delta: int
    score_after: int
    reason: str
    ref: str | None = None
    created_at: str


class CreditOut(BaseModel):
    score: int
    items: list[CreditLineOut]
    next_cursor: str | None = None


@route(
    bp,
    "/v1/me/credit",
    summary="我的信用分与变动记录",
    tags=["me"],
    auth=USER,
    query=PageQuery,
    response=CreditOut,
    allow_frozen=True,
)
def my_credit(ctx: RequestContext, query: PageQuery) -> CreditOut:
    from chalicelib.store import users

    user = users.get_user(ctx.caller.id)
    items, nxt = credit.history(ctx.caller.id, limit=query.limit, page_cursor=query.cursor)
    return CreditOut(
        score=int(user.credit_score) if user else 100,
        items=[
            CreditLineOut(
                delta=int(i.delta), score_after=int(i.score_after), reason=i.reason, ref=i.ref, created_at=i.created_at
            )
            for i in items
        ],
        next_cursor=nxt,
    )
