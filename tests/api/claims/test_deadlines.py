"""Deadlines driven by the stage clock through the schedule: claim expiry, auto-accept, appeal windows."""

from __future__ import annotations

from chalicelib.domain import ledger as L
from chalicelib.services import schedules, sweep
from chalicelib.store import ledger as books
from chalicelib.store.tasks import get_task
from tests.api.claims.conftest import fresh
from tests.api.claims.test_claim_lifecycle import claim, prove


def test_unsubmitted_claim_expires_at_its_deadline_and_the_slot_returns(api, accounts, publish, clock):
    m, w = accounts.make("merchant"), accounts.make("worker")
    task_id = publish(m.id, slots=1, claim_ttl_s=3600)
    cid = claim(api, w, task_id).json["id"]
    clock.advance(3599)
    assert "deadline_sweep" in schedules.run_due()
    assert api.get(f"/v1/claims/{cid}", token=fresh(w)).json["status"] == "claimed"
    clock.advance(61)
    schedules.run_due()
    assert api.get(f"/v1/claims/{cid}", token=fresh(w)).json["status"] == "expired"
    t = get_task(task_id, consistent=True)
    assert (t.slots_left, t.open_claims, t.expired_count) == (1, 0, 1)
    late = api.post(f"/v1/claims/{cid}/proof", {"text": "x"}, token=fresh(w))
    assert late.status == 409


def test_unreviewed_submission_is_accepted_automatically_after_review_ttl(api, accounts, publish, clock):
    m, w = accounts.make("merchant"), accounts.make("worker")
    task_id = publish(m.id, slots=1, reward=2_000, review_ttl_s=86400)
    cid = claim(api, w, task_id).json["id"]
    prove(api, w, cid)
    clock.advance(86400 + 60)
    ran = sweep.sweep_deadlines()
    assert ran["auto_accepted"] == 1
    c = api.get(f"/v1/claims/{cid}", token=fresh(w)).json
    assert c["status"] == "accepted"
    assert books.get_balances([L.wallet(w.id)])[L.wallet(w.id)].available == 2_000
    assert sweep.sweep_deadlines()["auto_accepted"] == 0  # a second run pays nothing more
    assert books.get_balances([L.wallet(w.id)])[L.wallet(w.id)].available == 2_000


def test_sweep_is_bounded_and_continues_next_run(api, accounts, publish, clock, monkeypatch):
    m = accounts.make("merchant")
    workers = [accounts.make("worker") for _ in range(3)]
    task_id = publish(m.id, slots=3, claim_ttl_s=600)
    for w in workers:
        claim(api, w, task_id)
    clock.advance(601)
    monkeypatch.setattr(sweep, "MAX_ITEMS", 2)
    assert sweep.sweep_deadlines()["expired"] == 2
    assert sweep.sweep_deadlines()["expired"] == 1
    assert sweep.sweep_deadlines()["expired"] == 0
    assert get_task(task_id, consistent=True).slots_left == 3


def test_task_completes_when_every_slot_is_settled(api, accounts, publish):
    from chalicelib.domain import ledger as L
    from tests.conftest import feed_stream

    m = accounts.make("merchant")
    w1, w2 = accounts.make("worker"), accounts.make("worker")
    task_id = publish(m.id, slots=2)
    for w in (w1, w2):
        cid = claim(api, w, task_id).json["id"]
        prove(api, w, cid)
        api.post(f"/v1/claims/{cid}/accept", {}, token=m.token)
    assert feed_stream()["batchItemFailures"] == []
    t = get_task(task_id, consistent=True)
    assert t.status == "completed" and t.closed_at
    assert books.get_balances([L.escrow(task_id)])[L.escrow(task_id)].available == 0
