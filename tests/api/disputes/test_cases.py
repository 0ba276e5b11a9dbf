"""Who may open, read and write what: kinds and their openers, parties only (a stranger gets 404), evidence in
the caller's own upload prefix, frozen accounts (appeals only), lists, the desk's queue, and notifications."""

from __future__ import annotations

from chalicelib.domain.roles import Caller
from tests.api.disputes.conftest import (
    appeal,
    claim_and_submit,
    fresh,
    open_appeal,
    resolve,
    upload_evidence,
)
from tests.conftest import feed_stream


def test_a_stranger_cannot_read_a_case_but_its_parties_and_admins_can(api, users, rejected):
    r = rejected()
    did = open_appeal(api, r)
    for stranger in (users.make("worker"), users.make("merchant"), users.make("reviewer"), users.make("finance")):
        reply = api.get(f"/v1/disputes/{did}", token=fresh(stranger))
        assert reply.status == 404 and reply.code == "DISPUTE_NOT_FOUND", stranger.role
        assert api.post(f"/v1/disputes/{did}/messages", {"text": "路过"}, token=fresh(stranger)).status in (403, 404)
    for reader in (r.worker, r.merchant, users.make("admin")):
        reply = api.get(f"/v1/disputes/{did}", token=fresh(reader))
        assert reply.status == 200 and reply.json["id"] == did
    assert api.get("/v1/disputes/dsp_01M88VFZ00000000000000000", token=fresh(r.worker)).status == 404


def test_my_disputes_lists_both_sides_newest_first_and_pages(api, users, rejected):
    r1 = rejected()
    d1 = open_appeal(api, r1)
    r2 = rejected()
    d2 = open_appeal(api, r2)
    mine = api.get("/v1/disputes", token=fresh(r1.worker)).json
    assert [d["id"] for d in mine["items"]] == [d1] and mine["next_cursor"] is None
    assert [d["id"] for d in api.get("/v1/disputes", token=fresh(r1.merchant)).json["items"]] == [d1]
    # One worker with two appeals, paged one at a time.
    from tests.api.disputes.conftest import reject

    cid = claim_and_submit(api, r1.worker, r2.task_id)
    reject(api, r2.merchant, cid)
    d3 = appeal(api, r1.worker, cid).json["id"]
    first = api.get("/v1/disputes?limit=1", token=fresh(r1.worker)).json
    assert [d["id"] for d in first["items"]] == [d3] and first["next_cursor"]
    second = api.get(f"/v1/disputes?limit=1&cursor={first['next_cursor']}", token=fresh(r1.worker)).json
    assert [d["id"] for d in second["items"]] == [d1] and second["next_cursor"] is None
    assert d2 not in {d["id"] for d in first["items"] + second["items"]}


def test_the_desk_queue_is_for_admins_and_filters_by_status(api, users, rejected):
    r = rejected()
    did = open_appeal(api, r)
    admin = users.make("admin")
    assert did in {d["id"] for d in api.get("/v1/admin/disputes?status=open", token=fresh(admin)).json["items"]}
    assert api.get("/v1/admin/disputes?status=resolved", token=fresh(admin)).json["items"] == []
    for role in ("reviewer", "finance", "worker", "merchant"):
        reply = api.get("/v1/admin/disputes", token=fresh(users.make(role)))
        assert reply.status == 403 and reply.code == "ROLE_FORBIDDEN", role
    assert resolve(api, admin, did, "merchant_wins").status == 200
    resolved = api.get("/v1/admin/disputes?status=resolved", token=fresh(admin)).json["items"]
    assert [(d["id"], d["status"], d["outcome"]) for d in resolved] == [(did, "resolved", "merchant_wins")]
    assert api.get("/v1/admin/disputes?status=open", token=fresh(admin)).json["items"] == []


def test_fake_task_report_by_a_worker_who_claimed_the_task(api, users, publish):
    m, w = users.make("merchant"), users.make("worker")
    task_id = publish(m.id, slots=2)
    body = {"kind": "fake_task", "task_id": task_id, "description": "任务要求先垫付押金才能领取奖励"}
    never = api.post("/v1/disputes", body, token=fresh(w))
    assert never.status == 404 and never.code == "TASK_NOT_FOUND"
    cid = api.post(f"/v1/tasks/{task_id}/claims", token=fresh(w)).json["id"]
    reply = api.post("/v1/disputes", body, token=fresh(w))
    assert reply.status == 201, reply.body
    assert (reply.json["claim_id"], reply.json["respondent_id"]) == (cid, m.id)
    # Merchants do not report fake tasks; workers do not report cheating workers.
    assert api.post("/v1/disputes", {**body, "claim_id": cid}, token=fresh(m)).code == "DISPUTE_KIND_NOT_ALLOWED"
    cheat = {"kind": "worker_cheating", "claim_id": cid, "description": "截图是从网上下载的"}
    assert api.post("/v1/disputes", cheat, token=fresh(w)).code == "DISPUTE_KIND_NOT_ALLOWED"
    # One open case per claim, whatever its kind.
    other = api.post("/v1/disputes", {**cheat, "kind": "other"}, token=fresh(m))
    assert other.status == 409 and other.code == "DISPUTE_ALREADY_OPEN"


def test_worker_cheating_and_other_need_a_claim_on_the_callers_own_task(api, users, publish):
    m, w, other_m = users.make("merchant"), users.make("worker"), users.make("merchant")
    task_id = publish(m.id, slots=1)
    cid = claim_and_submit(api, w, task_id)
    cheat = {"kind": "worker_cheating", "claim_id": cid, "description": "截图是从网上下载的"}
    stranger = api.post("/v1/disputes", cheat, token=fresh(other_m))
    assert stranger.status == 404 and stranger.code == "CLAIM_NOT_FOUND"
    only_task = api.post("/v1/disputes", {**cheat, "claim_id": None, "task_id": task_id}, token=fresh(m))
    assert only_task.status == 422
    reply = api.post("/v1/disputes", cheat, token=fresh(m))
    assert reply.status == 201 and reply.json["respondent_id"] == w.id and reply.json["opener_id"] == m.id


def test_evidence_must_be_an_uploaded_file_in_the_callers_own_prefix(api, users, rejected):
    r = rejected()
    theirs = upload_evidence(api, r.merchant)
    bad = appeal(api, r.worker, r.claim_id, evidence_keys=[theirs])
    assert bad.status == 422 and bad.code == "EVIDENCE_NOT_FOUND"
    missing = appeal(api, r.worker, r.claim_id, evidence_keys=[f"uploads/{r.worker.id}/evidence/nothing.png"])
    assert missing.status == 422 and missing.code == "EVIDENCE_NOT_FOUND"
    mine = upload_evidence(api, r.worker)
    ok = appeal(api, r.worker, r.claim_id, evidence_keys=[mine])
    assert ok.status == 201 and ok.json["evidence_keys"] == [mine]
    thread = f"/v1/disputes/{ok.json['id']}/messages"
    reply = api.post(thread, {"text": "门店照片", "evidence_keys": [theirs]}, token=fresh(r.worker))
    assert reply.status == 422
    reply = api.post(thread, {"text": "门店照片", "evidence_keys": [theirs]}, token=fresh(r.merchant))
    assert reply.status == 201 and reply.json["evidence_keys"] == [theirs]


def test_a_frozen_worker_may_still_appeal_but_opens_nothing_else(api, users, rejected, publish):
    from chalicelib.services import accounts as account_service

    r = rejected()
    admin = users.make("admin")
    account_service.set_frozen(Caller(admin.id, "admin"), r.worker.id, True, reason="风控核查", request_id=None)
    token = fresh(r.worker)
    assert api.get("/v1/wallet", token=token).code == "ACCOUNT_FROZEN"
    reply = api.post(
        "/v1/disputes",
        {"kind": "appeal_rejection", "claim_id": r.claim_id, "description": "我按要求完成了任务"},
        token=token,
    )
    assert reply.status == 201, reply.body
    did = reply.json["id"]
    assert api.post(f"/v1/disputes/{did}/messages", {"text": "补充说明"}, token=token).status == 201
    assert api.get(f"/v1/disputes/{did}", token=token).status == 200
    other = api.post(
        "/v1/disputes",
        {"kind": "fake_task", "task_id": r.task_id, "description": "任务要求先垫付押金"},
        token=token,
    )
    assert other.status == 403 and other.code == "ACCOUNT_FROZEN"


def test_both_parties_are_notified_on_open_message_and_resolution(api, users, rejected):
    def kinds(account) -> list[str]:
        return sorted(n["type"] for n in api.get("/v1/notifications", token=fresh(account)).json["items"])

    r = rejected()
    did = open_appeal(api, r)
    assert api.post(f"/v1/disputes/{did}/messages", {"text": "截图不符"}, token=fresh(r.merchant)).status == 201
    assert resolve(api, users.make("admin"), did, "worker_wins").status == 200
    assert feed_stream()["batchItemFailures"] == []
    assert feed_stream()["batchItemFailures"] == []  # redelivered: nothing twice
    worker_kinds = [k for k in kinds(r.worker) if k.startswith("dispute.")]
    merchant_kinds = [k for k in kinds(r.merchant) if k.startswith("dispute.")]
    assert worker_kinds == ["dispute.message", "dispute.opened", "dispute.resolved"]
    assert merchant_kinds == ["dispute.opened", "dispute.resolved"]  # the merchant wrote the only message


def test_a_merchant_cannot_take_back_the_guarantee_while_a_case_is_open(api, users, rejected, clock):
    import pytest

    from chalicelib.domain.errors import Conflict
    from chalicelib.services import guarantee
    from chalicelib.services import tasks as task_service
    from tests.api.disputes.test_resolution import lock_guarantee

    r = rejected(slots=1)
    lock_guarantee(r.merchant.id, 2_000)
    did = open_appeal(api, r)
    assert api.post(f"/v1/disputes/{did}/messages", {"text": "截图不符"}, token=fresh(r.merchant)).status == 201
    clock.advance(3 * 86400 + 60)
    assert task_service.end_task(r.task_id, clock.now())  # no open task left, only the case
    with pytest.raises(Conflict) as err:
        guarantee.release(r.merchant.id)
    assert err.value.code == "GUARANTEE_IN_USE"
    assert resolve(api, users.make("admin"), did, "merchant_wins").status == 200
    assert guarantee.release(r.merchant.id) == 2_000
