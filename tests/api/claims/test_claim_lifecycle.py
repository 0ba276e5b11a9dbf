"""Claims through the HTTP API: claim → proof → accept/reject, abandon, limits, money and counters."""

from __future__ import annotations

from chalicelib.domain import ledger as L
from chalicelib.store import ledger as books
from chalicelib.store.tasks import TaskItem


def task(task_id: str) -> TaskItem:
    from chalicelib.store.tasks import get_task

    return get_task(task_id, consistent=True)


def balances(*accounts):
    got = books.get_balances(list(accounts))
    return [got[a].available for a in accounts]


def claim(api, worker, task_id):
    return api.post(f"/v1/tasks/{task_id}/claims", token=worker.token, headers={"X-Device-Id": "dev-abc"})


def prove(api, worker, claim_id, **body):
    return api.post(f"/v1/claims/{claim_id}/proof", {"text": "万达店", **body}, token=worker.token)


def test_claim_prove_accept_pays_reward_and_fee_from_escrow(api, accounts, publish):
    m, w = accounts.make("merchant"), accounts.make("worker")
    task_id = publish(m.id, slots=3, reward=1_000)  # unit = 1,050
    c = claim(api, w, task_id)
    assert c.status == 201, c.body
    cid = c.json["id"]
    assert c.json["status"] == "claimed" and c.json["deadline_at"] == "2026-11-25T09:00:00.000000Z"
    t = task(task_id)
    assert (t.slots_left, t.open_claims, t.claimed_count) == (2, 1, 1)
    p = prove(api, w, cid)
    assert p.status == 200 and p.json["status"] == "submitted", p.body
    ok = api.post(f"/v1/claims/{cid}/accept", {"rating": 5}, token=m.token)
    assert ok.status == 200 and ok.json["status"] == "accepted" and ok.json["rating"] == 5
    fee_acct = L.fee_revenue(f"settle:{cid}")
    assert balances(L.wallet(w.id), L.escrow(task_id)) == [1_000, 2 * 1_050]
    assert books.get_balances([fee_acct])[fee_acct].posted == 50
    t = task(task_id)
    assert (t.open_claims, t.accepted_count, t.spent_fen) == (0, 1, 1_050)
    assert api.get("/v1/wallet", token=m.token).json["frozen_fen"] == 2 * 1_050
    again = api.post(f"/v1/claims/{cid}/accept", {}, token=m.token)
    assert again.status == 409 and again.code == "CLAIM_STATE_CONFLICT"
    assert balances(L.wallet(w.id)) == [1_000]


def test_claiming_twice_and_exhausted_slots(api, accounts, publish):
    m = accounts.make("merchant")
    w1, w2 = accounts.make("worker"), accounts.make("worker")
    task_id = publish(m.id, slots=1)
    assert claim(api, w1, task_id).status == 201
    twice = claim(api, w1, task_id)
    assert twice.status == 409 and twice.code == "ALREADY_CLAIMED"
    full = claim(api, w2, task_id)
    assert full.status == 409 and full.code == "SLOTS_EXHAUSTED"


def test_open_claims_are_capped_per_worker(api, accounts, publish):
    m, w = accounts.make("merchant"), accounts.make("worker")
    tasks = [publish(m.id, slots=1) for _ in range(6)]
    for t in tasks[:5]:
        assert claim(api, w, t).status == 201
    sixth = claim(api, w, tasks[5])
    assert sixth.status == 409 and sixth.code == "TOO_MANY_OPEN_CLAIMS"
    assert task(tasks[5]).slots_left == 1


def test_abandon_gives_the_slot_back(api, accounts, publish):
    m, w, w2 = accounts.make("merchant"), accounts.make("worker"), accounts.make("worker")
    task_id = publish(m.id, slots=1)
    cid = claim(api, w, task_id).json["id"]
    out = api.post(f"/v1/claims/{cid}/abandon", token=w.token)
    assert out.status == 200 and out.json["status"] == "abandoned"
    assert task(task_id).slots_left == 1
    assert claim(api, w2, task_id).status == 201


def test_reject_holds_escrow_until_the_appeal_window_closes(api, accounts, publish, clock):
    from chalicelib.services import claims as svc
    from chalicelib.store import claims as store

    m, w = accounts.make("merchant"), accounts.make("worker")
    task_id = publish(m.id, slots=1, reward=1_000)
    cid = claim(api, w, task_id).json["id"]
    prove(api, w, cid)
    no_reason = api.post(f"/v1/claims/{cid}/reject", {"reason": ""}, token=m.token)
    assert no_reason.status == 422
    r = api.post(f"/v1/claims/{cid}/reject", {"reason": "截图不是本店"}, token=m.token)
    assert r.status == 200 and r.json["status"] == "rejected" and r.json["reject_reason"] == "截图不是本店"
    t = task(task_id)
    assert (t.slots_left, t.open_claims, t.rejected_count) == (0, 1, 1)  # still held for a possible appeal
    assert balances(L.escrow(task_id)) == [1_050]
    clock.advance(72 * 3600 + 1)
    assert svc.close_appeal_window(store.get(cid))
    t = task(task_id)
    assert (t.slots_left, t.open_claims) == (1, 0)  # the slot is back in the hall
    assert balances(L.escrow(task_id)) == [1_050]


def test_proof_requirements_and_geofence(api, accounts, publish):
    m, w = accounts.make("merchant"), accounts.make("worker")
    gps = {"lat": 31.2304, "lng": 121.4737, "radius_m": 200}
    task_id = publish(m.id, proof={"text": "门店名称", "order_no": True, "gps": gps})
    cid = claim(api, w, task_id).json["id"]
    missing = api.post(f"/v1/claims/{cid}/proof", {}, token=w.token)
    assert missing.status == 422 and missing.code == "PROOF_INCOMPLETE"
    assert set(missing.json["error"]["details"]["fields"]) == {"text", "order_no", "location"}
    far = prove(api, w, cid, order_no="A1", location={"lat": 31.30, "lng": 121.4737})
    assert far.status == 422 and far.code == "OUTSIDE_GEOFENCE"
    near = prove(api, w, cid, order_no="A1", location={"lat": 31.2310, "lng": 121.4740})
    assert near.status == 200 and near.json["proof"]["distance_m"] < 200


def test_other_people_get_404(api, accounts, publish):
    m, w = accounts.make("merchant"), accounts.make("worker")
    other_m, other_w = accounts.make("merchant"), accounts.make("worker")
    task_id = publish(m.id)
    cid = claim(api, w, task_id).json["id"]
    prove(api, w, cid)
    assert api.get(f"/v1/claims/{cid}", token=other_w.token).status == 404
    assert api.post(f"/v1/claims/{cid}/accept", {}, token=other_m.token).status == 404
    assert api.post(f"/v1/claims/{cid}/reject", {"reason": "不合格的"}, token=other_m.token).status == 404
    assert api.get(f"/v1/tasks/{task_id}/claims", token=other_m.token).status == 404
    assert api.post(f"/v1/claims/{cid}/accept", {}, token=w.token).status == 403  # workers cannot review
    assert api.get(f"/v1/claims/{cid}", token=m.token).status == 200


def test_lists_and_batch_review(api, accounts, publish):
    m = accounts.make("merchant")
    workers = [accounts.make("worker") for _ in range(3)]
    task_id = publish(m.id, slots=3)
    cids = []
    for w in workers:
        cid = claim(api, w, task_id).json["id"]
        prove(api, w, cid)
        cids.append(cid)
    mine = api.get("/v1/me/claims?status=submitted", token=workers[0].token).json["items"]
    assert [c["id"] for c in mine] == [cids[0]]
    out = api.post(
        f"/v1/tasks/{task_id}/claims/review",
        {"accept": [*cids[:2], "clm_NOPE"], "reject": [{"id": cids[2], "reason": "内容不符"}]},
        token=m.token,
    )
    assert out.status == 200
    assert [(r["id"], r["ok"], r["status"] or r["code"]) for r in out.json["results"]] == [
        (cids[0], True, "accepted"),
        (cids[1], True, "accepted"),
        ("clm_NOPE", False, "CLAIM_NOT_FOUND"),
        (cids[2], True, "rejected"),
    ]
    listed = api.get(f"/v1/tasks/{task_id}/claims?status=accepted", token=m.token).json["items"]
    assert sorted(c["id"] for c in listed) == sorted(cids[:2])


def test_worker_rates_the_merchant_once_after_settlement(api, accounts, publish):
    from chalicelib.store import merchant_stats

    m, w = accounts.make("merchant"), accounts.make("worker")
    task_id = publish(m.id, slots=1)
    cid = claim(api, w, task_id).json["id"]
    prove(api, w, cid)
    early = api.post(f"/v1/claims/{cid}/rate-merchant", {"rating": 5}, token=w.token)
    assert early.status == 409 and early.code == "NOT_SETTLED"
    api.post(f"/v1/claims/{cid}/accept", {}, token=m.token)
    assert api.post(f"/v1/claims/{cid}/rate-merchant", {"rating": 4}, token=w.token).status == 200
    twice = api.post(f"/v1/claims/{cid}/rate-merchant", {"rating": 1}, token=w.token)
    assert twice.status == 409 and twice.code == "ALREADY_RATED"
    stats = merchant_stats.get(m.id)
    assert (stats.average_rating, stats.reviewed_count, stats.reject_rate) == (4.0, 1, 0.0)


def test_illegal_claim_transitions_are_409_with_a_stable_code(api, accounts, publish):
    m, w = accounts.make("merchant"), accounts.make("worker")
    task_id = publish(m.id, slots=3)
    cid = claim(api, w, task_id).json["id"]
    # claimed: cannot be accepted or rejected yet
    assert api.post(f"/v1/claims/{cid}/accept", {}, token=m.token).code == "CLAIM_STATE_CONFLICT"
    assert api.post(f"/v1/claims/{cid}/reject", {"reason": "不合格的"}, token=m.token).code == "CLAIM_STATE_CONFLICT"
    prove(api, w, cid)
    # submitted: cannot be proved again or abandoned
    assert prove(api, w, cid).code == "CLAIM_STATE_CONFLICT"
    assert api.post(f"/v1/claims/{cid}/abandon", token=w.token).code == "CLAIM_STATE_CONFLICT"
    api.post(f"/v1/claims/{cid}/accept", {}, token=m.token)
    # accepted: final
    for reply in (
        api.post(f"/v1/claims/{cid}/reject", {"reason": "不合格的"}, token=m.token),
        api.post(f"/v1/claims/{cid}/accept", {}, token=m.token),
        api.post(f"/v1/claims/{cid}/abandon", token=w.token),
        prove(api, w, cid),
    ):
        assert reply.status == 409 and reply.code == "CLAIM_STATE_CONFLICT", reply.body
    w2 = accounts.make("worker")
    c2 = claim(api, w2, task_id).json["id"]
    api.post(f"/v1/claims/{c2}/abandon", token=w2.token)
    # abandoned: final, and the same worker cannot claim the task again
    assert prove(api, w2, c2).code == "CLAIM_STATE_CONFLICT"
    assert claim(api, w2, task_id).code == "ALREADY_CLAIMED"
