"""Hypothesis stateful test of the membership, promoted-task and weekly-contest money paths on moto, interleaved
with deposits and escrow funding on the same wallets, concurrent-looking replays and double closes. The books
balance after every step; membership and pins are paid once per period, prizes once per week, all from the
accounts issue #9 names (`revenue:membership`, `revenue:promotion`, `expense:promo`)."""

from __future__ import annotations

import itertools
import os
from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from moto import mock_aws

from chalicelib.domain import contest as C
from chalicelib.domain import ledger as L
from chalicelib.domain.errors import Conflict
from chalicelib.domain.roles import Caller
from chalicelib.store import keys
from chalicelib.store import ledger as books
from tests.api.ledger.test_ledger_properties import _reset_caches, _scan_all, _table, _wipe
from tests.conftest import T0

MERCHANTS = ["usr_m1", "usr_m2"]
WORKERS = ["usr_w1", "usr_w2", "usr_w3", "usr_w4"]
STEPS = int(os.environ.get("GROWTH_LEDGER_PROPERTY_STEPS", "300"))
EXAMPLES = 12
MEMBERSHIP, PIN = 9_900, 2_000
PRIZES = C.DEFAULT_PRIZES_FEN


def _task(task_id: str, merchant_id: str, now_iso: str) -> None:
    from chalicelib.store.tasks import TaskItem

    pk, sk = keys.task(task_id)
    TaskItem(
        PK=pk,
        SK=sk,
        task_id=task_id,
        merchant_id=merchant_id,
        title="问卷",
        description="问卷任务",
        category="survey",
        steps=["作答"],
        proof={},
        eligibility={},
        reward_fen=100,
        slots=1,
        claim_ttl_s=3600,
        review_ttl_s=3600,
        ends_at=books.iso(T0 + timedelta(days=400)),
        status="published",
        created_at=now_iso,
        updated_at=now_iso,
        published_at=now_iso,
        slots_left=1,
    ).save()


class GrowthMachine(RuleBasedStateMachine):
    steps_run = 0

    @initialize()
    def fresh_books(self) -> None:
        from chalicelib.adapters import clock

        _wipe()
        clock.pin(T0)
        self.seq = 0
        self.deposited = 0
        self.periods: Counter[str] = Counter()  # merchant → membership periods paid
        self.pins: Counter[str] = Counter()  # task → pins paid
        self.tasks: dict[str, str] = {}  # task → merchant
        self.scores: dict[str, Counter[str]] = {}  # week → worker → accepted
        self.closed: dict[str, list[str]] = {}  # week → winners in rank order

    def _next(self, prefix: str) -> str:
        self.seq += 1
        return f"{prefix}_{self.seq}"

    @rule(merchant=st.sampled_from(MERCHANTS), amount=st.integers(1, 30_000))
    def deposit(self, merchant: str, amount: int) -> None:
        books.post(
            [
                L.Transfer(
                    id=self._next("dep"),
                    debit=L.clearing("sandbox"),
                    credit=L.wallet(merchant),
                    amount=amount,
                    code=L.Code.DEPOSIT,
                )
            ]
        )
        self.deposited += amount

    @rule(merchant=st.sampled_from(MERCHANTS), amount=st.integers(1, 20_000))
    def fund_escrow(self, merchant: str, amount: int) -> None:
        t = L.Transfer(
            id=self._next("fund"),
            debit=L.wallet(merchant),
            credit=L.escrow(self._next("tsk")),
            amount=amount,
            code=L.Code.ESCROW_FUND,
        )
        try:
            books.post([t])
        except Conflict as err:
            assert err.code == "INSUFFICIENT_BALANCE"

    @rule(merchant=st.sampled_from(MERCHANTS), days=st.integers(0, 40))
    def buy_membership(self, merchant: str, days: int) -> None:
        from chalicelib.adapters import clock
        from chalicelib.services import membership

        clock.advance(days * 3600)
        try:
            membership.purchase(Caller(merchant, "merchant"), "monthly")
        except Conflict as err:
            assert err.code == "INSUFFICIENT_BALANCE"
            return
        self.periods[merchant] += 1

    @rule(merchant=st.sampled_from(MERCHANTS))
    def publish(self, merchant: str) -> None:
        from chalicelib.adapters import clock

        task_id = self._next("tsk")
        _task(task_id, merchant, books.iso(clock.now()))
        self.tasks[task_id] = merchant

    @precondition(lambda self: bool(self.tasks))
    @rule(data=st.data())
    def promote(self, data: st.DataObject) -> None:
        from chalicelib.services import promoted

        task_id = data.draw(st.sampled_from(sorted(self.tasks)))
        try:
            promoted.promote(Caller(self.tasks[task_id], "merchant"), task_id)
        except Conflict as err:
            assert err.code == "INSUFFICIENT_BALANCE"
            return
        self.pins[task_id] += 1

    @rule(worker=st.sampled_from(WORKERS), hours=st.integers(0, 60))
    def accept(self, worker: str, hours: int) -> None:
        from chalicelib.adapters import clock
        from chalicelib.store import contest as contest_store

        clock.advance(hours * 3600)
        now = clock.now()
        week = C.week_of(now).id
        done = contest_store.count_accept(week, worker, self._next("clm"), books.iso(now), "138****0000")
        assert done.counted == (week not in self.closed)
        if done.counted:
            self.scores.setdefault(week, Counter())[worker] += 1

    @precondition(lambda self: bool(self.scores))
    @rule(data=st.data(), twice=st.booleans())
    def close(self, data: st.DataObject, twice: bool) -> None:
        from chalicelib.services import contest

        week = data.draw(st.sampled_from(sorted(self.scores)))
        first = contest.close(week)
        assert first == (week not in self.closed)
        if twice:
            assert contest.close(week) is False
        if first:
            self.closed[week] = [w for w, _ in sorted(self.scores[week].items(), key=lambda kv: -kv[1])][:3]

    @invariant()
    def books_balance(self) -> None:
        GrowthMachine.steps_run += 1
        items = _scan_all()
        accounts = {i["account"]["S"]: i for i in items if i.get("kind", {}).get("S") == "account"}
        transfers = [i for i in items if i.get("kind", {}).get("S") == "transfer"]
        n = lambda item, k: int(item.get(k, {}).get("N", "0"))  # noqa: E731
        assert sum(n(a, "credits_posted") - n(a, "debits_posted") for a in accounts.values()) == 0
        for acct, a in accounts.items():
            avail = n(a, "credits_posted") - n(a, "debits_posted") - n(a, "debits_pending")
            assert n(a, "available") == avail, acct
            if L.policy(acct).must_not_go_negative:
                assert avail >= 0, acct
        ids = Counter(t["transfer_id"]["S"] for t in transfers)
        assert all(c == 1 for c in ids.values())

        def posted(acct: str) -> int:
            a = accounts.get(acct)
            return n(a, "credits_posted") - n(a, "debits_posted") if a else 0

        assert posted(L.REVENUE_MEMBERSHIP) == MEMBERSHIP * sum(self.periods.values())
        assert posted(L.REVENUE_PROMOTION) == PIN * sum(self.pins.values())
        paid = sum(sum(PRIZES[: len(w)]) for w in self.closed.values())
        assert posted(L.EXPENSE_PROMO) == -paid
        codes = Counter(t["code"]["S"] for t in transfers)
        assert codes[L.Code.MEMBERSHIP] == sum(self.periods.values())
        assert codes[L.Code.PROMOTION] == sum(self.pins.values())
        assert codes[L.Code.PROMO] == sum(len(w) for w in self.closed.values())
        # Membership periods are contiguous per merchant.
        lines = sorted(
            (i for i in items if i.get("kind", {}).get("S") == "membership_period"),
            key=lambda i: (i["merchant_id"]["S"], int(i["seq"]["N"])),
        )
        for a, b in itertools.pairwise(lines):
            if a["merchant_id"]["S"] == b["merchant_id"]["S"]:
                assert b["starts_at"]["S"] >= a["ends_at"]["S"]


@pytest.mark.slow
def test_growth_money_paths_keep_the_books_balanced():
    with mock_aws():
        _reset_caches()
        from devstack.resources import create_stack

        create_stack("test", os.environ["AWS_DEFAULT_REGION"])
        _table().stream_shard = None  # nothing reads the stream here (see test_ledger_properties)
        _table().stream_specification = {"StreamEnabled": False}
        GrowthMachine.TestCase.settings = settings(
            max_examples=EXAMPLES,
            stateful_step_count=max(1, (STEPS * 11) // (EXAMPLES * 10)),
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        GrowthMachine.steps_run = 0
        for _ in range(4):
            GrowthMachine.TestCase().runTest()
            if GrowthMachine.steps_run >= STEPS:
                break
    _reset_caches()
    from chalicelib.adapters import clock

    clock.pin(None)
    print(f"growth ledger state machine: {GrowthMachine.steps_run} checked steps")
    assert GrowthMachine.steps_run >= STEPS
