"""Live tasks and their escrow: pause/resume, cancel, more slots, the end at ends_at, stats — exact balances,
money conserved, every illegal move a 409, and status conditions that hold when two changes race."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.adapters import clock as clock_adapter
from chalicelib.domain import ledger as L
from chalicelib.domain.roles import Caller
from chalicelib.services import tasks as task_service
from chalicelib.store import ledger as books
from chalicelib.store import tasks as task_store
from tests.api.tasks.conftest import balance, balances, draft, relogin

TEXT_PROOF = {"text": "填写问卷编号"}


def task_body(**kw):
    return draft(proof=TEXT_PROOF, **kw)


def claim(api, worker, task_id):
    reply = api.post(f"/v1/tasks/{task_id}/claims", token=worker.token)
    assert reply.status == 201, reply.body
    return reply.json["id"]


def involved(merchant_id: str, task_id: str, worker_ids: list[str]) -> int:
    """What the merchant, the escrow, the workers and the platform's fee accounts hold together."""
    accounts = [L.wallet(merchant_id), L.escrow(task_id), *(L.wallet(w) for w in worker_ids), *L.fee_revenue_shards()]
    return sum(b.posted for b in books.get_balances(accounts).values())


def test_cancel_refunds_free_slots_and_honours_claims_taken(api, market):
    m = market.merchant(10_000)
    tid = market.publish(m, task_body(reward_fen=300, slots=5))  # unit 315, escrow 1,575
    w1, w2 = market.accounts.make("worker"), market.accounts.make("worker")
    total = involved(m.id, tid, [w1.id, w2.id])
    c1, c2 = claim(api, w1, tid), claim(api, w2, tid)
    reply = api.post(f"/v1/tasks/{tid}/cancel", token=m.token)
    assert reply.status == 200, reply.body
    assert reply.json["refund_fen"] == 3 * 315 and reply.json["task"]["status"] == "cancelled"
    assert reply.json["task"]["slots_left"] == 0 and reply.json["task"]["closed_at"] == "2026-11-25T08:00:00.000000Z"
    assert balances(L.wallet(m.id), L.escrow(tid)) == [10_000 - 1_575 + 945, 2 * 315]
    assert api.get("/v1/wallet", token=m.token).json["frozen_fen"] == 630
    assert involved(m.id, tid, [w1.id, w2.id]) == total
    # A claim taken before the cancel is still paid …
    assert api.post(f"/v1/claims/{c1}/proof", {"text": "A-1024"}, token=w1.token).status == 200
    assert api.post(f"/v1/claims/{c1}/accept", {}, token=m.token).status == 200
    assert balances(L.wallet(w1.id), L.escrow(tid)) == [300, 315]
    # … and one abandoned after it goes back to the merchant, not to the hall.
    assert api.post(f"/v1/claims/{c2}/abandon", token=w2.token).status == 200
    assert balances(L.wallet(m.id), L.escrow(tid)) == [10_000 - 1_575 + 945 + 315, 0]
    assert involved(m.id, tid, [w1.id, w2.id]) == total
    again = api.post(f"/v1/tasks/{tid}/cancel", token=m.token)
    assert again.status == 409 and again.code == "TASK_STATE_CONFLICT"


@pytest.mark.parametrize("status", ["draft", "pending_review", "rejected", "approved_unfunded"])
def test_cancel_before_publishing_moves_no_money(api, market, status):
    m = market.merchant(100 if status == "approved_unfunded" else 10_000)
    tid = market.create(m, task_body())
    if status != "draft":
        market.submit(m, tid)
    if status == "rejected":
        api.post(f"/v1/admin/tasks/{tid}/reject", {"reason": "说明不清楚"}, token=market.desk().token)
    if status == "approved_unfunded":
        assert market.approve(tid).json["funded"] is False
    before = balance(L.wallet(m.id))
    reply = api.post(f"/v1/tasks/{tid}/cancel", token=m.token)
    assert reply.status == 200 and reply.json["refund_fen"] == 0 and reply.json["task"]["status"] == "cancelled"
    assert balance(L.wallet(m.id)) == before and balance(L.escrow(tid)) == 0
    assert api.get("/v1/admin/tasks", token=market.desk().token).json["items"] == []


def test_add_slots_tops_escrow_up_from_the_wallet(api, market):
    m = market.merchant(10_000)
    tid = market.publish(m, task_body(reward_fen=200, slots=10))  # unit 210
    w = market.accounts.make("worker")
    claim(api, w, tid)
    reply = api.post(f"/v1/tasks/{tid}/slots", {"add": 5}, token=m.token)
    assert reply.status == 200, reply.body
    assert (reply.json["slots"], reply.json["slots_left"]) == (15, 14)
    assert balances(L.wallet(m.id), L.escrow(tid)) == [10_000 - 15 * 210, 15 * 210]
    assert api.get("/v1/wallet", token=m.token).json["frozen_fen"] == 15 * 210
    assert books.get_transfer(f"escrow-fund:{tid}:2").amount == 5 * 210


def test_add_slots_short_of_money_changes_nothing(api, market):
    m = market.merchant(2_100)
    tid = market.publish(m, task_body(reward_fen=200, slots=10))
    reply = api.post(f"/v1/tasks/{tid}/slots", {"add": 1}, token=m.token)
    assert reply.status == 409 and reply.code == "INSUFFICIENT_BALANCE"
    t = market.task(m, tid)
    assert (t["slots"], t["slots_left"]) == (10, 10)
    assert balances(L.wallet(m.id), L.escrow(tid)) == [0, 2_100]


def test_add_slots_caps_the_total_and_replays_with_an_idempotency_key(api, market):
    m = market.merchant(1_000_000)
    tid = market.publish(m, task_body(reward_fen=10, slots=9_990))  # unit 11 (fee rounds up from 0.5)
    over = api.post(f"/v1/tasks/{tid}/slots", {"add": 11}, token=m.token)
    assert over.status == 422 and "add" in over.json["error"]["details"]["fields"]
    key = {"Idempotency-Key": "top-up-1"}
    first = api.post(f"/v1/tasks/{tid}/slots", {"add": 10}, token=m.token, headers=key)
    replay = api.post(f"/v1/tasks/{tid}/slots", {"add": 10}, token=m.token, headers=key)
    assert first.status == replay.status == 200 and replay.headers.get("Idempotent-Replayed") == "true"
    assert market.task(m, tid)["slots"] == 10_000
    assert balance(L.escrow(tid)) == 10_000 * 11


def test_pause_takes_a_task_off_claims_and_resume_brings_it_back(api, market):
    m = market.merchant(10_000)
    tid = market.publish(m, task_body())
    w = market.accounts.make("worker")
    paused = api.post(f"/v1/tasks/{tid}/pause", token=m.token)
    assert paused.status == 200 and paused.json["status"] == "paused"
    blocked = api.post(f"/v1/tasks/{tid}/claims", token=w.token)
    assert blocked.status == 409 and blocked.code == "TASK_NOT_OPEN"
    more = api.post(f"/v1/tasks/{tid}/slots", {"add": 2}, token=m.token)
    assert more.status == 200 and more.json["status"] == "paused" and more.json["slots_left"] == 12
    resumed = api.post(f"/v1/tasks/{tid}/resume", token=m.token)
    assert resumed.status == 200 and resumed.json["status"] == "published"
    claim(api, w, tid)


def test_end_task_expires_at_ends_at_and_refunds_free_slots(api, market, clock):
    m = market.merchant(10_000)
    tid = market.publish(m, task_body(reward_fen=200, slots=10, ends_at="2026-11-26T08:00:00Z"))
    w = market.accounts.make("worker")
    claim(api, w, tid)
    assert task_service.end_task(tid, clock_adapter.now()) is False  # not due yet
    clock.advance(86400)
    relogin(m)
    assert task_service.end_task(tid, clock_adapter.now()) is True
    t = market.task(m, tid)
    assert t["status"] == "expired" and t["slots_left"] == 0
    assert balances(L.wallet(m.id), L.escrow(tid)) == [10_000 - 210, 210]
    assert books.get_transfer(f"escrow-refund:{tid}:end").amount == 9 * 210
    assert task_service.end_task(tid, clock_adapter.now()) is False
    assert api.post(f"/v1/tasks/{tid}/resume", token=m.token).code == "TASK_STATE_CONFLICT"


def test_the_deadline_sweep_ends_paused_tasks_too(api, market, clock):
    from chalicelib.services import sweep

    m = market.merchant(10_000)
    tid = market.publish(m, task_body(reward_fen=200, slots=10, ends_at="2026-11-25T12:00:00Z"))
    api.post(f"/v1/tasks/{tid}/pause", token=m.token)
    clock.advance(4 * 3600)
    relogin(m)
    assert sweep.sweep_deadlines()["tasks_ended"] == 1
    assert market.task(m, tid)["status"] == "expired"
    assert balances(L.wallet(m.id), L.escrow(tid)) == [10_000, 0]
    assert sweep.sweep_deadlines()["tasks_ended"] == 0


def test_resume_and_add_slots_after_ends_at_are_refused(api, market, clock):
    m = market.merchant(10_000)
    tid = market.publish(m, task_body(ends_at="2026-11-25T10:00:00Z"))
    api.post(f"/v1/tasks/{tid}/pause", token=m.token)
    clock.advance(3 * 3600)
    relogin(m)
    assert api.post(f"/v1/tasks/{tid}/resume", token=m.token).code == "TASK_ENDED"
    assert api.post(f"/v1/tasks/{tid}/slots", {"add": 1}, token=m.token).code == "TASK_ENDED"


def test_stats_count_claims_and_account_for_every_fen(api, market, clock):
    m = market.merchant(10_000)
    tid = market.publish(m, task_body(reward_fen=1_000, slots=4))  # unit 1,050
    workers = [market.accounts.make("worker") for _ in range(3)]
    c = [claim(api, w, tid) for w in workers]
    clock.advance(600)
    relogin(m, *workers)
    api.post(f"/v1/claims/{c[0]}/proof", {"text": "A-1"}, token=workers[0].token)
    clock.advance(600)
    relogin(m, *workers)
    api.post(f"/v1/claims/{c[1]}/proof", {"text": "A-2"}, token=workers[1].token)
    api.post(f"/v1/claims/{c[0]}/accept", {}, token=m.token)
    api.post(f"/v1/claims/{c[1]}/reject", {"reason": "编号不对"}, token=m.token)
    api.post(f"/v1/claims/{c[2]}/abandon", token=workers[2].token)
    api.post(f"/v1/tasks/{tid}/cancel", token=m.token)
    s = api.get(f"/v1/tasks/{tid}/stats", token=m.token).json
    assert (s["claimed"], s["submitted"], s["accepted"], s["rejected"], s["abandoned"]) == (3, 2, 1, 1, 1)
    assert s["completion_rate"] == pytest.approx(1 / 3, abs=1e-4) and s["mean_submit_s"] == 900
    assert s["median_submit_s"] == 825  # 600 s and 1,200 s: slot centres of (300, 600] and (600, 1800], averaged
    assert (s["funded_fen"], s["spent_fen"], s["escrow_fen"]) == (4_200, 1_050, 1_050)  # the rejection is held
    assert s["refunded_fen"] == 2_100 and balance(L.wallet(m.id)) == 10_000 - 4_200 + 2_100


# ---------------------------------------------------------------- every illegal move


def _task_in(api, market, status):
    m = market.merchant(100_000)
    tid = market.create(m, task_body())
    if status == "draft":
        return m, tid
    if status == "rejected":
        market.submit(m, tid)
        api.post(f"/v1/admin/tasks/{tid}/reject", {"reason": "说明不清楚"}, token=market.desk().token)
        return m, tid
    if status == "approved_unfunded":
        poor = market.merchant(0)
        tid = market.create(poor, task_body())
        market.submit(poor, tid)
        market.approve(tid)
        return poor, tid
    market.submit(m, tid)
    if status == "pending_review":
        return m, tid
    market.approve(tid)
    if status == "paused":
        api.post(f"/v1/tasks/{tid}/pause", token=m.token)
    elif status == "cancelled":
        api.post(f"/v1/tasks/{tid}/cancel", token=m.token)
    elif status == "expired":
        task_service.end_task(tid, clock_adapter.now() + timedelta(days=8))
    elif status == "completed":
        task = task_store.get_task(tid)
        task.update(actions=[task_store.TaskItem.status.set("completed")])
    return m, tid


LIVE = ("published", "paused")
ACTIONS = {
    "edit": ("PATCH", "", {"reward_fen": 300}, {"draft", "rejected"}),
    "submit": ("POST", "/submit", None, {"draft", "rejected"}),
    "approve": ("POST", "/approve", None, {"pending_review"}),
    "reject": ("POST", "/reject", {"reason": "不清楚"}, {"pending_review"}),
    "fund": ("POST", "/fund", None, {"approved_unfunded"}),
    "pause": ("POST", "/pause", None, {"published"}),
    "resume": ("POST", "/resume", None, {"paused"}),
    "cancel": ("POST", "/cancel", None, {"draft", "rejected", "pending_review", "approved_unfunded", *LIVE}),
    "slots": ("POST", "/slots", {"add": 1}, {"published", "paused"}),
}
STATUSES = [
    "draft",
    "pending_review",
    "rejected",
    "approved_unfunded",
    "published",
    "paused",
    "cancelled",
    "expired",
    "completed",
]


@pytest.mark.parametrize("status", STATUSES)
def test_every_illegal_move_is_409_task_state_conflict(api, market, status):
    m, tid = _task_in(api, market, status)
    assert market.task(m, tid)["status"] == status
    for action, (method, suffix, body, allowed) in ACTIONS.items():
        if status in allowed:
            continue
        if action in ("approve", "reject"):
            path, token = f"/v1/admin/tasks/{tid}{suffix}", market.desk().token
        else:
            path, token = f"/v1/tasks/{tid}{suffix}", m.token
        reply = api.request(method, path, body, token=token)
        assert reply.status == 409 and reply.code == "TASK_STATE_CONFLICT", (action, reply.body)
        assert reply.json["error"]["details"]["status"] == status
    assert market.task(m, tid)["status"] == status


# ---------------------------------------------------------------- races, made deterministic


def _stale(monkeypatch, name, snapshot):
    """The next load by `name` returns `snapshot` (read before a concurrent change), later ones read afresh."""
    real = getattr(task_service, name)
    served = []

    def load(*args, **kwargs):
        if not served:
            served.append(1)
            return snapshot
        return real(*args, **kwargs)

    monkeypatch.setattr(task_service, name, load)


def test_two_approvals_fund_the_escrow_once(api, market, monkeypatch):
    m = market.merchant(10_000)
    tid = market.create(m, task_body(reward_fen=200, slots=10))
    market.submit(m, tid)
    snapshot = task_store.get_task(tid, consistent=True)
    assert market.approve(tid).status == 200
    _stale(monkeypatch, "_load_any", snapshot)
    desk = Caller(market.desk().id, "reviewer")
    with pytest.raises(Exception) as lost:
        task_service.approve(desk, tid, request_id=None)
    assert getattr(lost.value, "code", None) == "TASK_STATE_CONFLICT"
    assert balances(L.wallet(m.id), L.escrow(tid)) == [10_000 - 2_100, 2_100]


def test_cancel_that_raced_a_claim_refunds_what_is_free_at_commit(api, market, monkeypatch):
    m = market.merchant(10_000)
    tid = market.publish(m, task_body(reward_fen=200, slots=5))
    snapshot = task_store.get_task(tid, consistent=True)  # slots_left 5
    claim(api, market.accounts.make("worker"), tid)  # … then a claim takes one
    _stale(monkeypatch, "_load_own", snapshot)
    closed = task_service.cancel(Caller(m.id, "merchant"), tid)
    assert closed.refund_fen == 4 * 210
    assert balances(L.wallet(m.id), L.escrow(tid)) == [10_000 - 210, 210]


def test_a_stale_pause_after_a_cancel_is_409(api, market, monkeypatch):
    m = market.merchant(10_000)
    tid = market.publish(m, task_body())
    snapshot = task_store.get_task(tid, consistent=True)
    assert api.post(f"/v1/tasks/{tid}/cancel", token=m.token).status == 200
    _stale(monkeypatch, "_load_own", snapshot)
    with pytest.raises(Exception) as lost:
        task_service.pause(Caller(m.id, "merchant"), tid)
    assert getattr(lost.value, "code", None) == "TASK_STATE_CONFLICT"
    assert market.task(m, tid)["status"] == "cancelled"


def test_two_top_ups_from_one_snapshot_both_land_in_their_own_funding_rounds(api, market, monkeypatch):
    m = market.merchant(10_000)
    tid = market.publish(m, task_body(reward_fen=200, slots=10))
    snapshot = task_store.get_task(tid, consistent=True)
    assert api.post(f"/v1/tasks/{tid}/slots", {"add": 2}, token=m.token).status == 200
    _stale(monkeypatch, "_load_own", snapshot)
    task_service.add_slots(Caller(m.id, "merchant"), tid, 3)
    t = market.task(m, tid)
    assert (t["slots"], t["slots_left"]) == (15, 15)
    assert [books.get_transfer(f"escrow-fund:{tid}:{n}").amount for n in (1, 2, 3)] == [2_100, 420, 630]
    assert balances(L.wallet(m.id), L.escrow(tid)) == [10_000 - 15 * 210, 15 * 210]
