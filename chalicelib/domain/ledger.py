"""Double-entry ledger rules (TigerBeetle-style), pure: accounts, transfers, two-phase holds, balance deltas.

Every movement of money is a transfer from a debit account to a credit account. Accounts keep four
running totals — debits/credits, posted/pending — and an `available` figure (credits_posted − debits_posted
− debits_pending) that the store checks in a condition expression for accounts flagged
`debits_must_not_exceed_credits`. A batch of transfers is reduced here to one delta per account, because
DynamoDB allows an item only once per transaction. Nothing in this module does I/O.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from enum import StrEnum

from chalicelib.domain.errors import Conflict, Invalid

FEE_SHARDS = 8
MAX_AMOUNT_FEN = 10_000_000_000  # ¥100,000,000: anything larger is a bug, not a payment

_ACCOUNT_RE = re.compile(r"^[a-z_]+:[A-Za-z0-9_#\-]+$")


class Code(StrEnum):
    """Why money moved. Shown to users through `ENTRY_LABELS`."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    ESCROW_FUND = "escrow_fund"
    ESCROW_REFUND = "escrow_refund"
    REWARD = "reward"
    FEE = "fee"
    GUARANTEE_LOCK = "guarantee_lock"
    GUARANTEE_RELEASE = "guarantee_release"
    PENALTY = "penalty"
    COMPENSATION = "compensation"
    MEMBERSHIP = "membership"
    PROMOTION = "promotion"
    PROMO = "promo"
    BONUS_UNLOCK = "bonus_unlock"
    ADJUSTMENT = "adjustment"


ENTRY_LABELS: dict[str, str] = {
    Code.DEPOSIT: "充值",
    Code.WITHDRAWAL: "提现",
    Code.ESCROW_FUND: "任务资金托管",
    Code.ESCROW_REFUND: "任务资金退回",
    Code.REWARD: "任务奖励",
    Code.FEE: "平台服务费",
    Code.GUARANTEE_LOCK: "缴纳保证金",
    Code.GUARANTEE_RELEASE: "保证金退回",
    Code.PENALTY: "违规扣款",
    Code.COMPENSATION: "赔付",
    Code.MEMBERSHIP: "会员费",
    Code.PROMOTION: "置顶推广费",
    Code.PROMO: "平台奖励",
    Code.BONUS_UNLOCK: "新人红包解锁",
    Code.ADJUSTMENT: "调账",
}


class Kind(StrEnum):
    WALLET = "wallet"  # a user's spendable money
    BONUS = "bonus"  # a worker's locked new-user bonus
    GUARANTEE = "guarantee"  # a merchant's guarantee deposit
    ESCROW = "escrow"  # one task's funded escrow
    CLEARING = "clearing"  # money in from a payment channel
    PAYOUT = "payout"  # money out to a payment channel
    REVENUE = "revenue"  # platform income (fee shards, membership, penalty, promotion)
    EXPENSE = "expense"  # platform-funded spend (promotions)


@dataclass(frozen=True)
class AccountPolicy:
    must_not_go_negative: bool  # "debits must not exceed credits", enforced by a condition expression
    keeps_entries: bool  # statement lines per transfer
    versioned: bool  # entries carry balance_after, so updates are optimistic on a version number


POLICIES: dict[Kind, AccountPolicy] = {
    Kind.WALLET: AccountPolicy(True, True, True),
    Kind.BONUS: AccountPolicy(True, True, True),
    Kind.GUARANTEE: AccountPolicy(True, True, True),
    Kind.ESCROW: AccountPolicy(True, True, False),
    Kind.CLEARING: AccountPolicy(False, False, False),
    Kind.PAYOUT: AccountPolicy(False, False, False),
    Kind.REVENUE: AccountPolicy(False, False, False),
    Kind.EXPENSE: AccountPolicy(False, False, False),
}


def kind_of(account: str) -> Kind:
    if not _ACCOUNT_RE.match(account):
        raise ValueError(f"malformed account id {account!r}")
    return Kind(account.split(":", 1)[0])


def policy(account: str) -> AccountPolicy:
    return POLICIES[kind_of(account)]


# ---------------------------------------------------------------- account ids


def wallet(user_id: str) -> str:
    return f"wallet:{user_id}"


def bonus(user_id: str) -> str:
    return f"bonus:{user_id}"


def guarantee(user_id: str) -> str:
    return f"guarantee:{user_id}"


def escrow(task_id: str) -> str:
    return f"escrow:{task_id}"


def clearing(channel: str) -> str:
    return f"clearing:{channel}"


def payout(channel: str) -> str:
    return f"payout:{channel}"


def fee_revenue(transfer_id: str) -> str:
    """Fee income is spread over a few shard accounts so settlements do not queue on one item."""
    shard = int.from_bytes(hashlib.sha256(transfer_id.encode()).digest()[:2], "big") % FEE_SHARDS
    return f"revenue:fee#{shard}"


def fee_revenue_shards() -> list[str]:
    return [f"revenue:fee#{i}" for i in range(FEE_SHARDS)]


REVENUE_MEMBERSHIP = "revenue:membership"
REVENUE_PENALTY = "revenue:penalty"
REVENUE_PROMOTION = "revenue:promotion"
EXPENSE_PROMO = "expense:promo"


# ---------------------------------------------------------------- transfers


class Phase(StrEnum):
    POSTED = "posted"  # single-phase: moves money at once
    PENDING = "pending"  # first phase: holds money
    POST_PENDING = "post_pending"  # second phase: completes a hold (all or part)
    VOID_PENDING = "void_pending"  # second phase: releases a hold


@dataclass(frozen=True)
class Transfer:
    """One movement. `id` is deterministic from the business event, so a retry is a no-op."""

    id: str
    debit: str
    credit: str
    amount: int
    code: str
    phase: Phase = Phase.POSTED
    pending_id: str | None = None  # for POST_PENDING / VOID_PENDING: the hold being completed
    pending_amount: int = 0  # for POST_PENDING / VOID_PENDING: the amount originally held
    memo: str = ""  # counterparty description shown on statements
    meta: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate(self)


def validate(t: Transfer) -> None:
    if not t.id or len(t.id) > 200:
        raise ValueError("transfer id required (≤200 chars)")
    if not isinstance(t.amount, int) or isinstance(t.amount, bool):
        raise TypeError("amounts are integer fen")
    kind_of(t.debit)
    kind_of(t.credit)
    if t.debit == t.credit:
        raise ValueError("debit and credit accounts must differ")
    if t.phase in (Phase.POSTED, Phase.PENDING):
        if not 0 < t.amount <= MAX_AMOUNT_FEN:
            raise Invalid({"amount_fen": "金额必须为正整数（分）"})
        if t.pending_id is not None:
            raise ValueError("only second-phase transfers reference a pending transfer")
    else:
        if not t.pending_id:
            raise ValueError("a second-phase transfer needs pending_id")
        if not 0 < t.pending_amount <= MAX_AMOUNT_FEN:
            raise ValueError("pending_amount must be the held amount")
        if t.phase == Phase.POST_PENDING and not 0 <= t.amount <= t.pending_amount:
            raise Invalid({"amount_fen": "结算金额不能超过冻结金额"})
        if t.phase == Phase.VOID_PENDING and t.amount != 0:
            raise ValueError("a void moves no money; amount must be 0")


@dataclass
class Delta:
    """How one batch changes one account's totals."""

    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    @property
    def available(self) -> int:
        """Change of credits_posted − debits_posted − debits_pending."""
        return self.credits_posted - self.debits_posted - self.debits_pending

    def is_zero(self) -> bool:
        return not (self.debits_posted or self.credits_posted or self.debits_pending or self.credits_pending)


def transfer_deltas(t: Transfer) -> dict[str, Delta]:
    """The effect of one transfer on its two accounts."""
    d, c = Delta(), Delta()
    if t.phase == Phase.POSTED:
        d.debits_posted = t.amount
        c.credits_posted = t.amount
    elif t.phase == Phase.PENDING:
        d.debits_pending = t.amount
        c.credits_pending = t.amount
    elif t.phase == Phase.POST_PENDING:
        d.debits_pending = -t.pending_amount
        d.debits_posted = t.amount
        c.credits_pending = -t.pending_amount
        c.credits_posted = t.amount
    else:  # VOID_PENDING
        d.debits_pending = -t.pending_amount
        c.credits_pending = -t.pending_amount
    return {t.debit: d, t.credit: c}


def batch_deltas(transfers: list[Transfer]) -> dict[str, Delta]:
    """One merged delta per account for a linked batch (DynamoDB forbids two updates to one item)."""
    if len({t.id for t in transfers}) != len(transfers):
        raise ValueError("duplicate transfer id in one batch")
    out: dict[str, Delta] = {}
    for t in transfers:
        for account, delta in transfer_deltas(t).items():
            acc = out.setdefault(account, Delta())
            acc.debits_posted += delta.debits_posted
            acc.credits_posted += delta.credits_posted
            acc.debits_pending += delta.debits_pending
            acc.credits_pending += delta.credits_pending
    return out


def entry_amount(t: Transfer, account: str) -> int:
    """The signed change of `available` this transfer makes on `account` (what a statement line shows)."""
    return transfer_deltas(t)[account].available


@dataclass(frozen=True)
class Balance:
    account: str
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0
    version: int = 0

    @property
    def posted(self) -> int:
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        return self.credits_posted - self.debits_posted - self.debits_pending

    def apply(self, delta: Delta) -> Balance:
        return Balance(
            account=self.account,
            debits_posted=self.debits_posted + delta.debits_posted,
            credits_posted=self.credits_posted + delta.credits_posted,
            debits_pending=self.debits_pending + delta.debits_pending,
            credits_pending=self.credits_pending + delta.credits_pending,
            version=self.version + 1,
        )


def check_flags(before: Balance, delta: Delta) -> None:
    """Raise INSUFFICIENT_BALANCE if the batch would take a protected account below zero (pre-check; the
    store's condition expression is the real guard under concurrency)."""
    if policy(before.account).must_not_go_negative and before.available + delta.available < 0:
        raise insufficient(before.account)


def insufficient(account: str) -> Conflict:
    kind = kind_of(account)
    if kind == Kind.ESCROW:
        return Conflict("ESCROW_INSUFFICIENT", "任务托管资金不足")
    if kind == Kind.GUARANTEE:
        return Conflict("GUARANTEE_INSUFFICIENT", "保证金余额不足")
    return Conflict("INSUFFICIENT_BALANCE", "余额不足，请先充值")
