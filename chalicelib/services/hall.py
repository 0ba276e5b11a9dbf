"""The task hall for workers: listed tasks by newest, reward or ending, filtered by category, reward range and
distance, members' tasks first, each with its merchant's track record and, when the worker cannot take it yet,
why; a task's public page; and the stream consumer that keeps hall entries in step with free slots.

Reads go through `store.hall` (docs/decisions/0061-task-hall.md): no table scans, a handful of Queries per page,
and every entry read is either returned or one of the few that tell a merge where to stop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.adapters import clock
from chalicelib.adapters.log import logger
from chalicelib.domain import hall as H
from chalicelib.domain import tasks as T
from chalicelib.domain.errors import Forbidden, NotFound
from chalicelib.domain.roles import Caller
from chalicelib.services import events
from chalicelib.store import cursor, merchant_stats
from chalicelib.store import hall as hall_store
from chalicelib.store import ledger as books
from chalicelib.store import tasks as task_store


@dataclass(frozen=True)
class HallQuery:
    sort: H.Sort = H.Sort.NEWEST
    category: str | None = None
    min_reward_fen: int | None = None
    max_reward_fen: int | None = None
    near: tuple[float, float] | None = None
    radius_km: float | None = None
    limit: int = 20
    cursor: str | None = None


@dataclass(frozen=True)
class MerchantSummary:
    merchant_id: str
    average_rating: float | None
    rating_count: int
    mean_review_s: int | None
    median_review_s: int | None
    reject_rate: float | None
    reviewed_count: int


@dataclass(frozen=True)
class HallItem:
    id: str
    title: str
    category: str
    category_label: str
    reward_fen: int
    slots_left: int
    ends_at: str
    published_at: str
    member: bool
    distance_m: int | None
    merchant: MerchantSummary
    locked_reason: dict[str, str] | None
    pinned: bool = False  # a promoted (置顶) task shown first on its category's first page


@dataclass(frozen=True)
class HallPage:
    items: list[HallItem]
    next_cursor: str | None
    queries: int
    entries_read: int


def worker_facts(worker_id: str) -> T.WorkerFacts:
    """Credit, verified province and accepted count: what eligibility is decided on."""
    from chalicelib.store import claims as claim_store
    from chalicelib.store import users

    user = users.get_user(worker_id)
    counters = claim_store.worker_counters(worker_id)
    return T.WorkerFacts(
        credit_score=int(user.credit_score) if user is not None else T.CREDIT_START,
        province=user.id_province if user is not None else None,
        accepted_count=int(counters.accepted_count or 0) if counters is not None else 0,
        real_name_verified=user is not None and user.real_name_status == "verified",
    )


def rule_of(eligibility: dict[str, Any]) -> T.Eligibility:
    return T.Eligibility(
        min_credit=int(eligibility["min_credit"]) if eligibility.get("min_credit") is not None else None,
        regions=tuple(eligibility.get("regions") or ()),
        new_workers_only=bool(eligibility.get("new_workers_only")),
        premium_pool=bool(eligibility.get("premium_pool")),
    )


def _summaries(merchant_ids: list[str]) -> dict[str, MerchantSummary]:
    found = merchant_stats.batch_get(merchant_ids) if merchant_ids else {}
    out = {}
    for mid in merchant_ids:
        s = found.get(mid)
        out[mid] = MerchantSummary(
            merchant_id=mid,
            average_rating=s.average_rating if s else None,
            rating_count=int(s.rating_count or 0) if s else 0,
            mean_review_s=s.mean_review_s if s else None,
            median_review_s=s.median_review_s if s else None,
            reject_rate=s.reject_rate if s else None,
            reviewed_count=int(s.reviewed_count or 0) if s else 0,
        )
    return out


def _locked(problem: Forbidden | None) -> dict[str, str] | None:
    return {"code": problem.code, "message": problem.message} if problem is not None else None


def browse(caller: Caller, q: HallQuery) -> HallPage:
    now = clock.now()
    now_iso = books.iso(now)
    facts = worker_facts(caller.id)
    geo = None
    center = q.near
    radius_m = 0.0
    first_read = 2
    if center is not None:
        radius_km = q.radius_km or H.DEFAULT_RADIUS_KM
        radius_m = radius_km * 1000
        geo = H.cover(center[0], center[1], radius_km)
        first_read = H.read_size(radius_km, geo[0], len(geo[1]), q.limit)
    scope = cursor.scope(
        "hall",
        user=caller.id,
        sort=q.sort.value,
        category=q.category,
        min=q.min_reward_fen,
        max=q.max_reward_fen,
        near=q.near,
        radius=q.radius_km,
    )
    start = cursor.decode(q.cursor, scope)
    after = start["r"]["S"] if start else None
    streams, forward = hall_store.plan(q.sort, q.category, q.min_reward_fen, q.max_reward_fen, geo=geo, now_iso=now_iso)
    resumed = [s for s in (stream.after(after) for stream in streams) if s is not None]
    shown: dict[str, tuple[H.Shown, Forbidden | None]] = {}

    # Promoted tasks (services/promoted.py) head a category's first page; the cursor remembers which, so later
    # pages leave them out of the merge.
    pinned: list[hall_store.HallEntry] = []
    pinned_ids: set[str] = set(start["p"]["S"].split(",")) if start and "p" in start else set()

    def keep(e: hall_store.HallEntry) -> bool:
        if e.task_id in pinned_ids:
            return False
        return shows(e)

    def shows(e: hall_store.HallEntry) -> bool:
        if int(e.slots_left) <= 0 or e.ends_at <= now_iso:
            return False  # the stream consumer or the deadline sweep is about to take it out
        if center is not None:
            if q.category and e.category != q.category:
                return False
            if e.lat is None or T.haversine_m(center[0], center[1], e.lat, e.lng) > radius_m:
                return False
        seen = H.visibility(rule_of(e.eligibility or {}), facts)
        shown[e.task_id] = seen
        return seen[0] != H.Shown.HIDDEN

    if q.category and start is None and q.limit > 1:
        from chalicelib.services import promoted

        lo, hi = q.min_reward_fen, q.max_reward_fen
        pinned = [
            e
            for e in promoted.pinned_entries(q.category, now_iso)
            if (lo is None or int(e.reward_fen) >= lo) and (hi is None or int(e.reward_fen) <= hi) and shows(e)
        ][: min(promoted.MAX_PINS_SHOWN, q.limit - 1)]
        pinned_ids = {e.task_id for e in pinned}
    stats = hall_store.ReadStats()
    merged = hall_store.merge(
        resumed, forward=forward, limit=q.limit - len(pinned), keep=keep, stats=stats, first_read=first_read
    )
    merchants = _summaries(sorted({e.merchant_id for e in pinned + merged.items}))
    items = [
        HallItem(
            id=e.task_id,
            title=e.title,
            category=e.category,
            category_label=T.CATEGORY_LABELS.get(e.category, e.category),
            reward_fen=int(e.reward_fen),
            slots_left=int(e.slots_left),
            ends_at=e.ends_at,
            published_at=e.published_at,
            member=bool(e.member_boost),
            distance_m=(
                round(T.haversine_m(center[0], center[1], e.lat, e.lng))
                if center is not None and e.lat is not None
                else None
            ),
            merchant=merchants[e.merchant_id],
            locked_reason=_locked(shown[e.task_id][1]),
            pinned=e.task_id in pinned_ids,
        )
        for e in pinned + merged.items
    ]
    # Cursors carry key-shaped values (`{"S": …}`): the pinned ids as one comma-joined string.
    resume = {"r": {"S": merged.last_rank}, **({"p": {"S": ",".join(sorted(pinned_ids))}} if pinned_ids else {})}
    next_cursor = cursor.encode(resume, scope) if merged.last_rank else None
    logger.info(
        "hall page",
        extra={
            "sort": q.sort.value,
            "queries": stats.queries,
            "entries_read": stats.items_read,
            "returned": len(items),
        },
    )
    return HallPage(items, next_cursor, stats.queries, stats.items_read)


@dataclass(frozen=True)
class PublicTask:
    id: str
    title: str
    description: str
    category: str
    category_label: str
    steps: list[str]
    proof: dict[str, Any]
    eligibility: dict[str, Any]
    reward_fen: int
    slots_left: int
    claim_ttl_s: int
    review_ttl_s: int
    ends_at: str
    published_at: str | None
    merchant: MerchantSummary
    locked_reason: dict[str, str] | None


def public_task(caller: Caller, task_id: str) -> PublicTask:
    """A listed task as workers see it before claiming: everything but the money and review internals."""
    t = task_store.get_task(task_id)
    now = clock.now()
    if t is None or t.status != T.TaskStatus.PUBLISHED or not H.open_at(t.ends_at, now):
        raise NotFound("TASK_NOT_FOUND", "任务不存在或已下架")
    problem = T.eligibility_problem(rule_of(dict(t.eligibility or {})), worker_facts(caller.id))
    return PublicTask(
        id=t.task_id,
        title=t.title,
        description=t.description,
        category=t.category,
        category_label=T.CATEGORY_LABELS.get(t.category, t.category),
        steps=[str(step) for step in t.steps or []],
        proof=dict(t.proof or {}),
        eligibility=dict(t.eligibility or {}),
        reward_fen=int(t.reward_fen),
        slots_left=int(t.slots_left or 0),
        claim_ttl_s=int(t.claim_ttl_s),
        review_ttl_s=int(t.review_ttl_s),
        ends_at=t.ends_at,
        published_at=t.published_at,
        merchant=_summaries([t.merchant_id])[t.merchant_id],
        locked_reason=_locked(problem),
    )


# ---------------------------------------------------------------- the stream consumer


@events.on_change("task")
def keep_hall_in_step(change: events.Change) -> None:
    """A task's free slots moved (a claim, an abandon, an expiry) or its status changed: bring its hall entries
    in line — out when slots reach 0, back when a slot is freed while it is still published."""
    if change.new is None:
        return
    new = hall_store.HallTask.from_image(change.new)
    old = hall_store.HallTask.from_image(change.old) if change.old else None
    was = old is not None and old.listable
    if not new.listable and not was:
        return
    if was and new.listable and old == new:
        return
    done = hall_store.sync(new, old)
    logger.info(
        "hall entries synced" if done else "hall sync skipped: task moved on",
        extra={"task_id": new.task_id, "slots_left": new.slots_left, "status": new.status},
    )
