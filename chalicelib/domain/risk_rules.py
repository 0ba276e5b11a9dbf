"""Risk rules as data: each rule's id, Chinese description, score and action, and the thresholds it uses.

Pure: the stream consumers in services/risk.py decide *whether* a rule hit from what they read; this table says
what a hit means. Changing a threshold or an action is an edit here, not in the consumers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    FLAG = "flag"  # a flag for the desk, nothing else
    HOLD_PAYOUTS = "hold_payouts"  # the user's withdrawals wait until an admin releases them
    FREEZE = "freeze"  # the account is frozen (403 ACCOUNT_FROZEN) until an admin unfreezes it
    PAUSE_MERCHANT = "pause_merchant"  # the merchant's published tasks pause and its guarantee is held


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    score: int  # 0–100: how strongly a hit suggests abuse; the flag's severity follows from it
    action: Action

    @property
    def severity(self) -> str:
        return "high" if self.score >= 60 else "medium" if self.score >= 30 else "low"


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule("device_cluster", "同一设备出现 3 个及以上账号", 40, Action.FLAG),
        Rule("ip_cluster", "同一 IP 在 24 小时内出现 5 个及以上账号", 20, Action.FLAG),
        Rule("payout_account_shared", "收款账户已被其他用户使用（多人共用一个提现账户）", 60, Action.HOLD_PAYOUTS),
        Rule("identity_duplicate", "尝试用已绑定其他账号的身份证实名", 60, Action.FLAG),
        Rule("proof_too_fast", "领取后提交凭证的时间短于任务步骤所需的最短时间", 30, Action.FLAG),
        Rule("proof_image_duplicate", "凭证截图与其他用户提交的截图相同或高度相似", 50, Action.FLAG),
        Rule("proof_text_duplicate", "同一任务中凭证文字与其他用户完全相同", 30, Action.FLAG),
        Rule("gps_outside_geofence", "定位打卡位置超出任务范围", 30, Action.FLAG),
        Rule("impossible_travel", "相邻两次定位提交之间的移动速度超出可能（> 300 km/h）", 40, Action.FLAG),
        Rule("withdrawal_velocity", "24 小时内提现次数过多", 40, Action.HOLD_PAYOUTS),
        Rule("withdrawal_after_referral", "注册后不久即提现，且收入来自邀请奖励", 50, Action.HOLD_PAYOUTS),
        Rule("merchant_mass_rejection", "商家最近的审核中驳回比例过高（批量驳回）", 80, Action.PAUSE_MERCHANT),
    )
}

# ---- thresholds
DEVICE_CLUSTER_MIN = 3  # accounts on one device id
IP_CLUSTER_MIN = 5  # accounts on one address …
IP_CLUSTER_WINDOW_S = 24 * 3600  # … seen within this window
SECONDS_PER_STEP = 20  # the fastest an honest worker does one step of a task
MIN_PROOF_SECONDS = 20  # a task without steps still takes this long
GPS_FLAG_FACTOR = 1.0  # an attempt farther than radius × factor from the task is flagged
MAX_TRAVEL_KMH = 300.0
MIN_TRAVEL_KM = 5.0  # GPS jitter and a short hop are not travel
IMAGE_HASH_MAX_DISTANCE = 6  # perceptual hashes (64 bits) this close are one picture
WITHDRAWALS_PER_DAY_FLAG = 3  # the third withdrawal within 24 h is flagged
NEW_ACCOUNT_WITHDRAWAL_S = 72 * 3600  # a withdrawal this soon after registration …
REFERRAL_SHARE_FLAG = 0.5  # … with at least this share of its income from referral rewards
REJECTION_WINDOW = 20  # a merchant's last N reviews
REJECTION_RATE = 0.8  # reject share over the window that trips the breaker (≥)


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]


def proof_floor_seconds(step_count: int) -> int:
    """The fastest believable time from claim to proof for a task with this many steps."""
    return max(MIN_PROOF_SECONDS, SECONDS_PER_STEP * max(0, step_count))
