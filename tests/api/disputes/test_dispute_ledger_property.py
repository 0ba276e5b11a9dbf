"""Ledger conservation with dispute outcomes (extends tests/api/ledger/test_ledger_properties.py): random appeals
decided by the SLA or the desk (worker_wins with or without a penalty, merchant_wins, split of any amount), on
open or ended tasks; after each example the books balance, no protected account is negative, every account
equals its statement lines, each task's escrow holds exactly what its free slots and open claims can still
earn, and each worker was paid exactly what the outcome says."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain import ledger as L
from chalicelib.domain.roles import Caller
from chalicelib.services import claims as claim_service
from chalicelib.services import disputes as dispute_service
from chalicelib.services import sweep
from chalicelib.services import tasks as task_service
from chalicelib.store import ledger as books
from chalicelib.store.tasks import get_task
from tests.api.claims.conftest import publish_task
from tests.api.disputes.test_resolution import lock_guarantee

REWARD, UNIT = 1_000, 1_050
HOUR = 3600

case_st = st.fixed_dictionaries(
    {
        "outcome": st.sampled_from(["sla", "worker_wins", "merchant_wins", "split"]),
        "penalty": st.sampled_from([0, 0, 1, 250]),
        "split": st.integers(min_value=1, max_value=REWARD - 1),
        "end_task_first": st.booleans(),
    }
)


def _scan_accounts() -> tuple[list[dict], list[dict]]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from chalicelib.config import settings as stage

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][stage().region].get_table(stage().table_name)
    items = [i.to_json()["Attributes"] for i in table.all_items()]
    kind = lambda i: i.get("kind", {}).get("S")  # noqa: E731
    return [i for i in items if kind(i) == "account"], [i for i in items if kind(i) == "entry"]


def _check_books() -> None:
    accounts, entries = _scan_accounts()
    n = lambda item, k: int(item.get(k, {}).get("N", "0"))  # noqa: E731
    assert sum(n(a, "credits_posted") - n(a, "debits_posted") for a in accounts) == 0
    assert sum(n(a, "credits_pending") for a in accounts) == sum(n(a, "debits_pending") for a in accounts)
    lines: dict[str, int] = {}
    for e in entries:
        lines[e["account"]["S"]] = lines.get(e["account"]["S"], 0) + n(e, "amount")
    for a in accounts:
        acct = a["account"]["S"]
        avail = n(a, "credits_posted") - n(a, "debits_posted") - n(a, "debits_pending")
        assert n(a, "available") == avail, acct
        if L.policy(acct).must_not_go_negative:
            assert avail >= 0, acct
        if L.policy(acct).keeps_entries:
            assert lines.get(acct, 0) == avail, acct


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(cases=st.lists(case_st, min_size=1, max_size=3))
def test_dispute_outcomes_keep_the_books_balanced(api, users, clock, cases):
    admin = users.make("admin").caller
    merchant = users.make("merchant")
    lock_guarantee(merchant.id, 10_000)
    task_id = publish_task(merchant.id, slots=len(cases) + 1, reward=REWARD)
    owed: dict[str, int] = {}
    opened = []
    for spec in cases:
        worker = users.make("worker")
        wc = Caller(worker.id, "worker")
        c = claim_service.claim(wc, task_id, device_id=None, source_ip=None)
        claim_service.submit_proof(
            wc, c.id, text="万达店", image_keys=[], location=None, order_no=None, device_id=None, source_ip=None
        )
        claim_service.reject(Caller(merchant.id, "merchant"), c.id, "截图与门店不符")
        d = dispute_service.open_case(
            wc, kind="appeal_rejection", claim_id=c.id, task_id=None, description="我按要求完成了任务", evidence_keys=[]
        )
        opened.append((spec, d.id, worker.id))
    if any(spec["end_task_first"] for spec, _, _ in opened):
        clock.advance(3 * 86400 + 60)
        assert task_service.end_task(task_id, clock.now())
    for spec, did, worker_id in opened:
        outcome = spec["outcome"]
        if outcome == "sla":
            continue
        split = spec["split"] if outcome == "split" else None
        penalty = spec["penalty"] if outcome == "worker_wins" else None
        dispute_service.resolve(
            admin, did, outcome=outcome, note="核对后裁决", penalty_fen=penalty, split_worker_fen=split
        )
        owed[worker_id] = {"worker_wins": REWARD + (penalty or 0), "merchant_wins": 0, "split": split or 0}[outcome]
    if any(spec["outcome"] == "sla" for spec, _, _ in opened):
        clock.advance(48 * HOUR + 60)
        # Hypothesis runs every example on one table while the clock only moves forward: the watermark can
        # trail by more than one run's bucket budget, as after a long outage — sweep as the next ticks would.
        for _ in range(10):
            if sweep.sweep_deadlines()["buckets"] < sweep.MAX_BUCKETS:
                break
        for spec, _, worker_id in opened:
            if spec["outcome"] == "sla":
                owed[worker_id] = REWARD
    _check_books()
    for worker_id, amount in owed.items():
        assert books.get_balances([L.wallet(worker_id)])[L.wallet(worker_id)].available == amount
    t = get_task(task_id, consistent=True)
    escrow = books.get_balances([L.escrow(task_id)])[L.escrow(task_id)].available
    assert escrow == (int(t.slots_left) + int(t.open_claims)) * UNIT
    assert int(t.open_claims) == 0  # every case closed
