"""Money and slots across the whole task lifecycle, as a Hypothesis state machine over the services: claims,
proofs, accepts, rejects, abandons, expiries and appeal windows on the stage clock, pause, resume, more slots
and cancel — on an ordinary task and on a hot task whose claims draw from slot shards.

After every step: nothing was created or destroyed (merchant + escrow + workers + fee revenue is constant),
the escrow holds exactly what the free slots and the open claims can still cost, and no more claims exist than
slots were funded.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from chalicelib.adapters import clock as stage_clock
from chalicelib.domain import ledger as L
from chalicelib.domain import tasks as T
from chalicelib.domain.errors import DomainError
from chalicelib.domain.roles import Caller
from chalicelib.services import claims as claim_service
from chalicelib.services import sweep
from chalicelib.services import tasks as task_service
from chalicelib.store import ledger as books
from chalicelib.store import slot_shards
from tests.api.claims.conftest import publish_task
from tests.api.money.conftest import credit_wallet

EXAMPLES = int(os.environ.get("LIFECYCLE_PROPERTY_EXAMPLES", "8"))
STEPS = 20
REWARD, FEE_BPS = 200, 500
UNIT = T.unit_cost_fen(REWARD, FEE_BPS)
# Moves a refused state answers with (a 409 for an illegal transition, a full task, a paused one …).
EXPECTED_REFUSALS = {
    "SLOTS_EXHAUSTED",
    "ALREADY_CLAIMED",
    "TASK_NOT_OPEN",
    "TASK_ENDED",
    "TOO_MANY_OPEN_CLAIMS",
    "CLAIM_STATE_CONFLICT",
    "TASK_STATE_CONFLICT",
    "INVALID_TRANSITION",
    "TASK_NOT_FOUND",
}


def _refused(err: DomainError) -> None:
    assert err.code in EXPECTED_REFUSALS or err.status == 409, (err.code, err.status)


class Lifecycle(RuleBasedStateMachine):
    @initialize(hot=st.booleans(), slots=st.integers(2, 6))
    def publish(self, hot: bool, slots: int) -> None:
        from chalicelib.adapters import ids

        self.merchant = Caller(ids.new_id("usr"), "merchant")
        self.workers = [Caller(ids.new_id("usr"), "worker") for _ in range(7)]
        self.task_id = publish_task(
            self.merchant.id,
            slots=slots,
            reward=REWARD,
            fee_bps=FEE_BPS,
            claim_ttl_s=600,
            slot_shards=3 if hot else 0,  # with the shard size patched to 1 slot: every refill moves 1–3 slots
        )
        self.extra = 10 * UNIT  # the merchant's spare money for more slots
        credit_wallet(self.merchant.id, self.extra)
        self.claims: dict[str, Caller] = {}
        self.fees: set[str] = set()
        self.total = self._holdings()

    def _holdings(self) -> int:
        accounts = [L.wallet(self.merchant.id), L.escrow(self.task_id), *(L.wallet(w.id) for w in self.workers)]
        accounts += [L.fee_revenue(f"settle:{cid}") for cid in self.claims]
        return sum(b.posted for b in books.get_balances(accounts).values())

    def _claims_in(self, *statuses: str) -> list[str]:
        from chalicelib.store import claims as claim_store

        return sorted(cid for cid in self.claims if claim_store.get(cid).status in statuses)

    def _try(self, fn, *args, **kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except DomainError as err:
            _refused(err)

    @rule(i=st.integers(0, 6))
    def claim(self, i: int) -> None:
        w = self.workers[i]
        try:
            view = claim_service.claim(w, self.task_id, device_id=None, source_ip=None)
        except DomainError as err:
            _refused(err)
            return
        self.claims[view.id] = w

    @rule(data=st.data())
    def submit(self, data: st.DataObject) -> None:
        open_ = self._claims_in("claimed")
        if open_:
            cid = data.draw(st.sampled_from(open_))
            self._try(
                claim_service.submit_proof,
                self.claims[cid],
                cid,
                text="门店A",
                image_keys=[],
                location=None,
                order_no=None,
                device_id=None,
                source_ip=None,
            )

    @rule(data=st.data(), accept=st.booleans())
    def review(self, data: st.DataObject, accept: bool) -> None:
        waiting = self._claims_in("submitted")
        if waiting:
            cid = data.draw(st.sampled_from(waiting))
            if accept:
                self._try(claim_service.accept, self.merchant, cid)
            else:
                self._try(claim_service.reject, self.merchant, cid, "不符合要求")

    @rule(data=st.data())
    def abandon(self, data: st.DataObject) -> None:
        open_ = self._claims_in("claimed")
        if open_:
            cid = data.draw(st.sampled_from(open_))
            self._try(claim_service.abandon, self.claims[cid], cid)

    @rule(hours=st.sampled_from([0.25, 25, 73]))
    def time_passes(self, hours: float) -> None:
        """Claims expire (10 min), submissions auto-accept (24 h), appeal windows close (72 h), tasks end (3 d)."""
        stage_clock.advance(int(hours * 3600))
        for _ in range(10):  # as the next ticks would, should the watermark trail by more than one run's budget
            if sweep.sweep_deadlines()["buckets"] < sweep.MAX_BUCKETS:
                break

    @rule()
    def pause(self) -> None:
        self._try(task_service.pause, self.merchant, self.task_id)

    @rule()
    def resume(self) -> None:
        self._try(task_service.resume, self.merchant, self.task_id)

    @precondition(lambda self: self.extra >= UNIT)
    @rule(add=st.integers(1, 2))
    def add_slots(self, add: int) -> None:
        try:
            task_service.add_slots(self.merchant, self.task_id, add)
        except DomainError as err:
            _refused(err)
        else:
            self.extra -= add * UNIT

    @rule()
    def cancel(self) -> None:
        self._try(task_service.cancel, self.merchant, self.task_id)

    @invariant()
    def money_is_conserved(self) -> None:
        assert self._holdings() == self.total

    @invariant()
    def escrow_covers_exactly_what_free_slots_and_open_claims_can_cost(self) -> None:
        task, shards = slot_shards.load(self.task_id)
        live = slot_shards.totals(task, shards)
        escrow = books.get_balances([L.escrow(self.task_id)])[L.escrow(self.task_id)].posted
        free = live.slots_left if task.status in ("published", "paused") else 0
        assert escrow == (free + live.open_claims) * UNIT, (task.status, live, escrow)
        assert live.open_claims == len(self._claims_in("claimed", "submitted", "rejected", "appealed")) - len(
            self._final_rejections()
        )
        # Never oversold: claims that hold or used a slot (all but abandoned, expired, finally rejected).
        holding = self._claims_in("claimed", "submitted", "rejected", "appealed", "accepted")
        assert len(holding) - len(self._final_rejections()) <= int(task.slots)

    def _final_rejections(self) -> list[str]:
        from chalicelib.store import claims as claim_store

        return [cid for cid in self._claims_in("rejected") if claim_store.get(cid).settled_at]


def test_task_lifecycle_conserves_money_and_never_oversells(api, clock, monkeypatch):
    monkeypatch.setattr(T, "SLOTS_PER_SHARD", 1)
    monkeypatch.setattr(T, "REFILLS_PER_SHARD", 1)
    run_state_machine_as_test(
        Lifecycle,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
