"""Disputes: opening a case (an appeal moves its claim `rejected → appealed`), the thread, the respondent's SLA
(a merchant silent on an appeal loses it), the desk's resolution with its money, and the stream consumer that
notifies both parties and applies a case's own credit change when it closes.

Money moves only when a case closes and always in the closing transaction: the claim's settlement from
services/claims.py (pay like an accept, pay a split, or uphold the rejection) plus any penalty from the
merchant's guarantee, plus the case's status change and its audit entry (docs/decisions/0090, 0091).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from chalicelib.adapters import clock, ids
from chalicelib.adapters.log import logger
from chalicelib.domain import disputes as D
from chalicelib.domain import ledger as L
from chalicelib.domain import tasks as T
from chalicelib.domain.errors import Conflict, Forbidden, Invalid, NotFound
from chalicelib.domain.roles import Caller
from chalicelib.services import events
from chalicelib.store import claims as claim_store
from chalicelib.store import cursor, keys, tx
from chalicelib.store import disputes as store
from chalicelib.store import ledger as books
from chalicelib.store.disputes import DisputeItem, DisputeMessageItem

EVIDENCE_PURPOSES = ("evidence", "proof")  # a worker may point at the proof screenshots they already uploaded
SLA_ACTOR = Caller(id="system:dispute_sla", role="system")


@dataclass(frozen=True)
class MessageView:
    id: str
    author_id: str
    author_role: str
    text: str
    evidence_keys: list[str]
    created_at: str


@dataclass(frozen=True)
class DisputeView:
    id: str
    kind: str
    status: str
    outcome: str | None
    claim_id: str
    task_id: str
    task_title: str | None
    worker_id: str
    merchant_id: str
    opener_id: str
    respondent_id: str
    description: str
    evidence_keys: list[str]
    created_at: str
    updated_at: str
    sla_due_at: str | None
    answered_at: str | None
    sla_missed: bool
    resolved_at: str | None
    note: str | None
    penalty_fen: int | None
    split_worker_fen: int | None
    worker_paid_fen: int | None
    paid_from: str | None
    messages: list[MessageView] | None = None


def _n(v: object) -> int | None:
    return None if v is None else int(v)  # type: ignore[call-overload]


def view(d: DisputeItem, messages: list[DisputeMessageItem] | None = None) -> DisputeView:
    return DisputeView(
        id=d.dispute_id,
        kind=d.dispute_kind,
        status=d.status,
        outcome=d.outcome,
        claim_id=d.claim_id,
        task_id=d.task_id,
        task_title=d.task_title,
        worker_id=d.worker_id,
        merchant_id=d.merchant_id,
        opener_id=d.opener_id,
        respondent_id=d.respondent_id,
        description=d.description,
        evidence_keys=[str(k) for k in d.evidence_keys or []],
        created_at=d.created_at,
        updated_at=d.updated_at,
        sla_due_at=d.sla_due_at,
        answered_at=d.answered_at,
        sla_missed=bool(d.sla_missed),
        resolved_at=d.resolved_at,
        note=d.note,
        penalty_fen=_n(d.penalty_fen),
        split_worker_fen=_n(d.split_worker_fen),
        worker_paid_fen=_n(d.worker_paid_fen),
        paid_from=d.paid_from,
        messages=None if messages is None else [_message_view(m) for m in messages],
    )


def _message_view(m: DisputeMessageItem) -> MessageView:
    return MessageView(
        id=m.message_id,
        author_id=m.author_id,
        author_role=m.author_role,
        text=m.text,
        evidence_keys=[str(k) for k in m.evidence_keys or []],
        created_at=m.created_at,
    )


def _not_found() -> NotFound:
    return NotFound("DISPUTE_NOT_FOUND", "纠纷不存在")


def _check_evidence(caller: Caller, evidence_keys: list[str]) -> None:
    from chalicelib.services import uploads

    if len(evidence_keys) > D.MAX_EVIDENCE:
        raise Invalid({"evidence_keys": f"最多附 {D.MAX_EVIDENCE} 个证据文件"})
    for key in evidence_keys:
        if not uploads.owned_object_exists(caller.id, key, EVIDENCE_PURPOSES):
            raise Invalid(
                {"evidence_keys": "证据文件不存在或不属于你，请先通过 /v1/uploads（purpose=evidence）上传"},
                code="EVIDENCE_NOT_FOUND",
            )


def _check_frozen(caller: Caller, kind: str) -> None:
    # A frozen account may still appeal a rejection and follow its appeal; nothing else (issue #8).
    if caller.frozen and kind != D.Kind.APPEAL_REJECTION:
        raise Forbidden("ACCOUNT_FROZEN", "账号已被冻结，如有疑问请提交申诉")


def _text(value: str, bounds: tuple[int, int], field: str) -> str:
    value = value.strip()
    if not bounds[0] <= len(value) <= bounds[1]:
        raise Invalid({field: f"请填写 {bounds[0]}–{bounds[1]} 字"})
    return value


# ------------------------------------------------------------------ opening a case


def _claim_for(caller: Caller, claim_id: str | None, task_id: str | None) -> claim_store.ClaimItem:
    """The claim the case is about; the caller must be its worker or its task's merchant (else 404)."""
    if claim_id:
        c = claim_store.get(claim_id)
        if c is None or caller.id not in (c.worker_id, c.merchant_id):
            raise NotFound("CLAIM_NOT_FOUND", "领取记录不存在")
        if task_id and task_id != c.task_id:
            raise Invalid({"task_id": "任务与领取记录不符"})
        return c
    if not task_id:
        raise Invalid({"claim_id": "请指明纠纷涉及的领取记录（claim_id）或任务（task_id）"})
    if caller.role != "worker":
        raise Invalid({"claim_id": "商家发起纠纷需指明涉及的领取记录（claim_id）"})
    from chalicelib.store.tasks import WorkerGuard

    gpk, gsk = keys.claim_guard(task_id, caller.id)
    try:
        guard = WorkerGuard.get(gpk, gsk, consistent_read=True)
    except WorkerGuard.DoesNotExist:
        raise NotFound("TASK_NOT_FOUND", "你没有领取过该任务") from None
    c = claim_store.get(guard.claim_id)
    if c is None or c.worker_id != caller.id:
        raise NotFound("TASK_NOT_FOUND", "你没有领取过该任务")
    return c


def open_case(
    caller: Caller,
    *,
    kind: str,
    claim_id: str | None,
    task_id: str | None,
    description: str,
    evidence_keys: list[str],
) -> DisputeView:
    from chalicelib.services import claims

    k = D.Kind(kind)
    D.check_opener(k, caller.role)
    _check_frozen(caller, k)
    description = _text(description, D.DESCRIPTION_RANGE, "description")
    c = _claim_for(caller, claim_id, task_id)
    is_worker = caller.id == c.worker_id
    if caller.role != ("worker" if is_worker else "merchant"):
        raise NotFound("CLAIM_NOT_FOUND", "领取记录不存在")
    if k == D.Kind.APPEAL_REJECTION and c.status == T.ClaimStatus.APPEALED:
        raise Conflict("DISPUTE_ALREADY_OPEN", "该领取记录已有处理中的纠纷")
    _check_evidence(caller, evidence_keys)
    now = clock.now()
    now_iso = books.iso(now)
    ops: list[store.Op] = []
    if k == D.Kind.APPEAL_REJECTION:
        ops.append(claims.appeal_ops(c, now))  # 409 CLAIM_STATE_CONFLICT / APPEAL_WINDOW_CLOSED
    dispute_id = ids.new_id("dsp")
    respondent_role = D.respondent_role(caller.role)
    respondent = c.merchant_id if is_worker else c.worker_id
    sla_due = books.iso(now + timedelta(seconds=D.SLA_S))
    pk, sk = keys.dispute(dispute_id)
    case = DisputeItem(
        PK=pk,
        SK=sk,
        dispute_id=dispute_id,
        dispute_kind=str(k),
        status=str(D.Status.OPEN),
        claim_id=c.claim_id,
        task_id=c.task_id,
        task_title=c.task_title,
        reward_fen=int(c.reward_fen),
        worker_id=c.worker_id,
        merchant_id=c.merchant_id,
        opener_id=caller.id,
        opener_role=caller.role,
        respondent_id=respondent,
        respondent_role=respondent_role,
        description=description,
        evidence_keys=evidence_keys or None,
        created_at=now_iso,
        updated_at=now_iso,
        sla_due_at=sla_due,
        message_count=0,
    )
    for name, value in {
        **store.queue_attrs(D.Status.OPEN, now_iso, dispute_id),
        **store.due_attrs(sla_due, dispute_id),
    }.items():
        setattr(case, name, value)
    parties = [
        store.party_item(dispute_id, c.worker_id, "worker", now_iso),
        store.party_item(dispute_id, c.merchant_id, "merchant", now_iso),
    ]
    ops.append(store.new_case_ops(case, parties))
    try:
        store.commit(ops)
    except tx.TxCancelled as exc:
        if exc.failed_label("case_guard"):
            raise Conflict("DISPUTE_ALREADY_OPEN", "该领取记录已有处理中的纠纷") from None
        if exc.failed_label("claim"):
            fresh = claim_store.get(c.claim_id)
            if fresh is not None and fresh.status == T.ClaimStatus.REJECTED:
                raise Conflict("APPEAL_WINDOW_CLOSED", "已超过 72 小时申诉期限，不能再申诉") from None
            raise Conflict("CLAIM_STATE_CONFLICT", "领取记录状态已变化，请刷新") from None
        raise
    logger.info("dispute opened", extra={"dispute_id": dispute_id, "kind": str(k), "claim_id": c.claim_id})
    return view(case, [])


# ------------------------------------------------------------------ reading


def _party_role(d: DisputeItem, caller: Caller) -> str | None:
    if caller.id == d.worker_id and caller.role == "worker":
        return "worker"
    if caller.id == d.merchant_id and caller.role == "merchant":
        return "merchant"
    return None


def get_case(caller: Caller, dispute_id: str) -> DisputeView:
    """The case and its thread, for its parties and the desk (admins); anyone else gets 404."""
    d, _, messages = store.read_case(dispute_id, D.MAX_MESSAGES + 3)
    if d is None or (_party_role(d, caller) is None and caller.role != "admin"):
        raise _not_found()
    return view(d, messages)


def my_cases(caller: Caller, *, limit: int, page_cursor: str | None) -> tuple[list[DisputeView], str | None]:
    parties, nxt = cursor.query_page(
        partial(store.query_party, caller.id),
        scope=cursor.scope("me.disputes", user=caller.id),
        limit=limit,
        cursor=page_cursor,
    )
    found = store.batch_get([p.dispute_id for p in parties])
    return [view(found[p.dispute_id]) for p in parties if p.dispute_id in found], nxt


def desk_queue(status: str, *, limit: int, page_cursor: str | None) -> tuple[list[DisputeView], str | None]:
    items, nxt = cursor.query_page(
        partial(store.query_status, status),
        scope=cursor.scope("admin.disputes", status=status),
        limit=limit,
        cursor=page_cursor,
    )
    return [view(d) for d in items], nxt


# ------------------------------------------------------------------ the thread


def post_message(caller: Caller, dispute_id: str, text: str, evidence_keys: list[str]) -> MessageView:
    text = _text(text, D.MESSAGE_RANGE, "text")
    for _ in range(3):
        d = store.get(dispute_id)
        role = _party_role(d, caller) if d is not None else None
        if d is None or role is None:
            raise _not_found()
        _check_frozen(caller, d.dispute_kind)
        D.check_message(d.status)
        if int(d.message_count or 0) >= D.MAX_MESSAGES:
            raise Conflict("DISPUTE_THREAD_FULL", f"每个纠纷最多 {D.MAX_MESSAGES} 条留言，请等待平台处理")
        _check_evidence(caller, evidence_keys)
        now_iso = books.iso(clock.now())
        message_id = ids.ulid()  # a thread item; its key is under the case
        pk, sk = keys.dispute_message(dispute_id, now_iso, message_id)
        msg = DisputeMessageItem(
            PK=pk,
            SK=sk,
            dispute_id=dispute_id,
            message_id=message_id,
            dispute_kind=d.dispute_kind,
            author_id=caller.id,
            author_role=role,
            text=text,
            evidence_keys=evidence_keys or None,
            created_at=now_iso,
            worker_id=d.worker_id,
            merchant_id=d.merchant_id,
        )
        answers = D.answers(d.status, role, d.respondent_role, now_iso, d.sla_due_at)
        try:
            store.commit([store.message_ops(d, msg, answers=answers, max_messages=D.MAX_MESSAGES)])
        except tx.TxCancelled as exc:
            if exc.failed_label(store.CASE):
                continue  # resolved, full, or answered by a concurrent message: decide again on a fresh read
            raise
        return _message_view(msg)
    raise Conflict("BUSY_RETRY", "系统繁忙，请稍后重试")


# ------------------------------------------------------------------ closing a case


def _escrow_short(c: claim_store.ClaimItem) -> bool:
    """True when the task's escrow no longer holds this claim's slot (then the guarantee pays)."""
    escrow = L.escrow(c.task_id)
    return books.get_balances([escrow])[escrow].available < int(c.reward_fen) + int(c.fee_fen)


def _close(d: DisputeItem, p: D.Plan, *, by: Caller, note: str, request_id: str | None) -> DisputeItem:
    """Resolve `d` with plan `p`: the claim's settlement, the penalty, the case and its audit entry, in one
    transaction. Returns the resolved case; a concurrent resolution makes this a 409."""
    from chalicelib.services import audit, claims

    now_iso = books.iso(clock.now())
    resolution_id = ids.ulid()
    c = claim_store.get(d.claim_id) if (p.pays_claim or p.split_worker_fen or p.upholds_rejection) else None
    from_guarantee = bool(c is not None and (p.pays_claim or p.split_worker_fen) and _escrow_short(c))
    worker_paid = 0
    if p.pays_claim and c is not None:
        worker_paid = int(c.reward_fen)
    elif p.split_worker_fen:
        worker_paid = p.split_worker_fen
    fields = {
        "outcome": str(p.outcome),
        "resolved_by": "sla" if by is SLA_ACTOR else by.id,
        "resolution_id": resolution_id,
        "note": note,
        "penalty_fen": p.penalty_fen or None,
        "split_worker_fen": p.split_worker_fen,
        "worker_paid_fen": worker_paid + p.penalty_fen,
        "paid_from": ("guarantee" if from_guarantee else "escrow") if worker_paid else None,
    }
    before = {"status": d.status, "outcome": None}
    after = {"status": "resolved", **{k: v for k, v in fields.items() if k not in ("resolution_id", "note")}}
    entry = audit.entry(
        by, "dispute.resolve", "dispute", d.dispute_id, reason=note, before=before, after=after, request_id=request_id
    )

    def put_audit(t: tx.Tx) -> None:
        t.put(entry, label="audit")

    ops = [store.resolve_ops(d, allowed=D.RESOLVABLE, now_iso=now_iso, fields=fields), put_audit]
    penalty = []
    if p.penalty_fen:
        penalty.append(
            L.Transfer(
                id=f"dispute:{d.dispute_id}:penalty",
                debit=L.guarantee(d.merchant_id),
                credit=L.wallet(d.worker_id),
                amount=p.penalty_fen,
                code=L.Code.COMPENSATION,
                memo=f"纠纷赔付：{d.task_title or ''}"[:80],
                meta={"dispute_id": d.dispute_id, "claim_id": d.claim_id},
            )
        )
    conflict = Conflict("DISPUTE_STATE_CONFLICT", "纠纷已被处理，请刷新", {"status": "resolved"})
    try:
        if c is not None and (p.pays_claim or p.split_worker_fen):
            claims.pay_appeal(
                c,
                worker_fen=p.split_worker_fen,
                from_guarantee=from_guarantee,
                extra_ops=ops,
                extra_transfers=penalty,
            )
        elif c is not None and p.upholds_rejection:
            claims.uphold_rejection(c, extra_ops=ops)
        elif penalty:

            def apply(t: tx.Tx) -> None:
                for op in ops:
                    op(t)

            books.post(penalty, extras=[books.Extra(apply, store.CASE, conflict)])
        else:
            store.commit(ops)
    except tx.TxCancelled as exc:
        if exc.failed_label(store.CASE):
            raise conflict from None
        raise
    except Conflict as err:
        if err.code == "CLAIM_STATE_CONFLICT":
            fresh = store.get(d.dispute_id)
            if fresh is not None and fresh.status == D.Status.RESOLVED:
                raise conflict from None
        raise
    done = store.get(d.dispute_id)
    # A replayed settlement (same transfer ids, posted by a concurrent resolution) returns quietly: only the
    # call whose resolution id is on the case won.
    if done is None or done.resolution_id != resolution_id:
        raise conflict
    logger.info(
        "dispute resolved",
        extra={"dispute_id": d.dispute_id, "outcome": str(p.outcome), "by": fields["resolved_by"]},
    )
    return done


def resolve(
    admin: Caller,
    dispute_id: str,
    *,
    outcome: str,
    note: str,
    penalty_fen: int | None,
    split_worker_fen: int | None,
    request_id: str | None = None,
) -> DisputeView:
    d = store.get(dispute_id)
    if d is None:
        raise _not_found()
    D.resolve_from(d.status)
    note = _text(note, D.NOTE_RANGE, "note")
    p = D.plan(
        D.Kind(d.dispute_kind),
        D.Outcome(outcome),
        reward_fen=int(d.reward_fen),
        penalty_fen=penalty_fen,
        split_worker_fen=split_worker_fen,
    )
    return view(_close(d, p, by=admin, note=note, request_id=request_id))


# ------------------------------------------------------------------ the SLA (deadline sweep)


def handle_due(d: DisputeItem, now: datetime) -> str:
    """The respondent's SLA ran out. A merchant silent on an appeal loses it (the worker is paid); any other
    silent respondent leaves the case to the desk, marked. Returns `auto_resolved`, `escalated` or `skipped`."""
    fresh = store.get(d.dispute_id)
    now_iso = books.iso(now)
    if fresh is None or fresh.status != D.Status.OPEN or not fresh.sla_due_at or fresh.sla_due_at > now_iso:
        return "skipped"
    if fresh.dispute_kind == D.Kind.APPEAL_REJECTION and fresh.respondent_role == "merchant":
        p = D.plan(
            D.Kind.APPEAL_REJECTION,
            D.Outcome.WORKER_WINS,
            reward_fen=int(fresh.reward_fen),
            penalty_fen=None,
            split_worker_fen=None,
        )
        try:
            _close(fresh, p, by=SLA_ACTOR, note="商家未在 48 小时内回复，申诉自动成立", request_id=None)
            return "auto_resolved"
        except Conflict as err:
            if err.code not in ("ESCROW_INSUFFICIENT", "GUARANTEE_INSUFFICIENT"):
                raise
            # Neither the escrow nor the guarantee can pay: the desk must decide; stop retrying every minute.
            logger.warning("dispute auto-resolution unfunded", extra={"dispute_id": fresh.dispute_id})
    try:
        store.commit([store.escalate_ops(fresh, now_iso)])
    except tx.TxCancelled:
        return "skipped"
    return "escalated"


# ------------------------------------------------------------------ stream: notifications and credit

_OUTCOME_TEXT = {
    D.Outcome.WORKER_WINS: "用户胜诉",
    D.Outcome.MERCHANT_WINS: "商家胜诉",
    D.Outcome.SPLIT: "双方分担",
}
_KIND_TEXT = {
    D.Kind.APPEAL_REJECTION: "驳回申诉",
    D.Kind.FAKE_TASK: "虚假任务举报",
    D.Kind.WORKER_CHEATING: "用户作弊举报",
    D.Kind.OTHER: "其他纠纷",
}


@events.on_change("dispute")
def on_dispute(change: events.Change) -> None:
    from chalicelib.services import credit
    from chalicelib.services.notifications import notify

    new, old = change.new or {}, change.old or {}
    if not new:
        return
    did = str(new["dispute_id"])
    what = _KIND_TEXT.get(D.Kind(str(new["dispute_kind"])), "纠纷")
    title = str(new.get("task_title") or "")
    if change.event_name == "INSERT":
        at = str(new["created_at"])
        notify(
            str(new["respondent_id"]),
            f"dispute.opened:{did}:respondent",
            at,
            "dispute.opened",
            f"你有一个{what}待回复",
            f"任务「{title}」的{what}需要你在 48 小时内回复并提供证据，逾期未回复将按对方主张处理或由平台裁决。",
            did,
        )
        notify(
            str(new["opener_id"]),
            f"dispute.opened:{did}:opener",
            at,
            "dispute.opened",
            f"{what}已提交",
            f"任务「{title}」的{what}已提交，对方需在 48 小时内回复，平台将尽快处理。",
            did,
        )
        return
    if new.get("status") != D.Status.RESOLVED or old.get("status") == D.Status.RESOLVED:
        return
    at = str(new["resolved_at"])
    outcome = D.Outcome(str(new["outcome"]))
    paid = int(new.get("worker_paid_fen") or 0)
    for user, side in ((str(new["worker_id"]), "worker"), (str(new["merchant_id"]), "merchant")):
        body = f"任务「{title}」的{what}已结案：{_OUTCOME_TEXT[outcome]}。"
        if side == "worker" and paid:
            body += f"已向你支付 {paid / 100:.2f} 元。"
        notify(user, f"dispute.resolved:{did}:{side}", at, "dispute.resolved", f"{what}已结案", body, did)
    # A case's own credit change, applied only now that it is closed (an appeal's follows its claim).
    if D.counts_as_violation(D.Kind(str(new["dispute_kind"])), outcome):
        credit.change(
            str(new["worker_id"]), f"violation:dispute:{did}", credit.VIOLATION_DELTA, "作弊举报经平台核实", did, at
        )


@events.on_change("dispute_message")
def on_message(change: events.Change) -> None:
    from chalicelib.services.notifications import notify

    new = change.new or {}
    if change.event_name != "INSERT" or not new:
        return
    author = str(new["author_id"])
    other = str(new["merchant_id"]) if author == str(new["worker_id"]) else str(new["worker_id"])
    notify(
        other,
        f"dispute.message:{new['message_id']}",
        str(new["created_at"]),
        "dispute.message",
        "纠纷有新回复",
        f"对方在纠纷中留言：{str(new['text'])[:60]}",
        str(new["dispute_id"]),
    )
