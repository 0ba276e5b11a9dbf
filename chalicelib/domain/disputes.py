"""Dispute rules, pure: kinds and who may open them, case statuses and transitions, the answer SLA, and the
money plan of each outcome (docs/decisions/0090-disputes.md).

A case is `open` while the other party (the respondent) has not answered, `answered` once they have, and
`resolved` when the desk (or, for a silent merchant on an appeal, the SLA) decides it. Every transition is a
function here that raises a 409 with a stable code; services persist it with a condition on the old status.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from chalicelib.domain.errors import Conflict, Invalid

SLA_S = 48 * 3600  # the respondent's time to answer (first message)
MAX_MESSAGES = 200  # a thread is read in one Query with the case; this bounds it
MAX_EVIDENCE = 9
DESCRIPTION_RANGE = (5, 2000)
MESSAGE_RANGE = (1, 2000)
NOTE_RANGE = (2, 500)


class Kind(StrEnum):
    APPEAL_REJECTION = "appeal_rejection"  # worker: "my submission was wrongly rejected"
    FAKE_TASK = "fake_task"  # worker: "this task is not what it says / asks me to pay"
    WORKER_CHEATING = "worker_cheating"  # merchant: "this worker faked the proof"
    OTHER = "other"  # either party of a claim


class Status(StrEnum):
    OPEN = "open"  # waiting for the respondent's first answer (SLA running)
    ANSWERED = "answered"  # both sides heard; waiting for the desk
    RESOLVED = "resolved"


class Outcome(StrEnum):
    WORKER_WINS = "worker_wins"
    MERCHANT_WINS = "merchant_wins"
    SPLIT = "split"


# Which role opens which kind. `other` is open to both parties of a claim.
OPENER_ROLES: dict[Kind, frozenset[str]] = {
    Kind.APPEAL_REJECTION: frozenset({"worker"}),
    Kind.FAKE_TASK: frozenset({"worker"}),
    Kind.WORKER_CHEATING: frozenset({"merchant"}),
    Kind.OTHER: frozenset({"worker", "merchant"}),
}

_STATUS_MSG = {Status.OPEN: "待对方回复", Status.ANSWERED: "待平台处理", Status.RESOLVED: "已结案"}


def check_opener(kind: Kind, role: str) -> None:
    if role not in OPENER_ROLES[kind]:
        who = "用户" if "worker" in OPENER_ROLES[kind] else "商家"
        raise Invalid({"kind": f"该类型的纠纷只能由{who}发起"}, code="DISPUTE_KIND_NOT_ALLOWED")


def respondent_role(opener_role: str) -> str:
    return "merchant" if opener_role == "worker" else "worker"


def _conflict(status: Status) -> Conflict:
    return Conflict(
        "DISPUTE_STATE_CONFLICT", f"纠纷当前状态为「{_STATUS_MSG[status]}」，不能执行此操作", {"status": str(status)}
    )


def check_message(status: str) -> None:
    """A thread takes messages until the case is resolved."""
    if Status(status) == Status.RESOLVED:
        raise Conflict("DISPUTE_CLOSED", "纠纷已结案，不能再补充内容", {"status": status})


def answers(status: str, author_role: str, respondent: str, now_iso: str, sla_due_at: str | None) -> bool:
    """True when this message is the respondent's first answer in time: the case moves `open → answered`.
    A late answer is kept in the thread but does not stop the SLA (the sweep decides the case)."""
    return Status(status) == Status.OPEN and author_role == respondent and (sla_due_at is None or now_iso < sla_due_at)


def resolve_from(status: str) -> Status:
    if Status(status) == Status.RESOLVED:
        raise _conflict(Status.RESOLVED)
    return Status.RESOLVED


RESOLVABLE = frozenset({Status.OPEN, Status.ANSWERED})


@dataclass(frozen=True)
class Plan:
    """What an outcome does to money. Claim money applies to appeals only (the claim's escrow is held)."""

    outcome: Outcome
    pays_claim: bool  # worker_wins on an appeal: reward to worker, fee to revenue (a normal accept)
    split_worker_fen: int | None  # split: exactly this to the worker, the rest of the slot back to the merchant
    upholds_rejection: bool  # merchant_wins on an appeal: the normal final-rejection path
    penalty_fen: int  # from the merchant's guarantee to the worker (compensation)


def plan(
    kind: Kind, outcome: Outcome, *, reward_fen: int, penalty_fen: int | None, split_worker_fen: int | None
) -> Plan:
    fields: dict[str, str] = {}
    appeal = kind == Kind.APPEAL_REJECTION
    if outcome == Outcome.SPLIT:
        if not appeal:
            fields["outcome"] = "只有驳回申诉可以按比例分配"
        elif split_worker_fen is None or not 0 < split_worker_fen < reward_fen:
            fields["split_worker_fen"] = f"分配给用户的金额应在 1–{reward_fen - 1} 分之间"
    elif split_worker_fen is not None:
        fields["split_worker_fen"] = "只有 split 结果需要填写分配金额"
    penalty = int(penalty_fen or 0)
    if penalty < 0:
        fields["penalty_fen"] = "罚金不能为负数"
    elif penalty and outcome != Outcome.WORKER_WINS:
        fields["penalty_fen"] = "只有商家败诉（worker_wins）时才能从保证金扣罚"
    if fields:
        raise Invalid(fields, code="DISPUTE_OUTCOME_INVALID")
    return Plan(
        outcome=outcome,
        pays_claim=appeal and outcome == Outcome.WORKER_WINS,
        split_worker_fen=split_worker_fen if outcome == Outcome.SPLIT else None,
        upholds_rejection=appeal and outcome == Outcome.MERCHANT_WINS,
        penalty_fen=penalty,
    )


def counts_as_violation(kind: Kind, outcome: Outcome) -> bool:
    """A worker's credit takes a violation from a case itself only when cheating is upheld; an appeal's credit
    follows its claim (accepted: +1; rejection upheld: the rejection counts)."""
    return kind == Kind.WORKER_CHEATING and outcome == Outcome.MERCHANT_WINS
