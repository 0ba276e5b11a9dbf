"""BOLA cases for dispute routes: a case belongs to its two parties (others get 404); the desk's resolve is for
admins only (the parties and the other desk roles get 403)."""

from __future__ import annotations

from tests.api.bola import Case, Made, World
from tests.api.claims.conftest import publish_task


def _appeal(world: World):
    merchant = world.users.make("merchant")
    worker = world.users.make("worker")
    task_id = publish_task(merchant.id, slots=2)
    claim = world.api.post(f"/v1/tasks/{task_id}/claims", token=worker.token)
    assert claim.status == 201, claim.body
    cid = claim.json["id"]
    assert world.api.post(f"/v1/claims/{cid}/proof", {"text": "万达店"}, token=worker.token).status == 200
    assert world.api.post(f"/v1/claims/{cid}/reject", {"reason": "截图不符"}, token=merchant.token).status == 200
    case = world.api.post(
        "/v1/disputes",
        {"kind": "appeal_rejection", "claim_id": cid, "description": "我按要求完成了任务"},
        token=worker.token,
    )
    assert case.status == 201, case.body
    return merchant, worker, case.json["id"]


def _worker_case(world: World) -> Made:
    _, worker, dispute_id = _appeal(world)
    return Made({"dispute_id": dispute_id}, worker)


def _merchant_case(world: World) -> Made:
    merchant, _, dispute_id = _appeal(world)
    return Made({"dispute_id": dispute_id}, merchant)


CASES = {
    ("GET", "/v1/disputes/{dispute_id}"): Case(make=_worker_case, wrong_roles=("merchant", "reviewer", "finance")),
    ("POST", "/v1/disputes/{dispute_id}/messages"): Case(
        make=_merchant_case, wrong_roles=("worker", "reviewer", "admin"), body={"text": "截图的门店地址不对"}
    ),
    ("POST", "/v1/admin/disputes/{dispute_id}/resolve"): Case(
        make=_worker_case,
        intruder="staff:admin",
        owner_ok=False,
        wrong_roles=("merchant", "reviewer", "finance"),
        body={"outcome": "merchant_wins", "note": "核对截图后裁决"},
    ),
}
