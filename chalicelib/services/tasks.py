"""Task use cases: drafts, the content screen on submit, the desk's review, escrow funding on publish,
pause/resume, cancel, more slots, the end at `ends_at`, and the merchant's lists and stats.

Every status change is one conditional write on the old status; every change that moves money is one ledger
transaction holding the transfer, both balances, the task's change and its hall entries
(docs/decisions/0060-task-lifecycle-and-escrow.md). Refunds on cancel and end cover only the free slots
(`slots_left × unit`): a claimed slot's escrow stays until its claim settles or ends (services/claims.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any

from chalicelib.adapters import clock, ids
from chalicelib.adapters.log import logger
from chalicelib.domain import durations as D
from chalicelib.domain import ledger as L
from chalicelib.domain import tasks as T
from chalicelib.domain.errors import Conflict, Forbidden, Invalid, NotFound
from chalicelib.domain.roles import Caller
from chalicelib.services import audit
from chalicelib.store import audit as audit_store
from chalicelib.store import cursor, slot_shards, tx
from chalicelib.store import hall as hall_store
from chalicelib.store import ledger as books
from chalicelib.store import task_lifecycle as lifecycle
from chalicelib.store import tasks as task_store
from chalicelib.store.tasks import TaskItem

DRAFT_FIELDS = (
    "title",
    "description",
    "category",
    "steps",
    "proof",
    "reward_fen",
    "slots",
    "claim_ttl_s",
    "review_ttl_s",
    "ends_at",
    "eligibility",
)
LIVE = frozenset({T.TaskStatus.PUBLISHED, T.TaskStatus.PAUSED})
MAX_RETRIES = 8  # optimistic rounds against concurrent claims moving slots_left


def _iso(at: datetime) -> str:
    return books.iso(at)


def _parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _state_conflict() -> Conflict:
    return Conflict("TASK_STATE_CONFLICT", "任务状态已变化，请刷新后重试")


# ---------------------------------------------------------------- views


@dataclass(frozen=True)
class TaskView:
    id: str
    merchant_id: str
    status: str
    title: str
    description: str
    category: str
    steps: list[str]
    proof: dict[str, Any]
    eligibility: dict[str, Any]
    reward_fen: int
    slots: int
    slots_left: int
    claim_ttl_s: int
    review_ttl_s: int
    ends_at: str
    created_at: str
    updated_at: str
    submitted_at: str | None
    published_at: str | None
    closed_at: str | None
    fee_bps: int | None
    unit_cost_fen: int | None
    escrow_required_fen: int | None
    screen_rule: str | None
    screen_flags: list[str]
    review_reason: str | None


def view(t: TaskItem, live: slot_shards.Totals | None = None) -> TaskView:
    """`live`: a hot task's counters with its shards folded in; without it, a hot task shows its pool plus the
    slots parked in shards (an upper bound until they are claimed)."""
    unit = int(t.unit_cost_fen) if t.unit_cost_fen is not None else None
    return TaskView(
        id=t.task_id,
        merchant_id=t.merchant_id,
        status=t.status,
        title=t.title,
        description=t.description,
        category=t.category,
        steps=[str(step) for step in t.steps or []],
        proof=dict(t.proof or {}),
        eligibility=dict(t.eligibility or {}),
        reward_fen=int(t.reward_fen),
        slots=int(t.slots),
        slots_left=live.slots_left if live else int(t.slots_left or 0) + int(t.parked or 0),
        claim_ttl_s=int(t.claim_ttl_s),
        review_ttl_s=int(t.review_ttl_s),
        ends_at=t.ends_at,
        created_at=t.created_at,
        updated_at=t.updated_at,
        submitted_at=t.submitted_at,
        published_at=t.published_at,
        closed_at=t.closed_at,
        fee_bps=int(t.fee_bps) if t.fee_bps is not None else None,
        unit_cost_fen=unit,
        escrow_required_fen=int(t.slots) * unit if unit is not None else None,
        screen_rule=t.screen_rule,
        screen_flags=[str(flag) for flag in t.screen_flags or []],
        review_reason=t.review_reason,
    )


# ---------------------------------------------------------------- drafts


def _draft(fields: dict[str, Any]) -> T.Draft:
    ends_at = fields["ends_at"]
    if isinstance(ends_at, str):
        ends_at = _parse(ends_at)
    return T.Draft(
        title=fields["title"],
        description=fields["description"],
        category=fields["category"],
        steps=tuple(fields["steps"]),
        proof=dict(fields.get("proof") or {}),
        reward_fen=int(fields["reward_fen"]),
        slots=int(fields["slots"]),
        claim_ttl_s=int(fields["claim_ttl_s"]),
        review_ttl_s=int(fields.get("review_ttl_s") or T.DEFAULT_REVIEW_TTL_S),
        ends_at=ends_at,
        eligibility=dict(fields.get("eligibility") or {}),
    )


def _stored(d: T.Draft) -> dict[str, Any]:
    """The draft as task attributes: trimmed texts, one time format, no empty options."""
    proof = {k: v for k, v in d.proof.items() if v not in (None, False, 0, "")}
    if "text" in proof:
        proof["text"] = str(proof["text"]).strip()
    elig = {k: v for k, v in d.eligibility.items() if v not in (None, False, [], ())}
    return {
        "title": d.title.strip(),
        "description": d.description.strip(),
        "category": d.category,
        "steps": [s.strip() for s in d.steps],
        "proof": proof,
        "reward_fen": d.reward_fen,
        "slots": d.slots,
        "claim_ttl_s": d.claim_ttl_s,
        "review_ttl_s": d.review_ttl_s,
        "ends_at": _iso(d.ends_at),
        "eligibility": elig,
    }


def _checked(fields: dict[str, Any], now: datetime) -> dict[str, Any]:
    draft = _draft(fields)
    problems = T.draft_problems(draft, now)
    if problems:
        raise Invalid(problems)
    return _stored(draft)


def create(caller: Caller, fields: dict[str, Any]) -> TaskView:
    now = clock.now()
    values = _checked(fields, now)
    task_id = ids.new_id("tsk")
    item = lifecycle.new_item(task_id, caller.id, _iso(now), **values)
    lifecycle.create(item)
    logger.info("task drafted", extra={"task_id": task_id, "merchant_id": caller.id})
    return view(item)


def _load_own(caller: Caller, task_id: str) -> TaskItem:
    """The caller's task, or 404 — another merchant's task does not exist for them."""
    task = task_store.get_task(task_id, consistent=True)
    if task is None or task.merchant_id != caller.id:
        raise NotFound("TASK_NOT_FOUND", "任务不存在")
    return task


def edit(caller: Caller, task_id: str, patch: dict[str, Any]) -> TaskView:
    task = _load_own(caller, task_id)
    T.task_transition("edit", task.status)
    current = {name: getattr(task, name) for name in DRAFT_FIELDS}
    values = _checked({**current, **patch}, clock.now())
    lifecycle.update_fields(
        task,
        {**values, "screen_rule": None, "screen_flags": None},
        allowed=T.task_allows("edit"),
        now_iso=_iso(clock.now()),
    )
    return view(_load_own(caller, task_id))


def _merchant_approved(merchant_id: str) -> bool:
    from chalicelib.store import users

    user = users.get_user(merchant_id, consistent=True)
    return user is not None and user.merchant_status == "approved"


def submit(caller: Caller, task_id: str) -> TaskView:
    """Screen the texts: a rule that rejects moves the task to `rejected` at once (409 CONTENT_REJECTED with the
    rule); anything else waits for the desk."""
    from chalicelib.domain import content_policy

    task = _load_own(caller, task_id)
    T.task_transition("submit", task.status)
    if not _merchant_approved(caller.id):
        raise Forbidden("MERCHANT_NOT_APPROVED", "商家资质审核通过后才能提交任务，请先提交营业执照等资质")
    now = clock.now()
    now_iso = _iso(now)
    _checked({name: getattr(task, name) for name in DRAFT_FIELDS}, now)  # ends_at may have come too close
    verdict = content_policy.screen(
        task.title, task.description, [str(step) for step in task.steps], task.category, (task.proof or {}).get("text")
    )
    unchanged = TaskItem.updated_at == task.updated_at
    if not verdict.allowed:
        op = lifecycle.change_ops(
            task,
            T.task_transition("screen_reject", task.status),
            allowed=T.task_allows("screen_reject"),
            now_iso=now_iso,
            sets={"screen_rule": verdict.rule_id, "review_reason": verdict.reason, "screen_flags": None},
            condition=unchanged,
        )
        lifecycle.commit([op], {"task": _state_conflict()})
        logger.info("task rejected by the content screen", extra={"task_id": task_id, "rule_id": verdict.rule_id})
        raise Conflict(
            "CONTENT_REJECTED",
            verdict.reason,
            {"rule_id": verdict.rule_id, "reason": verdict.reason, "matched": verdict.matched, "task_id": task_id},
        )
    op = lifecycle.change_ops(
        task,
        T.task_transition("submit", task.status),
        allowed=T.task_allows("submit"),
        now_iso=now_iso,
        sets={
            "submitted_at": now_iso,
            "screen_rule": None,
            "screen_flags": list(verdict.flags) or None,
            "review_reason": None,
            **lifecycle.review_index(now_iso, task_id),
        },
        condition=unchanged,
    )
    lifecycle.commit([op], {"task": _state_conflict()})
    return view(_load_own(caller, task_id))


# ---------------------------------------------------------------- publishing: the desk and funding


def _is_member(merchant_id: str, now: datetime) -> bool:
    """A paid membership whose `active_until` is still ahead (services/membership.py): one GetItem."""
    from chalicelib.store import membership

    until = membership.active_until(merchant_id)
    return until is not None and until > _iso(now)


def fee_bps_for_task(category: str, merchant_id: str, now: datetime) -> int:
    override = lifecycle.fee_settings().get(category)
    return T.fee_bps_for(override, _is_member(merchant_id, now))


@dataclass(frozen=True)
class Published:
    task: TaskView
    funded: bool
    escrow_fen: int


def _publish_ops(
    task: TaskItem, *, from_status: str, now: datetime, fee_bps: int, member: bool
) -> tuple[lifecycle.Op, lifecycle.Op, int]:
    """The task's change to `published` with its funding round `n`, and its hall entries."""
    now_iso = _iso(now)
    unit = T.unit_cost_fen(int(task.reward_fen), fee_bps)
    n = int(task.fund_seq or 0) + 1
    sets = {
        "published_at": now_iso,
        "fee_bps": fee_bps,
        "unit_cost_fen": unit,
        "slots_left": int(task.slots),
        "slot_shards": T.slot_shards_for(int(task.slots)),
        "parked": 0,
        "fund_seq": n,
        "member_boost": member,
        **lifecycle.due_index(task.ends_at, task.task_id),
    }
    change = lifecycle.change_ops(
        task,
        T.TaskStatus.PUBLISHED,
        allowed={from_status},
        now_iso=now_iso,
        sets=sets,
        condition=TaskItem.fund_seq == int(task.fund_seq or 0),
    )
    listed = replace(
        hall_store.HallTask.from_item(task),
        status=T.TaskStatus.PUBLISHED,
        published_at=now_iso,
        slots_left=int(task.slots),
        member_boost=member,
    )
    return change, hall_store.put_ops(listed), n


def _fund_and_publish(task: TaskItem, *, from_status: str, audit_entry: audit_store.AuditItem | None) -> int | None:
    """One ledger transaction: wallet → escrow for every slot, the task published, listed, audited. Returns the
    escrow funded, or None when the wallet cannot cover it (nothing written)."""
    now = clock.now()
    member = _is_member(task.merchant_id, now)
    fee_bps = T.fee_bps_for(lifecycle.fee_settings().get(task.category), member)
    escrow = T.escrow_for(int(task.slots), int(task.reward_fen), fee_bps)
    wallet = L.wallet(task.merchant_id)
    balance = books.get_balances([wallet])[wallet]
    if balance.available < escrow:
        return None
    change, listing, n = _publish_ops(task, from_status=from_status, now=now, fee_bps=fee_bps, member=member)

    def apply(t: tx.Tx) -> None:
        change(t)
        listing(t)
        if audit_entry is not None:
            audit_store.add_to(t, audit_entry)

    transfer = L.Transfer(
        id=f"escrow-fund:{task.task_id}:{n}",
        debit=wallet,
        credit=L.escrow(task.task_id),
        amount=escrow,
        code=L.Code.ESCROW_FUND,
        memo=f"任务托管：{task.title}"[:80],
        meta={"task_id": task.task_id},
    )
    try:
        posted = books.post(
            [transfer],
            extras=[books.Extra(apply, "task", _state_conflict())],
            aux={wallet: {"escrowed": escrow}},
            known={wallet: balance},
        )
    except Conflict as err:
        if err.code == "INSUFFICIENT_BALANCE":
            return None
        if err.code == "TRANSFER_ID_REUSED":  # a concurrent publish funded this round (at another rate)
            raise _state_conflict() from None
        raise
    if posted.replayed:  # a concurrent publish of the same task funded this round first
        raise _state_conflict()
    logger.info("task published", extra={"task_id": task.task_id, "escrow_fen": escrow, "fee_bps": fee_bps})
    return escrow


def _load_any(task_id: str) -> TaskItem:
    task = task_store.get_task(task_id, consistent=True)
    if task is None:
        raise NotFound("TASK_NOT_FOUND", "任务不存在")
    return task


def _not_ended(task: TaskItem, now: datetime) -> None:
    if _parse(task.ends_at) <= now:
        raise Conflict("TASK_ENDED", "任务已到结束时间，不能再上架或增加名额，请重新发布")


def approve(actor: Caller, task_id: str, *, request_id: str | None) -> Published:
    """Publish if the merchant's wallet covers slots × (reward + fee); otherwise approve it unfunded — it goes
    live when the merchant funds it (POST /v1/tasks/{id}/fund)."""
    task = _load_any(task_id)
    T.task_transition("approve", task.status)
    _not_ended(task, clock.now())
    if not _merchant_approved(task.merchant_id):
        raise Conflict("MERCHANT_NOT_APPROVED", "该商家资质未通过审核，不能发布任务")

    def entry(after: str) -> audit_store.AuditItem:
        return audit.entry(
            actor,
            "task.approve",
            "task",
            task_id,
            before={"status": str(task.status)},
            after={"status": str(after)},
            request_id=request_id,
        )

    escrow = _fund_and_publish(task, from_status=T.TaskStatus.PENDING_REVIEW, audit_entry=entry("published"))
    if escrow is not None:
        return Published(view(_load_any(task_id)), True, escrow)
    op = lifecycle.change_ops(
        task,
        T.task_transition("approve_unfunded", task.status),
        allowed=T.task_allows("approve_unfunded"),
        now_iso=_iso(clock.now()),
        sets=dict(lifecycle.NO_GSI3),
    )
    audited = entry(T.TaskStatus.APPROVED_UNFUNDED)
    lifecycle.commit([op, lambda t: audit_store.add_to(t, audited)], {"task": _state_conflict()})
    logger.info("task approved unfunded", extra={"task_id": task_id})
    return Published(view(_load_any(task_id)), False, 0)


def reject(actor: Caller, task_id: str, reason: str, *, request_id: str | None) -> TaskView:
    task = _load_any(task_id)
    target = T.task_transition("reject", task.status)
    reason = reason.strip()
    op = lifecycle.change_ops(
        task,
        target,
        allowed=T.task_allows("reject"),
        now_iso=_iso(clock.now()),
        sets={"review_reason": reason, **lifecycle.NO_GSI3},
    )
    entry = audit.entry(
        actor,
        "task.reject",
        "task",
        task_id,
        reason=reason,
        before={"status": str(task.status)},
        after={"status": str(target)},
        request_id=request_id,
    )
    lifecycle.commit([op, lambda t: audit_store.add_to(t, entry)], {"task": _state_conflict()})
    return view(_load_any(task_id))


def fund(caller: Caller, task_id: str) -> TaskView:
    """An approved task the wallet could not cover goes live once the merchant has topped up."""
    task = _load_own(caller, task_id)
    T.task_transition("fund", task.status)
    now = clock.now()
    _not_ended(task, now)
    if _fund_and_publish(task, from_status=T.TaskStatus.APPROVED_UNFUNDED, audit_entry=None) is None:
        fee_bps = fee_bps_for_task(task.category, task.merchant_id, now)
        need = T.escrow_for(int(task.slots), int(task.reward_fen), fee_bps)
        have = books.get_balances([L.wallet(caller.id)])[L.wallet(caller.id)].available
        raise Conflict("INSUFFICIENT_BALANCE", "余额不足，请先充值", {"required_fen": need, "available_fen": have})
    return view(_load_own(caller, task_id))


def review_queue(actor: Caller, *, limit: int, page_cursor: str | None) -> tuple[list[TaskView], str | None]:
    items, nxt = cursor.query_page(
        lifecycle.review_queue,
        scope=cursor.scope("admin.tasks", status="pending_review"),
        limit=limit,
        cursor=page_cursor,
    )
    return [view(i) for i in items], nxt


def save_fee_settings(actor: Caller, category_bps: dict[str, int], *, request_id: str | None) -> dict[str, int]:
    fields = {}
    for category, bps in category_bps.items():
        if category not in T.CATEGORIES:
            fields[f"category_bps.{category}"] = "未知的任务类型"
        elif not T.FEE_BPS_RANGE[0] <= bps <= T.FEE_BPS_RANGE[1]:
            fields[f"category_bps.{category}"] = f"费率应为 {T.FEE_BPS_RANGE[0]}–{T.FEE_BPS_RANGE[1]} 个基点"
    if fields:
        raise Invalid(fields)
    before = lifecycle.fee_settings()
    entry = audit.entry(
        actor,
        "settings.fees",
        "settings",
        "fees",
        before={"category_bps": before},
        after={"category_bps": category_bps},
        request_id=request_id,
    )
    lifecycle.save_fee_settings(
        dict(category_bps),
        now_iso=_iso(clock.now()),
        actor_id=actor.id,
        audit_op=lambda t: audit_store.add_to(t, entry),
    )
    return dict(category_bps)


# ---------------------------------------------------------------- live tasks: pause, resume, slots, cancel, end


def pause(caller: Caller, task_id: str) -> TaskView:
    for _ in range(MAX_RETRIES):
        task = _load_own(caller, task_id)
        target = T.task_transition("pause", task.status)
        task, fold = _fold_shards(task)
        op = lifecycle.change_ops(
            task, target, allowed=T.task_allows("pause"), now_iso=_iso(clock.now()), **_fold_change(task, fold)
        )
        try:
            lifecycle.commit(
                [op, fold.op, hall_store.delete_ops(hall_store.HallTask.from_item(task))],
                {"fold": _Retry(), "task": _Retry()},  # the next round's transition check says why
            )
        except _Retry:
            continue  # a claim moved a shard between our read and the write
        return view(_load_own(caller, task_id))
    raise _state_conflict()


def _fold_shards(task: TaskItem) -> tuple[TaskItem, slot_shards.Fold]:
    """A hot task re-read with its shards and the fold that empties them into the task item (a no-op fold for
    an ordinary task), for a transaction that pauses or closes it."""
    if not int(task.slot_shards or 0):
        return task, slot_shards.fold(task.task_id, [])
    current, shards = slot_shards.load(task.task_id)
    if current is None:
        raise _state_conflict()
    return current, slot_shards.fold(task.task_id, shards)


def _fold_change(task: TaskItem, fold: slot_shards.Fold) -> dict[str, Any]:
    """The task item's side of a fold: shard counters added back, `parked` back to 0 — conditioned on the
    pool and `parked` as read, so a refill between our read and the write cancels it."""
    if not int(task.slot_shards or 0):
        return {}
    return {
        "sets": {"parked": 0},
        "adds": fold.task_adds,
        "condition": (TaskItem.slots_left == int(task.slots_left or 0)) & (TaskItem.parked == int(task.parked or 0)),
    }


def fold_dry_shards(task_id: str) -> bool:
    """A hot task whose pool and shards have no free slot left: fold the shards back so the task item's counters
    are exact again (`parked` 0) — the hall then takes it out and completion can see it settle. Idempotent."""
    for _ in range(MAX_RETRIES):
        task, shards = slot_shards.load(task_id)
        if (
            task is None
            or not int(task.parked or 0)
            or int(task.slots_left or 0)
            or any(int(s.free or 0) for s in shards)
        ):
            return False
        fold = slot_shards.fold(task_id, shards)
        op = lifecycle.change_ops(
            task, task.status, allowed={task.status}, now_iso=_iso(clock.now()), **_fold_change(task, fold)
        )
        try:
            lifecycle.commit([op, fold.op], {"fold": _Retry(), "task": _Retry()})
        except _Retry:
            continue
        logger.info("slot shards folded", extra={"task_id": task_id})
        return True
    return False


def resume(caller: Caller, task_id: str) -> TaskView:
    for _ in range(MAX_RETRIES):
        task = _load_own(caller, task_id)
        target = T.task_transition("resume", task.status)
        now = clock.now()
        _not_ended(task, now)
        # Conditioned on slots_left too, so the entries written carry exactly the committed count.
        op = lifecycle.change_ops(
            task,
            target,
            allowed=T.task_allows("resume"),
            now_iso=_iso(now),
            condition=TaskItem.slots_left == int(task.slots_left or 0),
        )
        ops = [op]
        listed = replace(hall_store.HallTask.from_item(task), status=target)
        if listed.listable:
            ops.append(hall_store.put_ops(listed))
        try:
            lifecycle.commit(ops, {"task": _Retry()})
        except _Retry:
            continue
        return view(_load_own(caller, task_id))
    raise _state_conflict()


class _Retry(Conflict):
    """The task's counters moved between our read and the write: read again."""


def add_slots(caller: Caller, task_id: str, add: int) -> TaskView:
    """More slots on a live task: `add × unit` from the wallet into escrow, in one transaction."""
    for _ in range(MAX_RETRIES):
        task = _load_own(caller, task_id)
        T.task_transition("add_slots", task.status)
        now = clock.now()
        _not_ended(task, now)
        if int(task.slots) + add > T.SLOTS_RANGE[1]:
            raise Invalid({"add": f"名额总数不能超过 {T.SLOTS_RANGE[1]:,}，当前 {int(task.slots):,}"})
        unit = int(task.unit_cost_fen)
        amount = add * unit
        n = int(task.fund_seq or 0) + 1
        change = lifecycle.change_ops(
            task,
            task.status,
            allowed=LIVE,
            now_iso=_iso(now),
            sets={"fund_seq": n, "slot_shards": int(task.slot_shards or 0) or T.slot_shards_for(int(task.slots) + add)},
            adds={"slots": add, "slots_left": add},
            condition=(TaskItem.fund_seq == int(task.fund_seq or 0)) & (TaskItem.slots <= T.SLOTS_RANGE[1] - add),
        )
        listed = replace(hall_store.HallTask.from_item(task), slots_left=int(task.slots_left or 0) + add)

        def apply(t: tx.Tx, change: Any = change, listed: hall_store.HallTask = listed) -> None:
            change(t)
            if listed.listable:
                hall_store.put_ops(listed)(t)

        wallet = L.wallet(caller.id)
        transfer = L.Transfer(
            id=f"escrow-fund:{task_id}:{n}",
            debit=wallet,
            credit=L.escrow(task_id),
            amount=amount,
            code=L.Code.ESCROW_FUND,
            memo=f"追加名额托管：{task.title}"[:80],
            meta={"task_id": task_id},
        )
        try:
            posted = books.post(
                [transfer], extras=[books.Extra(apply, "task", _Retry())], aux={wallet: {"escrowed": amount}}
            )
        except _Retry:
            continue
        except Conflict as err:
            if err.code == "TRANSFER_ID_REUSED":  # another top-up took this funding round first
                continue
            raise
        if posted.replayed:  # another top-up of the same size took this funding round first
            continue
        logger.info("task slots added", extra={"task_id": task_id, "added": add, "escrow_fen": amount})
        return view(_load_own(caller, task_id))
    raise _state_conflict()


@dataclass(frozen=True)
class Closed:
    task: TaskView
    refund_fen: int


def _close(task: TaskItem, action: str, *, reason: str) -> int | None:
    """Cancel or end `task` as read: status change, free slots' escrow back to the wallet, off the hall and the
    deadline index — one transaction. Returns the refund, or None when the task moved meanwhile."""
    live = task.status in LIVE
    task, fold = _fold_shards(task) if live else (task, slot_shards.fold(task.task_id, []))
    live = task.status in LIVE
    target = T.task_transition(action, task.status)
    now_iso = _iso(clock.now())
    folded = _fold_change(task, fold)
    sets: dict[str, Any] = {"closed_at": now_iso, **folded.get("sets", {})}
    if task.status == T.TaskStatus.PENDING_REVIEW or live:
        sets.update(lifecycle.NO_GSI3)
    adds = {k: v for k, v in folded.get("adds", {}).items() if k != "slots_left"}
    if live:
        sets["slots_left"] = 0
    slots_left = int(task.slots_left or 0) + fold.free if live else 0
    change = lifecycle.change_ops(
        task,
        target,
        allowed={task.status},
        now_iso=now_iso,
        sets=sets,
        adds=adds or None,
        condition=folded.get("condition", TaskItem.slots_left == int(task.slots_left or 0)),
    )
    ops = [change, fold.op]
    if live:
        ops.append(hall_store.delete_ops(hall_store.HallTask.from_item(task)))
    refund = slots_left * int(task.unit_cost_fen or 0)
    if refund == 0:
        try:
            lifecycle.commit(ops, {"task": _Retry(), "fold": _Retry()})
        except _Retry:
            return None
        return 0

    def apply(t: tx.Tx) -> None:
        for op in ops:
            op(t)

    wallet = L.wallet(task.merchant_id)
    transfer = L.Transfer(
        id=f"escrow-refund:{task.task_id}:{action}",
        debit=L.escrow(task.task_id),
        credit=wallet,
        amount=refund,
        code=L.Code.ESCROW_REFUND,
        memo=f"{reason}：{task.title}"[:80],
        meta={"task_id": task.task_id, "slots": str(slots_left)},
    )
    try:
        posted = books.post(
            [transfer],
            extras=[books.Extra(apply, "task", _Retry()), books.Extra(lambda t: None, "fold", _Retry())],
            aux={wallet: {"escrowed": -refund}},
        )
    except _Retry:
        return None
    if posted.replayed:
        return None
    return refund


def cancel(caller: Caller, task_id: str) -> Closed:
    for _ in range(MAX_RETRIES):
        task = _load_own(caller, task_id)
        refund = _close(task, "cancel", reason="任务取消退款")
        if refund is not None:
            logger.info("task cancelled", extra={"task_id": task_id, "refund_fen": refund})
            return Closed(view(_load_own(caller, task_id)), refund)
    raise _state_conflict()


def end_task(task_id: str, now: datetime) -> bool:
    """The deadline sweep's call at `ends_at`: a published or paused task expires, its free slots' escrow goes
    back to the merchant and it leaves the hall. False when there is nothing to do (already closed, not due)."""
    for _ in range(MAX_RETRIES):
        task = task_store.get_task(task_id, consistent=True)
        if task is None or task.status not in LIVE or _parse(task.ends_at) > now:
            return False
        refund = _close(task, "end", reason="任务到期退款")
        if refund is not None:
            logger.info("task ended", extra={"task_id": task_id, "refund_fen": refund})
            return True
    raise _state_conflict()


# ---------------------------------------------------------------- reading


def get(caller: Caller, task_id: str) -> TaskView:
    return view(*_load_own_live(caller, task_id))


def _load_own_live(caller: Caller, task_id: str) -> tuple[TaskItem, slot_shards.Totals | None]:
    """The caller's task and, for a hot task, its exact counters (the task item and its shards: one Query)."""
    task = _load_own(caller, task_id)
    if not int(task.slot_shards or 0):
        return task, None
    current, shards = slot_shards.load(task_id)
    task = current or task
    return task, slot_shards.totals(task, shards)


def my_tasks(
    caller: Caller, status: str | None, *, limit: int, page_cursor: str | None
) -> tuple[list[TaskView], str | None]:
    items, nxt = cursor.query_page(
        partial(task_store.query_merchant_tasks, caller.id, status),
        scope=cursor.scope("tasks.mine", user=caller.id, status=status),
        limit=limit,
        cursor=page_cursor,
    )
    return [view(i) for i in items], nxt


@dataclass(frozen=True)
class Stats:
    task_id: str
    status: str
    slots: int
    slots_left: int
    claimed: int
    open_claims: int
    submitted: int
    accepted: int
    rejected: int
    expired: int
    abandoned: int
    completion_rate: float | None
    mean_submit_s: int | None
    median_submit_s: int | None
    funded_fen: int
    spent_fen: int
    escrow_fen: int
    refunded_fen: int


def stats(caller: Caller, task_id: str) -> Stats:
    t, live = _load_own_live(caller, task_id)
    live = live or slot_shards.totals(t, [])
    claimed = live.claimed_count
    submitted = int(t.submitted_count or 0)
    accepted = int(t.accepted_count or 0)
    unit = int(t.unit_cost_fen or 0)
    funded = int(t.slots) * unit  # every slot is funded at unit cost when it is created on a live task
    escrow = books.get_balances([L.escrow(task_id)])[L.escrow(task_id)].available
    spent = int(t.spent_fen or 0)
    return Stats(
        task_id=task_id,
        status=t.status,
        slots=int(t.slots),
        slots_left=live.slots_left,
        claimed=claimed,
        open_claims=live.open_claims,
        submitted=submitted,
        accepted=accepted,
        rejected=int(t.rejected_count or 0),
        expired=int(t.expired_count or 0),
        abandoned=int(t.abandoned_count or 0),
        completion_rate=round(accepted / claimed, 4) if claimed else None,
        mean_submit_s=int(int(t.submit_seconds_total or 0) / submitted) if submitted else None,
        median_submit_s=D.median([int(getattr(t, f"st{i:02d}") or 0) for i in range(D.BUCKETS)]),
        funded_fen=funded,
        spent_fen=spent,
        escrow_fen=escrow,
        # Escrow in = spent + still held + returned: what is neither spent nor held went back to the wallet.
        refunded_fen=funded - spent - escrow,
    )
