"""Hot tasks: claims draw from slot shards refilled from the task's pool (store/slot_shards.py, decision 0005).

What must hold: never more claims than slots; a claim writes the task item only when it refills the shards;
pause, cancel and end fold the shards back in the same transaction that changes the status, so refunds and
counters are exact; a task whose shards ran dry leaves the hall and still completes.
"""

from __future__ import annotations

from chalicelib.domain import ledger as L
from chalicelib.domain import tasks as T
from chalicelib.store import ledger as books
from chalicelib.store import slot_shards
from tests.api.claims.test_claim_lifecycle import claim, prove
from tests.opcount import count_ops


def hot(publish, merchant_id: str, slots: int, reward: int = 100) -> str:
    return publish(merchant_id, slots=slots, reward=reward, slot_shards=T.slot_shards_for(slots))


def state(task_id: str):
    task, shards = slot_shards.load(task_id)
    return task, shards, slot_shards.totals(task, shards)


def test_shard_count_and_refill_sizes_follow_the_slots():
    assert [T.slot_shards_for(n) for n in (1, 199, 200, 250, 1_000, 10_000)] == [0, 0, 2, 3, 10, 10]
    assert T.refill_amounts(400, 4, 400) == [25, 25, 25, 25]
    assert T.refill_amounts(400, 4, 6) == [2, 2, 1, 1]  # the pool's last slots, spread
    assert T.refill_amounts(10_000, 10, 10_000) == [250] * 10
    assert T.refill_amounts(400, 4, 0) == []


def test_a_hot_task_claim_writes_a_shard_and_the_task_item_only_on_refill(api, accounts, publish):
    m = accounts.make("merchant")
    workers = [accounts.make("worker") for _ in range(5)]
    task_id = hot(publish, m.id, 400)  # 4 shards, refills of 25 each
    for i, w in enumerate(workers):
        api.get("/v1/wallet", token=w.token)  # warm, as a warm Lambda
        with count_ops() as ops:
            reply = claim(api, w, task_id)
        assert reply.status == 201, reply.body
        assert ops.ops["TransactWriteItems"] == 1 and ops.reads <= 2 and ops.ops["Scan"] == 0, ops.summary()
        task, shards, live = state(task_id)
        # The first claim refilled every shard from the pool (100 slots), the rest only touched a shard.
        assert (int(task.slots_left), int(task.parked)) == (300, 100), i
        assert sum(int(s.free) for s in shards) == 100 - (i + 1)
    assert (live.slots_left, live.open_claims, live.claimed_count) == (395, 5, 5)
    view = api.get(f"/v1/tasks/{task_id}", token=m.token).json
    assert view["slots_left"] == 395
    stats = api.get(f"/v1/tasks/{task_id}/stats", token=m.token).json
    assert (stats["slots_left"], stats["claimed"], stats["open_claims"]) == (395, 5, 5)


def test_a_hot_task_never_sells_more_slots_than_it_has(api, accounts, publish, monkeypatch):
    monkeypatch.setattr(T, "HOT_TASK_SLOTS", 4)
    monkeypatch.setattr(T, "SLOTS_PER_SHARD", 3)
    m = accounts.make("merchant")
    task_id = hot(publish, m.id, 9)  # 3 shards, refills of 1 slot each
    workers = [accounts.make("worker") for _ in range(10)]
    replies = [claim(api, w, task_id) for w in workers]
    assert [r.status for r in replies].count(201) == 9
    assert replies[-1].status == 409 and replies[-1].code == "SLOTS_EXHAUSTED"
    task, shards, _ = state(task_id)
    # The claim that found everything dry folded the shards back: the task item is exact again.
    assert (int(task.slots_left), int(task.parked), int(task.open_claims), int(task.claimed_count)) == (0, 0, 9, 9)
    assert all((int(s.free), int(s.open_claims), int(s.claimed_count)) == (0, 0, 0) for s in shards)
    assert books.get_balances([L.escrow(task_id)])[L.escrow(task_id)].available == 9 * 105


def test_abandon_on_a_hot_task_gives_the_slot_back_to_the_pool(api, accounts, publish):
    m, w = accounts.make("merchant"), accounts.make("worker")
    task_id = hot(publish, m.id, 200)
    cid = claim(api, w, task_id).json["id"]
    assert api.post(f"/v1/claims/{cid}/abandon", token=w.token).status == 200
    task, _, live = state(task_id)
    assert (live.slots_left, live.open_claims, live.claimed_count) == (200, 0, 1)
    assert int(task.abandoned_count) == 1


def test_pause_folds_the_shards_and_stops_claims_until_resumed(api, accounts, publish):
    m = accounts.make("merchant")
    w1, w2, w3 = (accounts.make("worker") for _ in range(3))
    task_id = hot(publish, m.id, 200)
    assert claim(api, w1, task_id).status == 201
    paused = api.post(f"/v1/tasks/{task_id}/pause", token=m.token)
    assert paused.status == 200 and paused.json["slots_left"] == 199, paused.body
    task, shards, _ = state(task_id)
    assert (int(task.slots_left), int(task.parked), int(task.open_claims), int(task.claimed_count)) == (199, 0, 1, 1)
    assert all(int(s.free) == 0 for s in shards)
    blocked = claim(api, w2, task_id)
    assert blocked.status == 409 and blocked.code == "TASK_NOT_OPEN"
    assert api.post(f"/v1/tasks/{task_id}/resume", token=m.token).status == 200
    assert claim(api, w3, task_id).status == 201
    assert state(task_id)[2].open_claims == 2


def test_cancel_refunds_every_free_slot_including_the_ones_parked_in_shards(api, accounts, publish):
    m = accounts.make("merchant")
    workers = [accounts.make("worker") for _ in range(3)]
    task_id = hot(publish, m.id, 200, reward=1_000)  # unit 1,050
    cids = [claim(api, w, task_id).json["id"] for w in workers]
    before = books.get_balances([L.wallet(m.id)])[L.wallet(m.id)].available
    done = api.post(f"/v1/tasks/{task_id}/cancel", token=m.token)
    assert done.status == 200, done.body
    assert done.json["refund_fen"] == 197 * 1_050
    got = books.get_balances([L.wallet(m.id), L.escrow(task_id)])
    assert got[L.wallet(m.id)].available - before == 197 * 1_050
    assert got[L.escrow(task_id)].available == 3 * 1_050  # what the open claims can still earn
    # The claims still settle from escrow after the cancel; nothing is stranded.
    prove(api, workers[0], cids[0])
    assert api.post(f"/v1/claims/{cids[0]}/accept", {}, token=m.token).status == 200
    task, _, live = state(task_id)
    assert (int(task.parked), live.open_claims, int(task.accepted_count)) == (0, 2, 1)


def test_a_hot_task_whose_shards_ran_dry_leaves_the_hall_and_completes(api, accounts, publish, monkeypatch):
    from chalicelib.services import completion, tasks
    from chalicelib.services.events import Change
    from chalicelib.store.hall import HallTask

    monkeypatch.setattr(T, "HOT_TASK_SLOTS", 2)
    monkeypatch.setattr(T, "SLOTS_PER_SHARD", 1)
    m = accounts.make("merchant")
    task_id = hot(publish, m.id, 2)
    w1, w2 = accounts.make("worker"), accounts.make("worker")
    c1, c2 = (claim(api, w, task_id).json["id"] for w in (w1, w2))
    task, _, _ = state(task_id)
    assert int(task.slots_left) == 0 and int(task.parked) == 2  # both slots taken from shards: not yet folded
    assert HallTask.from_item(task).listable  # the hall cannot tell yet: parked slots may still be free
    # The stream consumer sees a shard run dry and folds; a second delivery does nothing.
    assert tasks.fold_dry_shards(task_id) is True
    assert tasks.fold_dry_shards(task_id) is False
    task, _, _ = state(task_id)
    assert not HallTask.from_item(task).listable
    for w, cid in ((w1, c1), (w2, c2)):
        prove(api, w, cid)
        assert api.post(f"/v1/claims/{cid}/accept", {}, token=m.token).status == 200
    task, _, _ = state(task_id)
    image = dict(task.attribute_values)
    completion.on_task(Change("e1", "MODIFY", "task", {}, image, image, "1"))
    task, _, _ = state(task_id)
    assert task.status == "completed"
    assert books.get_balances([L.escrow(task_id)])[L.escrow(task_id)].available == 0


def test_a_resent_claim_whose_first_send_committed_is_the_workers_claim(api, accounts, publish, monkeypatch):
    """botocore resends a transaction whose answer was lost; if the emulator fails the resend's conditions
    instead of honouring the request token, the worker still gets the claim that was written, not a 409."""
    from chalicelib.store import tx

    m, w = accounts.make("merchant"), accounts.make("worker")
    task_id = hot(publish, m.id, 200)
    real_commit = tx.Tx.commit

    def lost_answer(self):
        real_commit(self)
        real_commit(self)  # the resend: every condition now fails (guard exists, slot taken)

    monkeypatch.setattr(tx.Tx, "commit", lost_answer)
    reply = claim(api, w, task_id)
    monkeypatch.setattr(tx.Tx, "commit", real_commit)
    assert reply.status == 201, reply.body
    listed = api.get("/v1/me/claims", token=w.token).json["items"]
    assert [c["id"] for c in listed] == [reply.json["id"]]
    assert state(task_id)[2].claimed_count == 1
