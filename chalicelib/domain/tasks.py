"""Task and claim rules, pure: statuses and their legal transitions, fees, escrow arithmetic, eligibility.

Every transition is a function that checks the current status and returns the new one or raises a 409 with a
stable code; services persist the result with a condition on the old status (optimistic concurrency), so two
concurrent transitions cannot both win.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, get_args

from chalicelib.domain.errors import Conflict, Forbidden

Category = Literal[
    "promotion", "app_trial", "survey", "content", "mystery_shopping", "data_labeling", "feedback", "other"
]
CATEGORIES: tuple[str, ...] = get_args(Category)
CATEGORY_LABELS = {
    "promotion": "地推",
    "app_trial": "应用试用",
    "survey": "问卷调查",
    "content": "内容创作",
    "mystery_shopping": "神秘顾客",
    "data_labeling": "数据标注",
    "feedback": "产品反馈",
    "other": "其他",
}

DEFAULT_FEE_BPS = 500
MEMBER_FEE_BPS = 200
FEE_BPS_RANGE = (300, 1000)
MIN_REWARD_FEN = 10
MAX_REWARD_FEN = 100_000  # ¥1,000 per claim
SLOTS_RANGE = (1, 10_000)
CLAIM_TTL_RANGE_S = (600, 7 * 86400)
REVIEW_TTL_RANGE_S = (3600, 7 * 86400)
DEFAULT_REVIEW_TTL_S = 86400
STEPS_RANGE = (1, 10)
TITLE_RANGE = (4, 40)
DESCRIPTION_RANGE = (10, 2000)
MAX_OPEN_CLAIMS_PER_WORKER = 5
CREDIT_START, CREDIT_MIN, CREDIT_MAX = 100, 0, 150
APPEAL_WINDOW_S = 72 * 3600
# Hot tasks (docs/decisions/0005-slot-shards.md): from this many slots, claims draw from slot shards, so a
# popular task's claim rush does not serialize on its one task item.
HOT_TASK_SLOTS = 200
SLOTS_PER_SHARD = 100
MAX_SLOT_SHARDS = 10
REFILLS_PER_SHARD = 4  # a shard is refilled with about 1/4 of its share, so the task item is touched rarely


class TaskStatus(StrEnum):
    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    REJECTED = "rejected"
    APPROVED_UNFUNDED = "approved_unfunded"
    PUBLISHED = "published"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class ClaimStatus(StrEnum):
    CLAIMED = "claimed"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    APPEALED = "appealed"
    EXPIRED = "expired"
    ABANDONED = "abandoned"


# Which statuses each action may start from.
TASK_TRANSITIONS: dict[str, tuple[frozenset[TaskStatus], TaskStatus]] = {
    "edit": (frozenset({TaskStatus.DRAFT, TaskStatus.REJECTED}), TaskStatus.DRAFT),
    "submit": (frozenset({TaskStatus.DRAFT, TaskStatus.REJECTED}), TaskStatus.PENDING_REVIEW),
    "screen_reject": (frozenset({TaskStatus.DRAFT, TaskStatus.REJECTED}), TaskStatus.REJECTED),
    "approve": (frozenset({TaskStatus.PENDING_REVIEW}), TaskStatus.PUBLISHED),
    "approve_unfunded": (frozenset({TaskStatus.PENDING_REVIEW}), TaskStatus.APPROVED_UNFUNDED),
    "fund": (frozenset({TaskStatus.APPROVED_UNFUNDED}), TaskStatus.PUBLISHED),
    "reject": (frozenset({TaskStatus.PENDING_REVIEW}), TaskStatus.REJECTED),
    "pause": (frozenset({TaskStatus.PUBLISHED}), TaskStatus.PAUSED),
    "resume": (frozenset({TaskStatus.PAUSED}), TaskStatus.PUBLISHED),
    "cancel": (
        frozenset(
            {
                TaskStatus.DRAFT,
                TaskStatus.REJECTED,
                TaskStatus.PENDING_REVIEW,
                TaskStatus.APPROVED_UNFUNDED,
                TaskStatus.PUBLISHED,
                TaskStatus.PAUSED,
            }
        ),
        TaskStatus.CANCELLED,
    ),
    "end": (frozenset({TaskStatus.PUBLISHED, TaskStatus.PAUSED}), TaskStatus.EXPIRED),
    "complete": (frozenset({TaskStatus.PUBLISHED, TaskStatus.PAUSED}), TaskStatus.COMPLETED),
    "add_slots": (frozenset({TaskStatus.PUBLISHED, TaskStatus.PAUSED}), TaskStatus.PUBLISHED),
}

CLAIM_TRANSITIONS: dict[str, tuple[frozenset[ClaimStatus], ClaimStatus]] = {
    "submit": (frozenset({ClaimStatus.CLAIMED}), ClaimStatus.SUBMITTED),
    "abandon": (frozenset({ClaimStatus.CLAIMED}), ClaimStatus.ABANDONED),
    "expire": (frozenset({ClaimStatus.CLAIMED}), ClaimStatus.EXPIRED),
    "accept": (frozenset({ClaimStatus.SUBMITTED, ClaimStatus.APPEALED}), ClaimStatus.ACCEPTED),
    "reject": (frozenset({ClaimStatus.SUBMITTED}), ClaimStatus.REJECTED),
    "appeal": (frozenset({ClaimStatus.REJECTED}), ClaimStatus.APPEALED),
    "uphold_rejection": (frozenset({ClaimStatus.APPEALED}), ClaimStatus.REJECTED),
    # The appeal window of a rejection closed unappealed: still `rejected`, its escrow is released.
    "finalize_rejection": (frozenset({ClaimStatus.REJECTED}), ClaimStatus.REJECTED),
}

_TASK_MSG = {
    TaskStatus.DRAFT: "草稿",
    TaskStatus.PENDING_REVIEW: "审核中",
    TaskStatus.REJECTED: "审核未通过",
    TaskStatus.APPROVED_UNFUNDED: "待充值上架",
    TaskStatus.PUBLISHED: "进行中",
    TaskStatus.PAUSED: "已暂停",
    TaskStatus.COMPLETED: "已完成",
    TaskStatus.CANCELLED: "已取消",
    TaskStatus.EXPIRED: "已结束",
}
_CLAIM_MSG = {
    ClaimStatus.CLAIMED: "已领取",
    ClaimStatus.SUBMITTED: "已提交待审核",
    ClaimStatus.ACCEPTED: "已通过",
    ClaimStatus.REJECTED: "已驳回",
    ClaimStatus.APPEALED: "申诉中",
    ClaimStatus.EXPIRED: "已超时",
    ClaimStatus.ABANDONED: "已放弃",
}


def task_transition(action: str, current: str) -> TaskStatus:
    allowed, target = TASK_TRANSITIONS[action]
    status = TaskStatus(current)
    if status not in allowed:
        raise Conflict(
            "TASK_STATE_CONFLICT", f"任务当前状态为「{_TASK_MSG[status]}」，不能执行此操作", {"status": status}
        )
    return target


def claim_transition(action: str, current: str) -> ClaimStatus:
    allowed, target = CLAIM_TRANSITIONS[action]
    status = ClaimStatus(current)
    if status not in allowed:
        raise Conflict(
            "CLAIM_STATE_CONFLICT", f"领取记录当前状态为「{_CLAIM_MSG[status]}」，不能执行此操作", {"status": status}
        )
    return target


def task_allows(action: str) -> frozenset[TaskStatus]:
    """The statuses the store's condition expression must require for `action`."""
    return TASK_TRANSITIONS[action][0]


def claim_allows(action: str) -> frozenset[ClaimStatus]:
    return CLAIM_TRANSITIONS[action][0]


# ---------------------------------------------------------------- money


def fee_fen(reward_fen: int, fee_bps: int) -> int:
    """The platform's fee for one accepted claim: reward × rate, rounded half up to the fen."""
    if reward_fen < 0 or fee_bps < 0:
        raise ValueError("non-negative reward and rate")
    return (reward_fen * fee_bps + 5_000) // 10_000


def unit_cost_fen(reward_fen: int, fee_bps: int) -> int:
    """What one slot costs the merchant in escrow: reward + fee."""
    return reward_fen + fee_fen(reward_fen, fee_bps)


def escrow_for(slots: int, reward_fen: int, fee_bps: int) -> int:
    return slots * unit_cost_fen(reward_fen, fee_bps)


def fee_bps_for(category_bps: int | None, is_member: bool) -> int:
    """The rate snapshotted at publish: members pay the member rate, else the category's or the default."""
    if is_member:
        return MEMBER_FEE_BPS
    bps = DEFAULT_FEE_BPS if category_bps is None else category_bps
    if not FEE_BPS_RANGE[0] <= bps <= FEE_BPS_RANGE[1]:
        raise ValueError("category fee out of range")
    return bps


# ---------------------------------------------------------------- eligibility


@dataclass(frozen=True)
class Eligibility:
    min_credit: int | None = None
    regions: tuple[str, ...] = ()  # province codes (2 digits, GB/T 2260) or names
    new_workers_only: bool = False
    premium_pool: bool = False


@dataclass(frozen=True)
class WorkerFacts:
    credit_score: int
    province: str | None  # from the verified ID, when known
    accepted_count: int
    real_name_verified: bool


PREMIUM_MIN_CREDIT = 120


def eligibility_problem(rule: Eligibility, worker: WorkerFacts) -> Forbidden | None:
    """Why this worker may not take this task, or None. Shown in the hall as the lock reason."""
    if rule.premium_pool and (worker.credit_score < PREMIUM_MIN_CREDIT or not worker.real_name_verified):
        return Forbidden("PREMIUM_ONLY", f"优质任务池仅对信用分 ≥ {PREMIUM_MIN_CREDIT} 且已实名的用户开放")
    if rule.min_credit is not None and worker.credit_score < rule.min_credit:
        return Forbidden("CREDIT_TOO_LOW", f"该任务要求信用分不低于 {rule.min_credit}")
    if rule.new_workers_only and worker.accepted_count > 0:
        return Forbidden("NOT_ELIGIBLE", "该任务仅限新用户领取")
    if rule.regions and (worker.province is None or worker.province not in rule.regions):
        return Forbidden("NOT_ELIGIBLE", "该任务仅限指定地区的用户领取（需完成实名认证）")
    return None


# ---------------------------------------------------------------- geo


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


# ---------------------------------------------------------------- credit


def credit_after(score: int, delta: int) -> int:
    return max(CREDIT_MIN, min(CREDIT_MAX, score + delta))


# ---------------------------------------------------------------- drafts (docs/decisions/0060)

STEP_RANGE = (2, 200)  # characters per step
PROOF_TEXT_MAX = 200
PROOF_IMAGES_MAX = 9
GPS_RADIUS_RANGE_M = (50, 5_000)
MIN_CREDIT_RANGE = (CREDIT_MIN, CREDIT_MAX)
MIN_LISTING_S = 3600  # a task must stay listable for at least an hour after it is saved or submitted
MAX_LISTING_S = 180 * 86400
GPS_REQUIRED = frozenset({"promotion"})  # 地推 is proven by a check-in inside the geofence


@dataclass(frozen=True)
class Draft:
    """Everything a merchant writes on a task, as the rules see it."""

    title: str
    description: str
    category: str
    steps: tuple[str, ...]
    proof: dict[str, Any]  # {text?, images_min?, gps?: {lat, lng, radius_m}, order_no?}
    reward_fen: int
    slots: int
    claim_ttl_s: int
    review_ttl_s: int
    ends_at: datetime
    eligibility: dict[str, Any]  # {min_credit?, regions?, new_workers_only?, premium_pool?}


def _within(value: int, bounds: tuple[int, int]) -> bool:
    return bounds[0] <= value <= bounds[1]


def _span(seconds: int) -> str:
    if seconds % 86400 == 0:
        return f"{seconds // 86400} 天"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} 小时"
    return f"{seconds // 60} 分钟"


def draft_problems(d: Draft, now: datetime) -> dict[str, str]:
    """Field → what to fix (Chinese), for every rule the draft breaks; empty when it may be saved/submitted."""
    from chalicelib.domain.identity import PROVINCE_CODES

    out: dict[str, str] = {}
    if not _within(len(d.title.strip()), TITLE_RANGE):
        out["title"] = f"标题长度应为 {TITLE_RANGE[0]}–{TITLE_RANGE[1]} 个字"
    if not _within(len(d.description.strip()), DESCRIPTION_RANGE):
        out["description"] = f"任务说明长度应为 {DESCRIPTION_RANGE[0]}–{DESCRIPTION_RANGE[1]} 个字"
    if d.category not in CATEGORIES:
        out["category"] = "任务类型应为：" + "、".join(f"{c}（{CATEGORY_LABELS[c]}）" for c in CATEGORIES)
    if not _within(len(d.steps), STEPS_RANGE):
        out["steps"] = f"请填写 {STEPS_RANGE[0]}–{STEPS_RANGE[1]} 个操作步骤"
    for i, step in enumerate(d.steps):
        if not _within(len(step.strip()), STEP_RANGE):
            out[f"steps.{i}"] = f"每个步骤 {STEP_RANGE[0]}–{STEP_RANGE[1]} 个字"
    out.update(_proof_problems(d.proof, d.category))
    if d.reward_fen < MIN_REWARD_FEN:
        out["reward_fen"] = f"单个名额奖励不能低于 {MIN_REWARD_FEN} 分（¥{MIN_REWARD_FEN / 100:.2f}）"
    elif d.reward_fen > MAX_REWARD_FEN:
        out["reward_fen"] = f"单个名额奖励不能超过 {MAX_REWARD_FEN} 分（¥{MAX_REWARD_FEN // 100}）"
    if not _within(d.slots, SLOTS_RANGE):
        out["slots"] = f"名额数应为 {SLOTS_RANGE[0]}–{SLOTS_RANGE[1]:,}"
    if not _within(d.claim_ttl_s, CLAIM_TTL_RANGE_S):
        lo, hi = (_span(s) for s in CLAIM_TTL_RANGE_S)
        out["claim_ttl_s"] = f"领取后完成时限应为 {lo}至 {hi}（单位：秒）"
    if not _within(d.review_ttl_s, REVIEW_TTL_RANGE_S):
        lo, hi = (_span(s) for s in REVIEW_TTL_RANGE_S)
        out["review_ttl_s"] = f"审核时限应为 {lo}至 {hi}（单位：秒）"
    if d.ends_at.tzinfo is None:
        out["ends_at"] = "结束时间必须带时区，例如 2026-11-25T08:00:00Z"
    else:
        left = (d.ends_at - now).total_seconds()
        if left < MIN_LISTING_S:
            out["ends_at"] = f"结束时间至少要在 {_span(MIN_LISTING_S)}之后"
        elif left > MAX_LISTING_S:
            out["ends_at"] = f"结束时间不能晚于 {_span(MAX_LISTING_S)}之后"
    elig = d.eligibility
    min_credit = elig.get("min_credit")
    if min_credit is not None and not _within(int(min_credit), MIN_CREDIT_RANGE):
        out["eligibility.min_credit"] = f"信用分门槛应为 {MIN_CREDIT_RANGE[0]}–{MIN_CREDIT_RANGE[1]}"
    regions = list(elig.get("regions") or [])
    bad = [r for r in regions if r not in PROVINCE_CODES]
    if bad:
        out["eligibility.regions"] = f"地区应为 2 位省级行政区划代码（如 11 北京、31 上海），无效：{'、'.join(bad[:5])}"
    elif len(set(regions)) != len(regions):
        out["eligibility.regions"] = "地区不能重复"
    return out


def _proof_problems(proof: dict[str, Any], category: str) -> dict[str, str]:
    out: dict[str, str] = {}
    text = proof.get("text")
    if text is not None and not _within(len(str(text).strip()), (1, PROOF_TEXT_MAX)):
        out["proof.text"] = f"提交说明要求应为 1–{PROOF_TEXT_MAX} 个字"
    images = proof.get("images_min")
    if images is not None and not _within(int(images), (0, PROOF_IMAGES_MAX)):
        out["proof.images_min"] = f"截图数量要求应为 0–{PROOF_IMAGES_MAX} 张"
    gps = proof.get("gps")
    if gps is not None:
        if not (-90 <= float(gps["lat"]) <= 90 and -180 <= float(gps["lng"]) <= 180):
            out["proof.gps"] = "定位坐标不正确"
        if not _within(int(gps["radius_m"]), GPS_RADIUS_RANGE_M):
            out["proof.gps.radius_m"] = f"打卡范围应为 {GPS_RADIUS_RANGE_M[0]}–{GPS_RADIUS_RANGE_M[1]} 米"
    elif category in GPS_REQUIRED:
        out["proof.gps"] = "地推任务需要设置打卡地点（lat、lng、radius_m），用户须在范围内定位提交"
    if not (text or images or gps or proof.get("order_no")):
        out.setdefault("proof", "请至少设置一项提交要求：文字说明、截图、定位打卡或订单号")
    return out


# ---------------------------------------------------------------- slot shards (hot tasks)


def slot_shards_for(slots: int) -> int:
    """How many slot shards a task with `slots` slots claims from: 0 (the task item itself) below HOT_TASK_SLOTS."""
    if slots < HOT_TASK_SLOTS:
        return 0
    return min(MAX_SLOT_SHARDS, math.ceil(slots / SLOTS_PER_SHARD))


def refill_amounts(slots: int, shards: int, pool: int) -> list[int]:
    """Free slots to move from the task's pool into each shard in one refill: about a quarter of each shard's
    share (at least 1), never more than the pool holds; spread so every shard gets some while slots last."""
    if shards <= 0 or pool <= 0:
        return []
    lot = max(1, slots // (shards * REFILLS_PER_SHARD))
    total = min(pool, lot * shards)
    base, extra = divmod(total, shards)
    return [base + (1 if i < extra else 0) for i in range(shards)]
