"""Hypothesis stateful test of the ledger on moto: random deposits, escrow funding, settlements, holds,
posts, voids, withdrawals and replays; the books balance after every step."""

from __future__ import annotations

import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from moto import mock_aws

from chalicelib.config import settings as stage_settings
from chalicelib.domain import ledger as L
from chalicelib.domain.errors import Conflict
from chalicelib.store import ledger as store
from tests.conftest import _reset_caches

USERS = ["usr_a", "usr_b", "usr_c"]
TASKS = ["tsk_1", "tsk_2"]
STEPS = int(os.environ.get("LEDGER_PROPERTY_STEPS", "2000"))
EXAMPLES = 60


def _table():
    """moto's in-memory table: the raw state, read without going through the API under test."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][stage_settings().region].get_table(stage_settings().table_name)


def _scan_all() -> list[dict]:
    return [item.to_json()["Attributes"] for item in _table().all_items()]


def _wipe() -> None:
    table = _table()
    for item in table.all_items():
        table.delete_item(item.hash_key, item.range_key)


class LedgerMachine(RuleBasedStateMachine):
    """The model knows which transfers were applied; the table must agree and stay balanced."""

    steps_run = 0

    @initialize()
    def fresh_books(self) -> None:
        _wipe()
        self.seq = 0
        self.applied: dict[str, L.Transfer] = {}
        self.holds: dict[str, L.Transfer] = {}  # open pending transfers
        self.completed: set[str] = set()

    def _next(self, prefix: str) -> str:
        self.seq += 1
        return f"{prefix}:{self.seq}"

    def _post(self, batch: list[L.Transfer]) -> bool:
        try:
            result = store.post(batch)
        except Conflict as err:
            assert err.code in {"INSUFFICIENT_BALANCE", "ESCROW_INSUFFICIENT", "TRANSFER_ALREADY_COMPLETED"}, err.code
            return False
        if not result.replayed:
            for t in batch:
                self.applied[t.id] = t
        return True

    @rule(user=st.sampled_from(USERS), amount=st.integers(1, 50_000))
    def deposit(self, user: str, amount: int) -> None:
        t = L.Transfer(
            id=self._next("deposit"),
            debit=L.clearing("sandbox"),
            credit=L.wallet(user),
            amount=amount,
            code=L.Code.DEPOSIT,
        )
        assert self._post([t])

    @rule(user=st.sampled_from(USERS), task=st.sampled_from(TASKS), amount=st.integers(1, 30_000))
    def fund_escrow(self, user: str, task: str, amount: int) -> None:
        t = L.Transfer(
            id=self._next("fund"), debit=L.wallet(user), credit=L.escrow(task), amount=amount, code=L.Code.ESCROW_FUND
        )
        self._post([t])

    @rule(
        task=st.sampled_from(TASKS),
        worker=st.sampled_from(USERS),
        reward=st.integers(1, 5_000),
        fee=st.integers(0, 500),
    )
    def settle(self, task: str, worker: str, reward: int, fee: int) -> None:
        sid = self._next("settle")
        batch = [L.Transfer(id=sid, debit=L.escrow(task), credit=L.wallet(worker), amount=reward, code=L.Code.REWARD)]
        if fee:
            batch.append(
                L.Transfer(
                    id=f"{sid}:fee", debit=L.escrow(task), credit=L.fee_revenue(sid), amount=fee, code=L.Code.FEE
                )
            )
        self._post(batch)

    @rule(task=st.sampled_from(TASKS), merchant=st.sampled_from(USERS), amount=st.integers(1, 10_000))
    def refund_escrow(self, task: str, merchant: str, amount: int) -> None:
        """A cancelled/ended task or an unpaid claim gives escrow back to the merchant's wallet."""
        t = L.Transfer(
            id=self._next("refund"),
            debit=L.escrow(task),
            credit=L.wallet(merchant),
            amount=amount,
            code=L.Code.ESCROW_REFUND,
        )
        self._post([t])

    @rule(user=st.sampled_from(USERS), amount=st.integers(1, 20_000))
    def hold_withdrawal(self, user: str, amount: int) -> None:
        t = L.Transfer(
            id=self._next("wd"),
            debit=L.wallet(user),
            credit=L.payout("sandbox"),
            amount=amount,
            code=L.Code.WITHDRAWAL,
            phase=L.Phase.PENDING,
        )
        if self._post([t]):
            self.holds[t.id] = t

    @precondition(lambda self: bool(self.holds))
    @rule(data=st.data(), partial=st.booleans())
    def post_hold(self, data: st.DataObject, partial: bool) -> None:
        hid = data.draw(st.sampled_from(sorted(self.holds)))
        hold = self.holds[hid]
        amount = data.draw(st.integers(0, hold.amount)) if partial else hold.amount
        t = L.Transfer(
            id=f"{hid}:post",
            debit=hold.debit,
            credit=hold.credit,
            amount=amount,
            code=hold.code,
            phase=L.Phase.POST_PENDING,
            pending_id=hid,
            pending_amount=hold.amount,
        )
        assert self._post([t])
        del self.holds[hid]
        self.completed.add(hid)

    @precondition(lambda self: bool(self.holds))
    @rule(data=st.data())
    def void_hold(self, data: st.DataObject) -> None:
        hid = data.draw(st.sampled_from(sorted(self.holds)))
        hold = self.holds[hid]
        t = L.Transfer(
            id=f"{hid}:void",
            debit=hold.debit,
            credit=hold.credit,
            amount=0,
            code=hold.code,
            phase=L.Phase.VOID_PENDING,
            pending_id=hid,
            pending_amount=hold.amount,
        )
        assert self._post([t])
        del self.holds[hid]
        self.completed.add(hid)

    @precondition(lambda self: bool(self.completed))
    @rule(data=st.data())
    def complete_twice_is_refused(self, data: st.DataObject) -> None:
        hid = data.draw(st.sampled_from(sorted(self.completed)))
        hold = self.applied[hid]
        t = L.Transfer(
            id=f"{hid}:void2",
            debit=hold.debit,
            credit=hold.credit,
            amount=0,
            code=hold.code,
            phase=L.Phase.VOID_PENDING,
            pending_id=hid,
            pending_amount=hold.amount,
        )
        assert not self._post([t])

    @precondition(lambda self: bool(self.applied))
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        tid = data.draw(st.sampled_from(sorted(self.applied)))
        result = store.post([self.applied[tid]])
        assert result.replayed

    @invariant()
    def books_balance(self) -> None:
        LedgerMachine.steps_run += 1
        items = _scan_all()
        accounts = [i for i in items if i.get("kind", {}).get("S") == "account"]
        transfers = [i for i in items if i.get("kind", {}).get("S") == "transfer"]
        entries = [i for i in items if i.get("kind", {}).get("S") == "entry"]
        n = lambda item, k: int(item.get(k, {}).get("N", "0"))  # noqa: E731
        # Conservation: debits = credits, posted and pending.
        assert sum(n(a, "credits_posted") - n(a, "debits_posted") for a in accounts) == 0
        assert sum(n(a, "credits_pending") for a in accounts) == sum(n(a, "debits_pending") for a in accounts)
        # No protected account below zero, and `available` agrees with its parts.
        for a in accounts:
            acct = a["account"]["S"]
            avail = n(a, "credits_posted") - n(a, "debits_posted") - n(a, "debits_pending")
            assert n(a, "available") == avail, acct
            if L.policy(acct).must_not_go_negative:
                assert avail >= 0, acct
        # Every transfer applied at most once, and exactly the ones the model applied.
        ids = Counter(t["transfer_id"]["S"] for t in transfers)
        assert all(c == 1 for c in ids.values())
        assert set(ids) == set(self.applied)
        # Every account with entries equals the sum of its entries; wallets' last balance_after too.
        by_account: dict[str, list[dict]] = {}
        for e in entries:
            by_account.setdefault(e["account"]["S"], []).append(e)
        for a in accounts:
            acct = a["account"]["S"]
            if not L.policy(acct).keeps_entries:
                continue
            lines = sorted(by_account.get(acct, []), key=lambda e: e["SK"]["S"])
            assert sum(n(e, "amount") for e in lines) == n(a, "available"), acct
            if L.policy(acct).versioned and lines:
                assert n(lines[-1], "balance_after") == n(a, "available"), acct


@pytest.mark.slow
def test_ledger_state_machine(monkeypatch):
    from chalicelib.adapters import clock

    with mock_aws():
        _reset_caches()
        from devstack.resources import create_stack

        create_stack("test", os.environ["AWS_DEFAULT_REGION"])
        # moto deep-copies every table (stream records included) on each transaction, for rollback; with
        # thousands of transactions the ever-growing stream makes that quadratic. Nothing here reads it.
        _table().stream_shard = None
        _table().stream_specification = {"StreamEnabled": False}
        clock.pin(None)
        LedgerMachine.TestCase.settings = settings(
            max_examples=EXAMPLES,
            stateful_step_count=max(1, (STEPS * 11) // (EXAMPLES * 10)),
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        LedgerMachine.steps_run = 0
        for _ in range(4):  # Hypothesis draws each run's lengths at random: top up to the step target
            LedgerMachine.TestCase().runTest()
            if LedgerMachine.steps_run >= STEPS:
                break
    _reset_caches()
    print(f"ledger state machine: {LedgerMachine.steps_run} checked steps")
    assert LedgerMachine.steps_run >= STEPS
