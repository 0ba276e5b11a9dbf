"""Claims: one-tap claim, proof, abandon, merchant review and settlement, and what deadlines do to claims.

Each use case is one DynamoDB transaction. Money: a claimed slot's `reward + fee` stays in the task's escrow
until the claim ends. Accepting moves the reward to the worker and the fee to platform revenue (one linked
ledger operation). A claim that ends without payment (abandoned, expired, rejection not appealed in 72 h)
gives its slot back to the hall while the task is open, or refunds its escrow to the merchant if the task has
closed — so escrow always covers what open claims can still earn, and nothing is stranded.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from chalicelib.adapters import clock, ids
from chalicelib.domain import durations as D
from chalicelib.domain import ledger as L
from chalicelib.domain import tasks as T
from chalicelib.domain.errors import Conflict, Forbidden, Invalid, NotFound
from chalicelib.domain.roles import Caller
from chalicelib.store import claims as store
from chalicelib.store import cursor, merchant_stats, slot_shards, tx
from chalicelib.store import ledger as books
from chalicelib.store import tasks as task_store
from chalicelib.store.tasks import ClaimItem, TaskItem

OPEN_TASK = frozenset({T.TaskStatus.PUBLISHED, T.TaskStatus.PAUSED})
CLOSED_TASK = frozenset({T.TaskStatus.COMPLETED, T.TaskStatus.CANCELLED, T.TaskStatus.EXPIRED})
MAX_BATCH = 50


@dataclass(frozen=True)
class ClaimView:
    id: str
    task_id: str
    worker_id: str
    status: str
    reward_fen: int
    claimed_at: str
    deadline_at: str | None
    submitted_at: str | None
    settled_at: str | None
    proof: dict[str, Any] | None
    reject_reason: str | None
    rating: int | None


def view(c: ClaimItem) -> ClaimView:
    return ClaimView(
        id=c.claim_id,
        task_id=c.task_id,
        worker_id=c.worker_id,
        status=c.status,
        reward_fen=int(c.reward_fen),
        claimed_at=c.claimed_at,
        deadline_at=c.deadline_at,
        submitted_at=c.submitted_at,
        settled_at=c.settled_at,
        proof=c.proof,
        reject_reason=c.reject_reason,
        rating=int(c.rating) if c.rating is not None else None,
    )


def _iso(at: datetime) -> str:
    return books.iso(at)


def _parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


# ------------------------------------------------------------------ claim


def claim(caller: Caller, task_id: str, *, device_id: str | None, source_ip: str | None) -> ClaimView:
    """One tap: one transaction over the task's slot counter, the guard, the claim and the worker's cap."""
    from chalicelib.adapters import crypto
    from chalicelib.store import users

    task, shards = slot_shards.load(task_id)  # one Query: the task item and a hot task's slot shards
    if task is None or task.status not in (T.TaskStatus.PUBLISHED, T.TaskStatus.PAUSED):
        raise NotFound("TASK_NOT_FOUND", "任务不存在或未上架")
    if task.merchant_id == caller.id:
        raise Forbidden("NOT_ELIGIBLE", "不能领取自己发布的任务")
    now = clock.now()
    if task.status != T.TaskStatus.PUBLISHED:
        raise Conflict("TASK_NOT_OPEN", "任务已暂停领取")
    if _parse(task.ends_at) <= now:
        raise Conflict("TASK_ENDED", "任务已结束")
    user = users.get_user(caller.id)
    counters_accepted = int(getattr(user, "accepted_count", 0) or 0) if user else 0
    facts = T.WorkerFacts(
        credit_score=int(user.credit_score) if user else T.CREDIT_START,
        province=getattr(user, "id_province", None) if user else None,
        accepted_count=counters_accepted,
        real_name_verified=bool(user and user.real_name_status == "verified"),
    )
    rule = T.Eligibility(
        min_credit=task.eligibility.get("min_credit"),
        regions=tuple(task.eligibility.get("regions") or ()),
        new_workers_only=bool(task.eligibility.get("new_workers_only")),
        premium_pool=bool(task.eligibility.get("premium_pool")),
    )
    problem = T.eligibility_problem(rule, facts)
    if problem is not None:
        raise problem
    now_iso = _iso(now)
    due = _iso(now + timedelta(seconds=int(task.claim_ttl_s)))
    claim_id = ids.new_id("clm")
    fee = int(task.unit_cost_fen or 0) - int(task.reward_fen)
    pk, sk = store.keys.claim_item(claim_id)
    item = ClaimItem(
        PK=pk,
        SK=sk,
        claim_id=claim_id,
        task_id=task_id,
        merchant_id=task.merchant_id,
        worker_id=caller.id,
        status=T.ClaimStatus.CLAIMED,
        reward_fen=int(task.reward_fen),
        fee_fen=fee,
        claimed_at=now_iso,
        deadline_at=due,
        updated_at=now_iso,
        task_title=task.title,
        device_hash=crypto.blind_index("device", device_id) if device_id else None,
        ip_hash=crypto.blind_index("ip", source_ip) if source_ip and source_ip != "0.0.0.0" else None,  # noqa: S104
        **store.index_attrs(claim_id, caller.id, task_id, T.ClaimStatus.CLAIMED, now_iso, due),
    )
    for _ in range(SHARD_ATTEMPTS):
        try:
            take_slot = _slot_op(task, shards)
        except _Exhausted:
            from chalicelib.services import tasks as task_service

            task_service.fold_dry_shards(task_id)  # the hall and completion see the hot task as full now
            raise Conflict("SLOTS_EXHAUSTED", "任务名额已满") from None
        ops = [
            take_slot,
            store.new_claim_ops(item, item.device_hash, item.ip_hash, now_iso),
            store.worker_counter_ops(caller.id, {"open_claims": 1}, cap_open=T.MAX_OPEN_CLAIMS_PER_WORKER),
        ]

        def build(ops: list[store.Op] = ops) -> tx.Tx:
            t = tx.Tx()
            for op in ops:
                op(t)
            return t

        try:
            tx.run(build, lambda t: t.commit())
        except tx.TxCancelled as exc:
            if "guard" in exc.failed:
                if _our_own_claim(exc, item):
                    return view(item)  # a retried request whose first send had committed (see below)
                raise Conflict("ALREADY_CLAIMED", "你已领取过该任务") from None
            if "worker" in exc.failed:
                raise Conflict(
                    "TOO_MANY_OPEN_CLAIMS", f"你同时进行中的任务已达 {T.MAX_OPEN_CLAIMS_PER_WORKER} 个，请先完成或放弃"
                ) from None
            if exc.failed_label("shard") and not exc.failed_label("task"):
                task, shards = slot_shards.load(task_id)  # the shard ran dry under us: pick again
                if task is None or task.status != T.TaskStatus.PUBLISHED:
                    raise Conflict("TASK_NOT_OPEN", "任务已暂停或结束领取") from None
                continue
            if "task" in exc.failed:
                current, current_shards = slot_shards.load(task_id)
                if current is not None and current.status == T.TaskStatus.PUBLISHED:
                    if int(current.slot_shards or 0):
                        task, shards = current, current_shards  # a racing refill moved the pool: pick again
                        continue
                    raise Conflict("SLOTS_EXHAUSTED", "任务名额已满") from None
                raise Conflict("TASK_NOT_OPEN", "任务已暂停或结束领取") from None
            raise
        return view(item)
    raise Conflict("BUSY_RETRY", "领取的人太多了，请稍后重试")


def _our_own_claim(exc: tx.TxCancelled, item: ClaimItem) -> bool:
    """The guard already names this very claim: botocore resent a transaction whose answer was lost after it
    committed. DynamoDB answers such a resend from its ClientRequestToken; an emulator may instead fail the
    conditions — either way the claim exists, so the worker gets it rather than a false ALREADY_CLAIMED."""
    current = exc.items.get("guard") or {}
    held = current.get("claim_id", {})
    if isinstance(held, dict):
        held = held.get("S")
    if held is None:
        found = store.get(item.claim_id)
        return found is not None and found.worker_id == item.worker_id
    return held == item.claim_id


SHARD_ATTEMPTS = 8  # a lost race for a shard re-reads and picks again; only a rush this long gives up


class _Exhausted(Exception):
    """A hot task has no free slot in its shards or its pool."""


def _slot_op(task: TaskItem, shards: list[slot_shards.SlotShard]) -> store.Op:
    """The write that takes the claim's slot: the task item's counter for an ordinary task; for a hot task a
    random shard with a free slot, or — when every shard is dry — a refill from the pool that takes it."""
    if not int(task.slot_shards or 0):
        return store.task_counter_ops(
            task.task_id,
            {"slots_left": -1, "open_claims": 1, "claimed_count": 1},
            condition=(TaskItem.status == T.TaskStatus.PUBLISHED) & (TaskItem.slots_left > 0),
        )
    stocked = [int(s.shard) for s in shards if int(s.free or 0) > 0]
    if stocked:
        return slot_shards.take_op(task.task_id, secrets.choice(stocked))
    amounts = T.refill_amounts(int(task.slots), int(task.slot_shards), int(task.slots_left or 0))
    if not amounts:
        raise _Exhausted()
    return slot_shards.refill_ops(
        task, amounts, secrets.choice([i for i, a in enumerate(amounts) if a]), published=T.TaskStatus.PUBLISHED
    )


def _load_for_worker(caller: Caller, claim_id: str) -> ClaimItem:
    c = store.get(claim_id)
    if c is None or c.worker_id != caller.id:
        raise NotFound("CLAIM_NOT_FOUND", "领取记录不存在")
    return c


def _load_for_merchant(caller: Caller, claim_id: str) -> ClaimItem:
    c = store.get(claim_id)
    if c is None or c.merchant_id != caller.id:
        raise NotFound("CLAIM_NOT_FOUND", "领取记录不存在")
    return c


# ------------------------------------------------------------------ proof


def submit_proof(
    caller: Caller,
    claim_id: str,
    *,
    text: str | None,
    image_keys: list[str],
    location: tuple[float, float] | None,
    order_no: str | None,
    device_id: str | None,
    source_ip: str | None,
) -> ClaimView:
    from chalicelib.adapters import crypto
    from chalicelib.services import uploads

    c = _load_for_worker(caller, claim_id)
    T.claim_transition("submit", c.status)
    now = clock.now()
    if c.deadline_at and _parse(c.deadline_at) <= now:
        raise Conflict("CLAIM_EXPIRED", "已超过提交期限，该领取已失效")
    task = task_store.get_task(c.task_id)
    if task is None:
        raise NotFound("TASK_NOT_FOUND", "任务不存在")
    req = task.proof or {}
    fields: dict[str, str] = {}
    if req.get("text") and not (text and text.strip()):
        fields["text"] = f"请按要求填写：{req['text']}"
    need_images = int(req.get("images_min") or 0)
    if len(image_keys) < need_images:
        fields["image_keys"] = f"至少需要上传 {need_images} 张截图"
    for key in image_keys:
        if not uploads.owned_object_exists(caller.id, key, ("proof",)):
            fields["image_keys"] = "截图不存在或不属于你，请先通过 /v1/uploads 上传"
            break
    if req.get("order_no") and not (order_no and order_no.strip()):
        fields["order_no"] = "请填写订单号"
    gps = req.get("gps")
    distance = None
    if gps:
        if location is None:
            fields["location"] = "该任务需要定位打卡，请开启定位后提交"
        else:
            distance = T.haversine_m(gps["lat"], gps["lng"], location[0], location[1])
            if distance > float(gps["radius_m"]):
                from chalicelib.services import risk

                risk.note_geofence_attempt(caller.id, claim_id, c.task_id, distance, float(gps["radius_m"]))
                raise Invalid(
                    {"location": f"当前位置距任务地点约 {int(distance)} 米，超出 {int(gps['radius_m'])} 米范围"},
                    code="OUTSIDE_GEOFENCE",
                )
    if fields:
        raise Invalid(fields, code="PROOF_INCOMPLETE")
    now_iso = _iso(now)
    due = _iso(now + timedelta(seconds=int(task.review_ttl_s)))
    proof: dict[str, Any] = {"text": text, "image_keys": image_keys, "order_no": order_no}
    if location is not None:
        proof["location"] = {"lat": location[0], "lng": location[1]}
        proof["distance_m"] = round(distance, 1) if distance is not None else None
    seconds = max(0, int((now - _parse(c.claimed_at)).total_seconds()))
    ops = [
        store.status_ops(
            c,
            T.ClaimStatus.SUBMITTED,
            allowed=T.claim_allows("submit"),
            now_iso=now_iso,
            due=due,
            set_fields={
                "submitted_at": now_iso,
                "proof": proof,
                "device_hash": crypto.blind_index("device", device_id) if device_id else c.device_hash,
                "ip_hash": crypto.blind_index("ip", source_ip) if source_ip else c.ip_hash,
            },
        ),
        store.task_counter_ops(
            c.task_id, {"submitted_count": 1, "submit_seconds_total": seconds, f"st{D.bucket(seconds):02d}": 1}
        ),
        store.worker_counter_ops(c.worker_id, {"open_claims": -1}),
    ]
    _post_with_labels([], ops)
    updated = store.get(claim_id)
    assert updated is not None
    return view(updated)


# ------------------------------------------------------------------ ending a claim without payment


def release_slot(
    c: ClaimItem,
    new_status: str,
    action: str,
    counter: str | None,
    *,
    extra_set: dict | None = None,
    extra_ops: list[store.Op] | None = None,
) -> None:
    """End a claim unpaid: its slot goes back to the hall if the task is open, else its escrow to the merchant.
    `extra_ops` commit in the same transaction (a dispute's resolution)."""
    for _ in range(5):
        task = task_store.get_task(c.task_id, consistent=True)
        if task is None:
            raise NotFound("TASK_NOT_FOUND", "任务不存在")
        now_iso = _iso(clock.now())
        ops = [
            store.status_ops(
                c, new_status, allowed=T.claim_allows(action), now_iso=now_iso, due=None, set_fields=extra_set
            ),
            *(extra_ops or []),
        ]
        if c.status == T.ClaimStatus.CLAIMED:
            ops.append(store.worker_counter_ops(c.worker_id, {"open_claims": -1}))
        counters = {"open_claims": -1, **({counter: 1} if counter else {})}
        try:
            if task.status in OPEN_TASK:
                ops.append(
                    store.task_counter_ops(
                        c.task_id, {**counters, "slots_left": 1}, condition=TaskItem.status.is_in(*OPEN_TASK)
                    )
                )
                _post_with_labels([], ops)
            else:
                ops.append(store.task_counter_ops(c.task_id, counters, condition=TaskItem.status.is_in(*CLOSED_TASK)))
                unit = int(c.reward_fen) + int(c.fee_fen)
                refund = L.Transfer(
                    id=f"claim-refund:{c.claim_id}",
                    debit=L.escrow(c.task_id),
                    credit=L.wallet(c.merchant_id),
                    amount=unit,
                    code=L.Code.ESCROW_REFUND,
                    memo="未完成名额退款",
                )
                _post_with_labels([refund], ops, aux={L.wallet(c.merchant_id): {"escrowed": -unit}})
            return
        except _TaskMoved:
            continue  # the task opened or closed between our read and the write: decide again
    raise Conflict("BUSY_RETRY", "系统繁忙，请稍后重试")


class _TaskMoved(Exception):
    pass


class _TaskMovedError(Conflict):
    def __init__(self) -> None:
        super().__init__("TASK_STATE_CONFLICT", "任务状态已变化")


_CLAIM_CONFLICT = Conflict("CLAIM_STATE_CONFLICT", "领取记录状态已变化，请刷新")


def _post_with_labels(transfers: list[L.Transfer], ops: list[store.Op], *, aux: dict | None = None) -> None:
    """Commit the claim/task/worker ops (with the transfers, if any) in one transaction. A failed claim
    condition is a 409; a failed task condition means the task's state moved and the caller decides again."""

    def build() -> tx.Tx:
        t = tx.Tx()
        for op in ops:
            op(t)
        return t

    if transfers:

        def apply_all(t: tx.Tx) -> None:
            for op in ops:
                op(t)

        try:
            books.post(
                transfers,
                extras=[
                    books.Extra(apply_all, "claim", _CLAIM_CONFLICT),
                    books.Extra(lambda t: None, "task", _TaskMovedError()),
                ],
                aux=aux,
            )
        except _TaskMovedError:
            raise _TaskMoved() from None
        return
    try:
        tx.run(build, lambda t: t.commit())
    except tx.TxCancelled as exc:
        if "claim" in exc.failed:
            raise _CLAIM_CONFLICT from None
        if "task" in exc.failed:
            raise _TaskMoved() from None
        raise


def abandon(caller: Caller, claim_id: str) -> ClaimView:
    c = _load_for_worker(caller, claim_id)
    T.claim_transition("abandon", c.status)
    release_slot(c, T.ClaimStatus.ABANDONED, "abandon", "abandoned_count")
    updated = store.get(claim_id)
    assert updated is not None
    return view(updated)


def expire(c: ClaimItem) -> bool:
    """Deadline sweep: a claimed slot whose time ran out. Returns False if the claim moved on meanwhile."""
    try:
        T.claim_transition("expire", c.status)
        release_slot(c, T.ClaimStatus.EXPIRED, "expire", "expired_count")
    except Conflict:
        return False
    return True


def close_appeal_window(c: ClaimItem) -> bool:
    """Deadline sweep: a rejection nobody appealed in 72 h becomes final; its slot or escrow is released."""
    if c.status != T.ClaimStatus.REJECTED:
        return False
    try:
        release_slot_after_rejection(c)
    except Conflict:
        return False
    return True


def release_slot_after_rejection(c: ClaimItem) -> None:
    # A final rejection keeps status `rejected`; only its deadline and the held escrow go.
    release_slot(c, T.ClaimStatus.REJECTED, "finalize_rejection", None, extra_set={"settled_at": _iso(clock.now())})


# ------------------------------------------------------------------ appeals (services/disputes.py decides them)


def appeal_ops(c: ClaimItem, now: datetime) -> store.Op:
    """The claim's half of opening an appeal: `rejected → appealed` while its 72 h window is open. The
    window's deadline leaves the index, so the escrow stays held until the case closes (uphold or pay)."""
    T.claim_transition("appeal", c.status)
    now_iso = _iso(now)
    if c.settled_at or not c.deadline_at or c.deadline_at <= now_iso:
        raise Conflict("APPEAL_WINDOW_CLOSED", "已超过 72 小时申诉期限，不能再申诉")
    return store.status_ops(
        c,
        T.ClaimStatus.APPEALED,
        allowed=T.claim_allows("appeal"),
        now_iso=now_iso,
        due=None,
        # A sweep that finalized the rejection meanwhile set settled_at; a late request finds the window shut.
        condition=ClaimItem.settled_at.does_not_exist() & (ClaimItem.deadline_at > now_iso),
    )


def uphold_rejection(c: ClaimItem, extra_ops: list[store.Op]) -> None:
    """An appeal failed: the rejection is final (`appealed → rejected`, settled) and released as usual."""
    T.claim_transition("uphold_rejection", c.status)
    release_slot(
        c,
        T.ClaimStatus.REJECTED,
        "uphold_rejection",
        None,
        extra_set={"settled_at": _iso(clock.now())},
        extra_ops=extra_ops,
    )


def pay_appeal(
    c: ClaimItem,
    *,
    worker_fen: int | None,
    from_guarantee: bool,
    extra_ops: list[store.Op],
    extra_transfers: list[L.Transfer],
) -> str:
    """An appeal won (`appealed → accepted`): settled exactly like an accept, or — for a split — exactly
    `worker_fen` to the worker and the rest of the slot back to the merchant, no fee."""
    T.claim_transition("accept", c.status)
    return _settle(
        c,
        rating=None,
        by="dispute" if worker_fen is None else "dispute_split",
        worker_fen=worker_fen,
        from_guarantee=from_guarantee,
        extra_ops=extra_ops,
        extra_transfers=extra_transfers,
        count_review=False,  # the merchant's review was counted when they rejected
    )


# ------------------------------------------------------------------ review and settlement


def accept(caller: Caller | None, claim_id: str, *, rating: int | None = None, by: str = "merchant") -> ClaimView:
    """Pay the worker and the platform from escrow, in one linked ledger transaction with the claim's change."""
    c = store.get(claim_id)
    if c is None or (caller is not None and c.merchant_id != caller.id):
        raise NotFound("CLAIM_NOT_FOUND", "领取记录不存在")
    T.claim_transition("accept", c.status)
    settled_at = _settle(c, rating=rating, by=by)
    return replace(view(c), status=T.ClaimStatus.ACCEPTED, settled_at=settled_at, rating=rating, deadline_at=None)


def _settle(
    c: ClaimItem,
    *,
    rating: int | None,
    by: str,
    worker_fen: int | None = None,
    from_guarantee: bool = False,
    extra_ops: list[store.Op] | None = None,
    extra_transfers: list[L.Transfer] | None = None,
    count_review: bool = True,
) -> str:
    """Pay a claim: reward to the worker and fee to revenue from the task's escrow (or, when a dispute finds
    the escrow gone, from the merchant's guarantee). `worker_fen` pays exactly that instead (a dispute's split)
    and returns the rest of the slot to the merchant."""
    title = c.task_title or ""
    now = clock.now()
    now_iso = _iso(now)
    reward, fee = int(c.reward_fen), int(c.fee_fen)
    payer = L.guarantee(c.merchant_id) if from_guarantee else L.escrow(c.task_id)
    meta = {"claim_id": c.claim_id, "task_id": c.task_id}
    paid = reward if worker_fen is None else worker_fen
    transfers = [
        L.Transfer(
            id=f"settle:{c.claim_id}",
            debit=payer,
            credit=L.wallet(c.worker_id),
            amount=paid,
            code=L.Code.REWARD,
            memo=f"任务奖励：{title}"[:80],
            meta=meta,
        )
    ]
    if worker_fen is None and fee:
        transfers.append(
            L.Transfer(
                id=f"settle:{c.claim_id}:fee",
                debit=payer,
                credit=L.fee_revenue(f"settle:{c.claim_id}"),
                amount=fee,
                code=L.Code.FEE,
                memo="平台服务费",
                meta=meta,
            )
        )
    spent = reward + fee
    if worker_fen is not None:
        spent = worker_fen
        transfers.append(
            L.Transfer(
                id=f"settle:{c.claim_id}:rest",
                debit=payer,
                credit=L.wallet(c.merchant_id),
                amount=reward + fee - worker_fen,
                code=L.Code.ESCROW_REFUND,
                memo=f"纠纷分配退回：{title}"[:80],
                meta=meta,
            )
        )
    transfers += extra_transfers or []
    review_s = max(0, int((now - _parse(c.submitted_at)).total_seconds())) if c.submitted_at else 0
    ops = [
        store.status_ops(
            c,
            T.ClaimStatus.ACCEPTED,
            allowed=T.claim_allows("accept"),
            now_iso=now_iso,
            due=None,
            set_fields={"settled_at": now_iso, "rating": rating, "accepted_by": by},
        ),
        store.task_counter_ops(c.task_id, {"open_claims": -1, "accepted_count": 1, "spent_fen": spent}),
        store.worker_counter_ops(c.worker_id, {"accepted_count": 1}),
    ]
    if count_review:
        ops.append(merchant_stats.review_ops(c.merchant_id, review_s=review_s, rejected=False))
    ops += extra_ops or []
    aux = {} if from_guarantee else {L.wallet(c.merchant_id): {"escrowed": -(reward + fee)}}
    _post_with_labels(transfers, ops, aux=aux)
    return now_iso


def reject(caller: Caller, claim_id: str, reason: str) -> ClaimView:
    c = _load_for_merchant(caller, claim_id)
    T.claim_transition("reject", c.status)
    reason = reason.strip()
    if not 2 <= len(reason) <= 200:
        raise Invalid({"reason": "请填写 2–200 字的驳回理由"})
    now = clock.now()
    now_iso = _iso(now)
    window_end = _iso(now + timedelta(seconds=T.APPEAL_WINDOW_S))
    review_s = max(0, int((now - _parse(c.submitted_at)).total_seconds())) if c.submitted_at else 0
    ops = [
        store.status_ops(
            c,
            T.ClaimStatus.REJECTED,
            allowed=T.claim_allows("reject"),
            now_iso=now_iso,
            due=window_end,  # the appeal window: escrow stays held until it closes
            set_fields={"reject_reason": reason},
        ),
        store.task_counter_ops(c.task_id, {"rejected_count": 1}),
        merchant_stats.review_ops(c.merchant_id, review_s=review_s, rejected=True),
    ]
    _post_with_labels([], ops)
    return replace(view(c), status=T.ClaimStatus.REJECTED, reject_reason=reason, deadline_at=window_end)


@dataclass(frozen=True)
class BatchResult:
    id: str
    ok: bool
    status: str | None
    code: str | None


def review_batch(
    caller: Caller, task_id: str, accept_ids: list[str], rejects: list[tuple[str, str]]
) -> list[BatchResult]:
    if len(accept_ids) + len(rejects) > MAX_BATCH:
        raise Invalid({"accept": f"一次最多审核 {MAX_BATCH} 条"})
    task = task_store.get_task(task_id)
    if task is None or task.merchant_id != caller.id:
        raise NotFound("TASK_NOT_FOUND", "任务不存在")
    results: list[BatchResult] = []
    for cid, fn in [(i, partial(accept, caller, i)) for i in accept_ids] + [
        (i, partial(reject, caller, i, r)) for i, r in rejects
    ]:
        try:
            c = store.get(cid)
            if c is None or c.task_id != task_id:
                raise NotFound("CLAIM_NOT_FOUND", "领取记录不存在")
            done = fn()
            results.append(BatchResult(cid, True, done.status, None))
        except (Conflict, NotFound, Invalid) as err:
            results.append(BatchResult(cid, False, None, err.code))
    return results


# ------------------------------------------------------------------ lists


def my_claims(
    caller: Caller, status: str | None, *, limit: int, page_cursor: str | None
) -> tuple[list[ClaimView], str | None]:
    items, nxt = cursor.query_page(
        partial(store.query_worker, caller.id, status),
        scope=cursor.scope("me.claims", user=caller.id, status=status),
        limit=limit,
        cursor=page_cursor,
    )
    return [view(i) for i in items], nxt


def task_claims(
    caller: Caller, task_id: str, status: str | None, *, limit: int, page_cursor: str | None
) -> tuple[list[ClaimView], str | None]:
    task = task_store.get_task(task_id)
    if task is None or task.merchant_id != caller.id:
        raise NotFound("TASK_NOT_FOUND", "任务不存在")
    items, nxt = cursor.query_page(
        partial(store.query_task, task_id, status),
        scope=cursor.scope("task.claims", user=caller.id, task=task_id, status=status),
        limit=limit,
        cursor=page_cursor,
    )
    return [view(i) for i in items], nxt


def get_claim(caller: Caller, claim_id: str) -> ClaimView:
    c = store.get(claim_id)
    if c is None or caller.id not in (c.worker_id, c.merchant_id):
        raise NotFound("CLAIM_NOT_FOUND", "领取记录不存在")
    return view(c)


def rate_merchant(caller: Caller, claim_id: str, rating: int) -> ClaimView:
    """The worker rates the merchant (1–5) once, after the claim settled (accepted or finally rejected)."""
    c = _load_for_worker(caller, claim_id)
    if not c.settled_at or c.status not in (T.ClaimStatus.ACCEPTED, T.ClaimStatus.REJECTED):
        raise Conflict("NOT_SETTLED", "任务结算后才能评价商家")
    if not 1 <= rating <= 5:
        raise Invalid({"rating": "评分应为 1–5"})
    pk, sk = store.keys.claim_item(claim_id)

    def set_rating(t: tx.Tx) -> None:
        t.update(
            ClaimItem(PK=pk, SK=sk),
            [ClaimItem.merchant_rating.set(rating)],
            label="claim",
            condition=ClaimItem.merchant_rating.does_not_exist(),
        )

    try:
        _post_with_labels([], [set_rating, merchant_stats.rating_ops(c.merchant_id, rating)])
    except Conflict:
        raise Conflict("ALREADY_RATED", "你已评价过该商家") from None
    updated = store.get(claim_id)
    assert updated is not None
    return view(updated)
