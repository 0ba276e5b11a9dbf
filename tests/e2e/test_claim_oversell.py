"""The hot-task race over real HTTP against the locked moto server: 200 workers for 50 slots on the task item,
and 240 workers for a 200-slot task whose claims draw from slot shards (decision 0005)."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from tests.api.identity.factory import PASSWORD, new_phone
from tests.e2e.conftest import Http
from tests.e2e.races import race as _race

WORKERS = 200
SLOTS = 50


@pytest.mark.parametrize(("WORKERS", "SLOTS"), [(WORKERS, SLOTS), (240, 200)], ids=["task-item", "slot-shards"])
def test_concurrent_claims_never_oversell(e2e, WORKERS, SLOTS):
    from chalicelib.domain import ledger as L
    from chalicelib.domain import tasks as T
    from chalicelib.services import auth, sessions
    from chalicelib.store import ledger as books
    from chalicelib.store.tasks import get_task
    from tests.api.claims.conftest import publish_task

    merchant = auth.create_account(new_phone(), PASSWORD, "merchant")
    task_id = publish_task(merchant.user_id, slots=SLOTS, reward=300, fee_bps=500, slot_shards=T.slot_shards_for(SLOTS))
    tokens = []
    for _ in range(WORKERS):
        user = auth.create_account(new_phone(), PASSWORD, "worker")
        tokens.append(sessions.start_session(user).access_token)
    http = Http(e2e.api_url, timeout_s=300)  # 200 requests queue behind one DynamoDB lock on a 2-core machine
    started = time.monotonic()
    replies = _race(WORKERS, lambda i: http.post(f"/v1/tasks/{task_id}/claims", token=tokens[i]))
    print(f"{WORKERS} concurrent claims answered in {time.monotonic() - started:.1f} s")
    outcome = Counter((r.status, r.code) for r in replies)
    expected = Counter({(201, None): SLOTS, (409, "SLOTS_EXHAUSTED"): WORKERS - SLOTS})
    assert outcome == expected, f"{outcome}\n{e2e.errors()}"
    task = get_task(task_id, consistent=True)
    # The claims that found every shard dry folded them back: the task item's counters are exact.
    assert (task.slots_left, task.open_claims, task.claimed_count, task.parked) == (0, SLOTS, SLOTS, 0)
    # Escrow = what the 50 open claims can still earn + the unclaimed remainder (none left).
    unit = T.unit_cost_fen(300, 500)
    escrow = books.get_balances([L.escrow(task_id)])[L.escrow(task_id)].available
    assert escrow == SLOTS * unit
