"""Dispute routes: parties open cases and talk in their thread; the desk (admins) lists and resolves them."""

from __future__ import annotations

from typing import Literal

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.domain import disputes as D
from chalicelib.handlers.pagination import Page, PageQuery
from chalicelib.handlers.web import USER, RequestContext, route
from chalicelib.services import disputes

bp = Blueprint(__name__)

KindName = Literal["appeal_rejection", "fake_task", "worker_cheating", "other"]
StatusName = Literal["open", "answered", "resolved"]
OutcomeName = Literal["worker_wins", "merchant_wins", "split"]


class MessageOut(BaseModel):
    id: str
    author_id: str
    author_role: Literal["worker", "merchant"]
    text: str
    evidence_keys: list[str]
    created_at: str


class DisputeOut(BaseModel):
    id: str
    kind: KindName
    status: StatusName
    outcome: OutcomeName | None = None
    claim_id: str
    task_id: str
    task_title: str | None = None
    worker_id: str
    merchant_id: str
    opener_id: str
    respondent_id: str
    description: str
    evidence_keys: list[str]
    created_at: str
    updated_at: str
    sla_due_at: str | None = Field(None, description="被申诉方首次回复的截止时间（48 小时）")
    answered_at: str | None = None
    sla_missed: bool = Field(False, description="被申诉方未在时限内回复")
    resolved_at: str | None = None
    note: str | None = Field(None, description="平台裁决说明")
    penalty_fen: int | None = None
    split_worker_fen: int | None = None
    worker_paid_fen: int | None = Field(None, description="结案时支付给用户的金额（奖励或分配额 + 赔付）")
    paid_from: Literal["escrow", "guarantee"] | None = None
    messages: list[MessageOut] | None = Field(None, description="留言（详情接口返回，按时间先后）")


def _out(v: disputes.DisputeView) -> DisputeOut:
    data = dict(v.__dict__)
    msgs = data.pop("messages")
    return DisputeOut(**data, messages=None if msgs is None else [MessageOut(**m.__dict__) for m in msgs])


class DisputeIn(BaseModel):
    kind: KindName
    claim_id: str | None = Field(None, max_length=64)
    task_id: str | None = Field(None, max_length=64)
    description: str = Field(min_length=D.DESCRIPTION_RANGE[0], max_length=D.DESCRIPTION_RANGE[1])
    evidence_keys: list[str] = Field(default_factory=list, max_length=D.MAX_EVIDENCE)


class MessageIn(BaseModel):
    text: str = Field(min_length=D.MESSAGE_RANGE[0], max_length=D.MESSAGE_RANGE[1])
    evidence_keys: list[str] = Field(default_factory=list, max_length=D.MAX_EVIDENCE)


class DeskQuery(PageQuery):
    status: StatusName = "open"


class ResolveIn(BaseModel):
    outcome: OutcomeName
    note: str = Field(min_length=D.NOTE_RANGE[0], max_length=D.NOTE_RANGE[1], description="裁决说明（双方可见）")
    penalty_fen: int | None = Field(None, ge=0, description="从商家保证金扣罚并赔付给用户（仅 worker_wins）")
    split_worker_fen: int | None = Field(None, ge=1, description="split：支付给用户的金额，其余退回商家")


@route(
    bp,
    "/v1/disputes",
    "POST",
    summary="发起纠纷（驳回申诉、虚假任务、用户作弊、其他）",
    tags=["disputes"],
    auth=("worker", "merchant"),
    allow_frozen=True,  # a frozen account may still appeal; the service refuses every other kind
    body=DisputeIn,
    response=DisputeOut,
    status=201,
    idempotency="optional",
    errors=(404, 409),
)
def open_dispute(ctx: RequestContext, body: DisputeIn) -> DisputeOut:
    return _out(
        disputes.open_case(
            ctx.caller,
            kind=body.kind,
            claim_id=body.claim_id,
            task_id=body.task_id,
            description=body.description,
            evidence_keys=body.evidence_keys,
        )
    )


@route(
    bp,
    "/v1/disputes",
    summary="我参与的纠纷",
    tags=["disputes"],
    auth=("worker", "merchant"),
    allow_frozen=True,
    query=PageQuery,
    response=Page[DisputeOut],
)
def my_disputes(ctx: RequestContext, query: PageQuery) -> Page[DisputeOut]:
    items, nxt = disputes.my_cases(ctx.caller, limit=query.limit, page_cursor=query.cursor)
    return Page[DisputeOut](items=[_out(v) for v in items], next_cursor=nxt)


@route(
    bp,
    "/v1/disputes/{dispute_id}",
    summary="纠纷详情与留言（仅双方与平台管理员）",
    tags=["disputes"],
    auth=USER,
    allow_frozen=True,
    response=DisputeOut,
    errors=(404,),
)
def get_dispute(ctx: RequestContext, dispute_id: str) -> DisputeOut:
    return _out(disputes.get_case(ctx.caller, dispute_id))


@route(
    bp,
    "/v1/disputes/{dispute_id}/messages",
    "POST",
    summary="在纠纷中留言并补充证据",
    tags=["disputes"],
    auth=("worker", "merchant"),
    allow_frozen=True,  # appeals only, checked in the service
    body=MessageIn,
    response=MessageOut,
    status=201,
    idempotency="optional",
    errors=(404, 409),
)
def post_message(ctx: RequestContext, dispute_id: str, body: MessageIn) -> MessageOut:
    m = disputes.post_message(ctx.caller, dispute_id, body.text, body.evidence_keys)
    return MessageOut(**m.__dict__)


@route(
    bp,
    "/v1/admin/disputes",
    summary="纠纷处理队列（按状态）",
    tags=["admin"],
    auth=("admin",),
    query=DeskQuery,
    response=Page[DisputeOut],
)
def desk_disputes(ctx: RequestContext, query: DeskQuery) -> Page[DisputeOut]:
    items, nxt = disputes.desk_queue(query.status, limit=query.limit, page_cursor=query.cursor)
    return Page[DisputeOut](items=[_out(v) for v in items], next_cursor=nxt)


@route(
    bp,
    "/v1/admin/disputes/{dispute_id}/resolve",
    "POST",
    summary="裁决纠纷并按结果结算资金",
    tags=["admin"],
    auth=("admin",),
    body=ResolveIn,
    response=DisputeOut,
    idempotency="optional",
    errors=(404, 409),
)
def resolve_dispute(ctx: RequestContext, dispute_id: str, body: ResolveIn) -> DisputeOut:
    return _out(
        disputes.resolve(
            ctx.caller,
            dispute_id,
            outcome=body.outcome,
            note=body.note,
            penalty_fen=body.penalty_fen,
            split_worker_fen=body.split_worker_fen,
            request_id=ctx.request_id,
        )
    )
