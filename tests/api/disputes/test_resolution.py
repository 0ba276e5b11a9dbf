"""The desk's resolution: each outcome's money through the ledger (wallets, escrow, revenue and entries), the
guarantee as payer of last resort and source of penalties, exactly one winner among concurrent resolutions,
credit applied only when the case closes, and a task whose refund waits for its open appeals."""

from __future__ import annotations

import pytest

from chalicelib.domain import disputes as D
from chalicelib.domain import ledger as L
from chalicelib.domain.errors import Conflict
from chalicelib.services import disputes as svc
from chalicelib.services import sweep
from chalicelib.store import audit as audit_store
from chalicelib.store import claims as claim_store
from chalicelib.store import disputes as dispute_store
from chalicelib.store import ledger as books
from chalicelib.store.tasks import get_task
from tests.api.disputes.conftest import (
    available,
    claim_and_submit,
    credit_wallet,
    fee_account,
    fresh,
    open_appeal,
    posted,
    reject,
    resolve,
)
from tests.conftest import feed_stream

HOUR = 3600


def entries(account: str) -> list[tuple[str, str, int]]:
    return sorted((e.transfer_id, e.code, int(e.amount)) for e in books.query_entries(account))


def lock_guarantee(merchant_id: str, amount: int) -> None:
    credit_wallet(merchant_id, amount)
    books.post(
        [
            L.Transfer(
                id=f"guarantee-lock:test-{merchant_id}",
                debit=L.wallet(merchant_id),
                credit=L.guarantee(merchant_id),
                amount=amount,
                code=L.Code.GUARANTEE_LOCK,
            )
        ]
    )


def test_admin_split_moves_exactly_the_split_amounts(api, accounts, rejected):
    r = rejected(reward=1_000)  # slot = 1,000 reward + 50 fee
    did = open_appeal(api, r)
    admin = accounts.make("admin")
    wallet_before = available(L.wallet(r.merchant.id))[0]
    reply = resolve(api, admin, did, "split", split_worker_fen=600)
    assert reply.status == 200, reply.body
    case = reply.json
    assert (case["status"], case["outcome"], case["split_worker_fen"], case["worker_paid_fen"]) == (
        "resolved",
        "split",
        600,
        600,
    )
    assert available(L.wallet(r.worker.id)) == [600]
    assert available(L.wallet(r.merchant.id))[0] - wallet_before == 450  # the rest of the slot, no fee taken
    assert available(L.escrow(r.task_id)) == [1_050]  # the other slot stays in escrow
    assert posted(fee_account(r.claim_id)) == 0
    assert entries(L.wallet(r.worker.id)) == [(f"settle:{r.claim_id}", "reward", 600)]
    assert (f"settle:{r.claim_id}:rest", "escrow_refund", 450) in entries(L.wallet(r.merchant.id))
    assert sorted(e for e in entries(L.escrow(r.task_id)) if e[0].startswith("settle:")) == [
        (f"settle:{r.claim_id}", "reward", -600),
        (f"settle:{r.claim_id}:rest", "escrow_refund", -450),
    ]
    c = claim_store.get(r.claim_id)
    assert (c.status, c.accepted_by) == ("accepted", "dispute_split")
    t = get_task(r.task_id, consistent=True)
    assert (t.open_claims, t.spent_fen) == (0, 600)


def test_split_amount_must_be_less_than_the_reward(api, accounts, rejected):
    r = rejected(reward=1_000)
    did = open_appeal(api, r)
    admin = accounts.make("admin")
    for bad in (1_000, 5_000):
        reply = resolve(api, admin, did, "split", split_worker_fen=bad)
        assert reply.status == 422 and reply.code == "DISPUTE_OUTCOME_INVALID"
    missing = resolve(api, admin, did, "split")
    assert missing.status == 422
    assert dispute_store.get(did).status == "open"


def test_worker_wins_pays_like_an_accept_and_a_penalty_compensates_from_the_guarantee(api, accounts, rejected):
    r = rejected()
    lock_guarantee(r.merchant.id, 5_000)
    did = open_appeal(api, r)
    admin = accounts.make("admin")
    reply = resolve(api, admin, did, "worker_wins", penalty_fen=300)
    assert reply.status == 200, reply.body
    assert (reply.json["worker_paid_fen"], reply.json["penalty_fen"], reply.json["paid_from"]) == (1_300, 300, "escrow")
    assert available(L.wallet(r.worker.id), L.escrow(r.task_id), L.guarantee(r.merchant.id)) == [1_300, 1_050, 4_700]
    assert posted(fee_account(r.claim_id)) == 50
    assert (f"dispute:{did}:penalty", "compensation", 300) in entries(L.wallet(r.worker.id))
    assert claim_store.get(r.claim_id).accepted_by == "dispute"
    logged = [a for a in audit_store.month("202611") if a.target_id == did]
    assert len(logged) == 1 and logged[0].action == "dispute.resolve" and logged[0].actor_id == admin.id


def test_a_penalty_larger_than_the_guarantee_fails_and_changes_nothing(api, accounts, rejected):
    r = rejected()
    lock_guarantee(r.merchant.id, 100)
    did = open_appeal(api, r)
    reply = resolve(api, accounts.make("admin"), did, "worker_wins", penalty_fen=300)
    assert reply.status == 409 and reply.code == "GUARANTEE_INSUFFICIENT"
    assert dispute_store.get(did).status == "open"
    assert claim_store.get(r.claim_id).status == "appealed"
    assert available(L.wallet(r.worker.id), L.escrow(r.task_id)) == [0, 2 * 1_050]


def test_a_penalty_only_goes_with_worker_wins(api, accounts, rejected):
    r = rejected()
    did = open_appeal(api, r)
    reply = resolve(api, accounts.make("admin"), did, "merchant_wins", penalty_fen=100)
    assert reply.status == 422 and reply.code == "DISPUTE_OUTCOME_INVALID"


def test_merchant_wins_upholds_the_rejection_and_returns_the_slot_to_an_open_task(api, accounts, rejected):
    r = rejected()
    did = open_appeal(api, r)
    assert get_task(r.task_id, consistent=True).slots_left == 1
    reply = resolve(api, accounts.make("admin"), did, "merchant_wins")
    assert reply.status == 200 and reply.json["worker_paid_fen"] == 0
    c = claim_store.get(r.claim_id)
    assert c.status == "rejected" and c.settled_at
    t = get_task(r.task_id, consistent=True)
    assert (t.slots_left, t.open_claims) == (2, 0)
    assert available(L.wallet(r.worker.id), L.escrow(r.task_id)) == [0, 2 * 1_050]


def test_merchant_silent_and_escrow_gone_the_guarantee_pays(api, rejected, clock):
    r = rejected(slots=1)
    lock_guarantee(r.merchant.id, 2_000)
    did = open_appeal(api, r)
    # The escrow was drained by some other path (an operator's adjustment): the appeal is still owed.
    books.post(
        [
            L.Transfer(
                id=f"adjust:test-{r.task_id}",
                debit=L.escrow(r.task_id),
                credit=L.wallet(r.merchant.id),
                amount=1_050,
                code=L.Code.ADJUSTMENT,
            )
        ]
    )
    clock.advance(48 * HOUR + 1)
    assert sweep.sweep_deadlines()["disputes_auto_resolved"] == 1
    case = dispute_store.get(did)
    assert (case.outcome, case.paid_from, case.resolved_by) == ("worker_wins", "guarantee", "sla")
    assert available(L.wallet(r.worker.id), L.guarantee(r.merchant.id)) == [1_000, 950]
    assert posted(fee_account(r.claim_id)) == 50


def test_an_unfunded_automatic_loss_is_escalated_to_the_desk_once(api, rejected, clock):
    r = rejected(slots=1)
    did = open_appeal(api, r)
    books.post(
        [
            L.Transfer(
                id=f"adjust:test-{r.task_id}",
                debit=L.escrow(r.task_id),
                credit=L.wallet(r.merchant.id),
                amount=1_050,
                code=L.Code.ADJUSTMENT,
            )
        ]
    )
    clock.advance(48 * HOUR + 1)
    counts = sweep.sweep_deadlines()
    assert (counts["disputes_auto_resolved"], counts["disputes_escalated"]) == (0, 1)
    case = dispute_store.get(did)
    assert case.status == "open" and case.sla_missed and case.GSI2PK is None
    assert sweep.sweep_deadlines()["disputes_escalated"] == 0


def test_resolving_twice_yields_exactly_one_resolution(api, accounts, rejected):
    r = rejected()
    did = open_appeal(api, r)
    admin = accounts.make("admin")
    first = resolve(api, admin, did, "worker_wins")
    second = resolve(api, admin, did, "worker_wins")
    assert first.status == 200 and second.status == 409 and second.code == "DISPUTE_STATE_CONFLICT"
    assert available(L.wallet(r.worker.id)) == [1_000]


@pytest.mark.parametrize(
    ("winner", "loser"),
    [
        ("worker_wins", "worker_wins"),  # the loser's settlement is a replay of the winner's transfer ids
        ("worker_wins", "merchant_wins"),
        ("merchant_wins", "split"),
        ("split", "worker_wins"),
    ],
)
def test_a_resolution_racing_on_a_stale_read_loses_and_moves_no_money(api, accounts, rejected, winner, loser):
    r = rejected(slots=1)
    did = open_appeal(api, r)
    admin = accounts.make("admin")
    stale = dispute_store.get(did)  # both desks read the case open
    assert resolve(api, admin, did, winner, split_worker_fen=500 if winner == "split" else None).status == 200
    books_before = available(L.wallet(r.worker.id), L.wallet(r.merchant.id), L.escrow(r.task_id))
    plan = D.plan(
        D.Kind.APPEAL_REJECTION,
        D.Outcome(loser),
        reward_fen=1_000,
        penalty_fen=None,
        split_worker_fen=500 if loser == "split" else None,
    )
    with pytest.raises(Conflict) as err:
        svc._close(stale, plan, by=admin.caller, note="另一位管理员的裁决", request_id=None)
    assert err.value.code == "DISPUTE_STATE_CONFLICT"
    assert available(L.wallet(r.worker.id), L.wallet(r.merchant.id), L.escrow(r.task_id)) == books_before
    assert dispute_store.get(did).outcome == winner
    assert len([a for a in audit_store.month("202611") if a.target_id == did]) == 1


def test_sla_and_desk_racing_resolve_once(api, accounts, rejected, clock):
    r = rejected()
    did = open_appeal(api, r)
    stale = dispute_store.get(did)
    clock.advance(48 * HOUR + 1)
    assert resolve(api, accounts.make("admin"), did, "merchant_wins").status == 200
    assert svc.handle_due(stale, clock.now()) == "skipped"
    assert available(L.wallet(r.worker.id)) == [0]


def test_credit_changes_only_after_the_case_closes(api, accounts, rejected, clock):
    def score(account) -> int:
        return api.get("/v1/me/credit", token=fresh(account)).json["score"]

    lost, won = rejected(), rejected()
    lost_case, won_case = open_appeal(api, lost), open_appeal(api, won)
    for r, did in ((lost, lost_case), (won, won_case)):  # the merchants answer: no automatic outcome
        assert api.post(f"/v1/disputes/{did}/messages", {"text": "截图不符"}, token=fresh(r.merchant)).status == 201
    assert feed_stream()["batchItemFailures"] == []
    before = (score(lost.worker), score(won.worker))
    clock.advance(72 * HOUR + 1)  # past the appeal window: an appealed claim is not finalized by the sweep
    sweep.sweep_deadlines()
    assert feed_stream()["batchItemFailures"] == []
    assert (score(lost.worker), score(won.worker)) == before
    admin = accounts.make("admin")
    assert resolve(api, admin, lost_case, "merchant_wins").status == 200
    assert resolve(api, admin, won_case, "worker_wins").status == 200
    assert feed_stream()["batchItemFailures"] == []
    assert (score(lost.worker), score(won.worker)) == (before[0] - 5, before[1] + 1)


def test_a_split_neither_counts_the_rejection_nor_the_task(api, accounts, rejected):
    r = rejected()
    did = open_appeal(api, r)
    assert feed_stream()["batchItemFailures"] == []
    before = api.get("/v1/me/credit", token=fresh(r.worker)).json["score"]
    assert resolve(api, accounts.make("admin"), did, "split", split_worker_fen=500).status == 200
    assert feed_stream()["batchItemFailures"] == []
    assert api.get("/v1/me/credit", token=fresh(r.worker)).json["score"] == before


def test_upheld_cheating_report_costs_the_worker_credit_when_it_closes(api, accounts, publish):
    m, w = accounts.make("merchant"), accounts.make("worker")
    task_id = publish(m.id, slots=1)
    cid = claim_and_submit(api, w, task_id)
    api.post(f"/v1/claims/{cid}/accept", {}, token=fresh(m))
    report = api.post(
        "/v1/disputes",
        {"kind": "worker_cheating", "claim_id": cid, "description": "截图是从网上下载的"},
        token=fresh(m),
    )
    assert report.status == 201, report.body
    assert feed_stream()["batchItemFailures"] == []
    before = api.get("/v1/me/credit", token=fresh(w)).json["score"]
    assert resolve(api, accounts.make("admin"), report.json["id"], "merchant_wins").status == 200
    assert feed_stream()["batchItemFailures"] == []
    assert api.get("/v1/me/credit", token=fresh(w)).json["score"] == before - 5


def test_a_task_cannot_finish_its_refund_while_an_appeal_is_open(api, accounts, rejected, clock):
    from chalicelib.services import tasks as task_service

    r = rejected(slots=2)
    w2 = accounts.make("worker")
    cid2 = claim_and_submit(api, w2, r.task_id)
    api.post(f"/v1/claims/{cid2}/accept", {}, token=fresh(r.merchant))
    did = open_appeal(api, r)
    clock.advance(3 * 86400 + 60)
    assert task_service.end_task(r.task_id, clock.now())  # only free slots are refunded (none here)
    assert feed_stream()["batchItemFailures"] == []
    t = get_task(r.task_id, consistent=True)
    assert t.status == "expired" and t.open_claims == 1
    assert available(L.escrow(r.task_id)) == [1_050]  # the appealed slot is still held
    wallet_before = available(L.wallet(r.merchant.id))[0]
    assert resolve(api, accounts.make("admin"), did, "merchant_wins").status == 200
    assert available(L.escrow(r.task_id)) == [0]
    assert available(L.wallet(r.merchant.id))[0] - wallet_before == 1_050
    assert get_task(r.task_id, consistent=True).open_claims == 0


def test_a_task_completes_only_once_its_appeal_is_paid(api, accounts, rejected):
    r = rejected(slots=2)
    w2 = accounts.make("worker")
    cid2 = claim_and_submit(api, w2, r.task_id)
    api.post(f"/v1/claims/{cid2}/accept", {}, token=fresh(r.merchant))
    did = open_appeal(api, r)
    assert feed_stream()["batchItemFailures"] == []
    t = get_task(r.task_id, consistent=True)
    assert (t.status, t.slots_left, t.open_claims) == ("published", 0, 1)  # nothing free, one appeal open
    assert resolve(api, accounts.make("admin"), did, "worker_wins").status == 200
    assert feed_stream()["batchItemFailures"] == []
    t = get_task(r.task_id, consistent=True)
    assert t.status == "completed" and available(L.escrow(r.task_id)) == [0]


def test_rejection_helper_is_reusable(api, accounts, publish):
    """A second rejection on the same task appeals independently (one open case per claim, not per task)."""
    m = accounts.make("merchant")
    w1, w2 = accounts.make("worker"), accounts.make("worker")
    task_id = publish(m.id, slots=2)
    cids = [claim_and_submit(api, w, task_id) for w in (w1, w2)]
    for cid in cids:
        reject(api, m, cid)
    for w, cid in zip((w1, w2), cids, strict=True):
        reply = api.post(
            "/v1/disputes",
            {"kind": "appeal_rejection", "claim_id": cid, "description": "我按要求完成了任务"},
            token=fresh(w),
        )
        assert reply.status == 201, reply.body
