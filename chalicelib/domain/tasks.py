"""Task and claim rules, pure: statuses and their legal transitions, fees, escrow arithmetic, eligibility.

Every transition is a function that checks the current status and returns the new one or raises a 409 with a
stable code; services persist the result with a condition on the old status (optimistic concurrency), so two
concurrent transitions cannot both win.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from chalicelib.domain.errors import Conflict, Forbidden

CATEGORIES = (
    "promotion",
    "app_trial",
    "survey",
    "content",
    "mystery_shopping",
    "data_labeling",
    "feedback",
    "other",
)
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
