"""Appeals through the HTTP API: opening one inside the 72 h window, the merchant's 48 h SLA driven by the stage
clock and the deadline sweep, and the escrow that stays held until the case closes."""

from __future__ import annotations

from chalicelib.domain import ledger as L
from chalicelib.services import schedules, sweep
from chalicelib.store import claims as claim_store
from chalicelib.store import disputes as dispute_store
from chalicelib.store.tasks import get_task
from tests.api.disputes.conftest import (
    appeal,
    available,
    fee_account,
    fresh,
    open_appeal,
    posted,
)

HOUR = 3600


def test_appeal_moves_the_claim_to_appealed_and_keeps_its_escrow_held(api, rejected):
    r = rejected()
    reply = appeal(api, r.worker, r.claim_id)
    assert reply.status == 201, reply.body
    case = reply.json
    assert (case["kind"], case["status"], case["claim_id"], case["task_id"]) == (
        "appeal_rejection",
        "open",
        r.claim_id,
        r.task_id,
    )
    assert (case["opener_id"], case["respondent_id"]) == (r.worker.id, r.merchant.id)
    assert case["sla_due_at"] == "2026-11-27T08:00:00.000000Z"
    c = api.get(f"/v1/claims/{r.claim_id}", token=fresh(r.worker)).json
    assert c["status"] == "appealed" and c["deadline_at"] is None
    assert available(L.escrow(r.task_id)) == [2 * 1_050]
    assert get_task(r.task_id, consistent=True).open_claims == 1


def test_merchant_silent_past_the_sla_loses_the_appeal_and_the_worker_is_paid(api, rejected, clock):
    r = rejected()
    did = open_appeal(api, r)
    clock.advance(48 * HOUR - 60)
    assert sweep.sweep_deadlines()["disputes_auto_resolved"] == 0
    assert api.get(f"/v1/disputes/{did}", token=fresh(r.worker)).json["status"] == "open"
    clock.advance(120)
    assert "deadline_sweep" in schedules.run_due()
    case = api.get(f"/v1/disputes/{did}", token=fresh(r.worker)).json
    assert (case["status"], case["outcome"], case["worker_paid_fen"], case["paid_from"]) == (
        "resolved",
        "worker_wins",
        1_000,
        "escrow",
    )
    assert api.get(f"/v1/claims/{r.claim_id}", token=fresh(r.worker)).json["status"] == "accepted"
    # Exactly like an accept: reward to the worker, fee to revenue, both out of the escrow.
    assert available(L.wallet(r.worker.id), L.escrow(r.task_id)) == [1_000, 1_050]
    assert posted(fee_account(r.claim_id)) == 50
    t = get_task(r.task_id, consistent=True)
    assert (t.open_claims, t.accepted_count, t.spent_fen) == (0, 1, 1_050)
    # A second run pays nothing more.
    assert sweep.sweep_deadlines()["disputes_auto_resolved"] == 0
    assert available(L.wallet(r.worker.id)) == [1_000]


def test_merchant_answering_in_time_prevents_the_automatic_loss(api, rejected, clock):
    r = rejected()
    did = open_appeal(api, r)
    clock.advance(47 * HOUR)
    msg = api.post(f"/v1/disputes/{did}/messages", {"text": "截图的门店地址不对"}, token=fresh(r.merchant))
    assert msg.status == 201, msg.body
    assert msg.json["author_role"] == "merchant"
    clock.advance(2 * HOUR)
    counts = sweep.sweep_deadlines()
    assert counts["disputes_auto_resolved"] == 0 and counts["disputes_escalated"] == 0
    case = api.get(f"/v1/disputes/{did}", token=fresh(r.worker)).json
    assert case["status"] == "answered" and case["answered_at"] and case["outcome"] is None
    assert [m["text"] for m in case["messages"]] == ["截图的门店地址不对"]
    assert api.get(f"/v1/claims/{r.claim_id}", token=fresh(r.worker)).json["status"] == "appealed"
    assert available(L.wallet(r.worker.id), L.escrow(r.task_id)) == [0, 2 * 1_050]
    assert dispute_store.get(did).GSI2PK is None  # off the deadline index


def test_the_workers_own_messages_do_not_count_as_the_merchants_answer(api, rejected, clock):
    r = rejected()
    did = open_appeal(api, r)
    assert api.post(f"/v1/disputes/{did}/messages", {"text": "补充说明"}, token=fresh(r.worker)).status == 201
    clock.advance(48 * HOUR + 1)
    assert sweep.sweep_deadlines()["disputes_auto_resolved"] == 1


def test_a_merchant_answer_after_the_sla_does_not_save_the_appeal(api, rejected, clock):
    r = rejected()
    did = open_appeal(api, r)
    clock.advance(48 * HOUR + 30)  # past the SLA, before the sweep's next tick
    late = api.post(f"/v1/disputes/{did}/messages", {"text": "现在才看到"}, token=fresh(r.merchant))
    assert late.status == 201  # kept in the thread
    assert api.get(f"/v1/disputes/{did}", token=fresh(r.merchant)).json["status"] == "open"
    assert sweep.sweep_deadlines()["disputes_auto_resolved"] == 1
    assert available(L.wallet(r.worker.id)) == [1_000]


def test_appeal_after_72_hours_is_refused_with_a_stable_code(api, rejected, clock):
    r = rejected()
    clock.advance(72 * HOUR + 1)  # the window closed; the sweep has not run yet
    late = appeal(api, r.worker, r.claim_id)
    assert late.status == 409 and late.code == "APPEAL_WINDOW_CLOSED"
    sweep.sweep_deadlines()  # the rejection becomes final
    c = claim_store.get(r.claim_id)
    assert c.status == "rejected" and c.settled_at
    again = appeal(api, r.worker, r.claim_id)
    assert again.status == 409 and again.code == "APPEAL_WINDOW_CLOSED"


def test_an_appeal_just_inside_the_window_is_accepted(api, rejected, clock):
    r = rejected()
    clock.advance(72 * HOUR - 1)
    assert appeal(api, r.worker, r.claim_id).status == 201
    clock.advance(2)
    counts = sweep.sweep_deadlines()
    assert counts["appeals_closed"] == 0  # the appealed claim left the window's index
    assert claim_store.get(r.claim_id).status == "appealed"


def test_a_sweep_that_finalized_the_rejection_first_wins_over_a_stale_appeal(api, rejected, clock):
    """The appeal was validated on a read from before the sweep; its condition refuses the write."""
    from chalicelib.services import claims as claim_service
    from chalicelib.store import tx

    r = rejected()
    stale = claim_store.get(r.claim_id)
    from chalicelib.adapters import clock as stage_clock

    op = claim_service.appeal_ops(stale, stage_clock.now())
    assert claim_service.close_appeal_window(stale)  # the sweep gets there first
    t = tx.Tx()
    op(t)
    try:
        t.commit()
    except tx.TxCancelled as exc:
        assert exc.failed_label("claim")
    else:
        raise AssertionError("a finalized rejection was appealed")


def test_appeal_illegal_transitions_are_409(api, accounts, rejected, publish):
    from tests.api.disputes.conftest import claim_and_submit, resolve

    r = rejected()
    did = open_appeal(api, r)
    twice = appeal(api, r.worker, r.claim_id)
    assert twice.status == 409 and twice.code == "DISPUTE_ALREADY_OPEN"
    # A submission that was never rejected cannot be appealed.
    w2 = accounts.make("worker")
    cid2 = claim_and_submit(api, w2, r.task_id)
    pending = appeal(api, w2, cid2)
    assert pending.status == 409 and pending.code == "CLAIM_STATE_CONFLICT"
    # Only the worker appeals a rejection.
    merchant_try = api.post(
        "/v1/disputes",
        {"kind": "appeal_rejection", "claim_id": r.claim_id, "description": "商家也想申诉"},
        token=fresh(r.merchant),
    )
    assert merchant_try.status == 422 and merchant_try.code == "DISPUTE_KIND_NOT_ALLOWED"
    admin = accounts.make("admin")
    assert resolve(api, admin, did, "merchant_wins").status == 200
    again = resolve(api, admin, did, "worker_wins")
    assert again.status == 409 and again.code == "DISPUTE_STATE_CONFLICT"
    closed = api.post(f"/v1/disputes/{did}/messages", {"text": "还有话说"}, token=fresh(r.worker))
    assert closed.status == 409 and closed.code == "DISPUTE_CLOSED"
    # The rejection is final now: no second appeal.
    after = appeal(api, r.worker, r.claim_id)
    assert after.status == 409 and after.code == "APPEAL_WINDOW_CLOSED"
