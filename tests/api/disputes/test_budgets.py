"""Operation budgets of the dispute routes, measured warm and held as assertions; no route may Scan."""

from __future__ import annotations

from tests.api.disputes.conftest import fresh, resolve
from tests.opcount import count_ops


def test_dispute_routes_stay_within_their_read_and_write_budgets(api, users, rejected):
    r = rejected()
    worker_token, merchant_token = fresh(r.worker), fresh(r.merchant)
    api.get("/v1/wallet", token=worker_token)  # warm sessions, as a warm Lambda has them
    api.get("/v1/wallet", token=merchant_token)
    body = {"kind": "appeal_rejection", "claim_id": r.claim_id, "description": "我按要求完成了任务"}
    with count_ops() as opened:
        reply = api.post("/v1/disputes", body, token=worker_token)
    assert reply.status == 201, reply.body
    did = reply.json["id"]
    with count_ops() as read:
        assert api.get(f"/v1/disputes/{did}", token=worker_token).status == 200
    with count_ops() as listed:
        assert api.get("/v1/disputes", token=worker_token).status == 200
    with count_ops() as answered:
        assert api.post(f"/v1/disputes/{did}/messages", {"text": "截图不符"}, token=merchant_token).status == 201
    admin = users.make("admin")
    admin_token = fresh(admin)
    api.get("/v1/admin/disputes", token=admin_token)
    with count_ops() as resolved:
        assert resolve(api, admin, did, "worker_wins").status == 200
    for name, ops in (("open", opened), ("get", read), ("list", listed), ("message", answered), ("resolve", resolved)):
        print(f"{name}:", ops.summary())
        assert ops.ops["Scan"] == 0
    assert opened.ops["TransactWriteItems"] == 1 and opened.reads <= 1, opened.summary()
    assert read.reads == 1 and read.ops["Query"] == 1, read.summary()
    assert listed.reads <= 2, listed.summary()
    assert answered.ops["TransactWriteItems"] == 1 and answered.reads <= 1, answered.summary()
    assert resolved.ops["TransactWriteItems"] == 1 and resolved.reads <= 6, resolved.summary()
