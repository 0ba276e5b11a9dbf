"""BOLA cases for claim routes: a claim belongs to its worker (and, for review, to the task's merchant)."""

from __future__ import annotations

from tests.api.bola import Case, Made, World
from tests.api.claims.conftest import publish_task


def _claimed(world: World):
    merchant = world.users.make("merchant")
    worker = world.users.make("worker")
    task_id = publish_task(merchant.id, slots=2)
    reply = world.api.post(f"/v1/tasks/{task_id}/claims", token=worker.token)
    assert reply.status == 201, reply.body
    return merchant, worker, task_id, reply.json["id"]


def _worker_claim(world: World) -> Made:
    _, worker, _, claim_id = _claimed(world)
    return Made({"claim_id": claim_id}, worker)


def _submitted_for_merchant(world: World) -> Made:
    merchant, worker, _, claim_id = _claimed(world)
    proof = world.api.post(f"/v1/claims/{claim_id}/proof", {"text": "万达店"}, token=worker.token)
    assert proof.status == 200, proof.body
    return Made({"claim_id": claim_id}, merchant)


def _merchant_task(world: World) -> Made:
    merchant, _, task_id, _ = _claimed(world)
    return Made({"task_id": task_id}, merchant)


CASES = {
    ("GET", "/v1/claims/{claim_id}"): Case(make=_worker_claim, wrong_roles=("merchant",)),
    ("POST", "/v1/claims/{claim_id}/proof"): Case(
        make=_worker_claim, wrong_roles=("merchant",), body={"text": "万达店"}
    ),
    ("POST", "/v1/claims/{claim_id}/abandon"): Case(make=_worker_claim, wrong_roles=("merchant",)),
    ("POST", "/v1/claims/{claim_id}/accept"): Case(make=_submitted_for_merchant, wrong_roles=("worker",), body={}),
    ("POST", "/v1/claims/{claim_id}/reject"): Case(
        make=_submitted_for_merchant, wrong_roles=("worker",), body={"reason": "截图不是本店"}
    ),
    ("GET", "/v1/tasks/{task_id}/claims"): Case(make=_merchant_task, wrong_roles=("worker",)),
    ("POST", "/v1/tasks/{task_id}/claims/review"): Case(
        make=_merchant_task, wrong_roles=("worker",), body={"accept": [], "reject": []}
    ),
    ("POST", "/v1/tasks/{task_id}/claims"): Case(
        exempt="a published task is open to every eligible worker; merchants get 403 (test_claim_lifecycle)"
    ),
}


def _settled_for_worker(world: World) -> Made:
    merchant, worker, _, claim_id = _claimed(world)
    world.api.post(f"/v1/claims/{claim_id}/proof", {"text": "万达店"}, token=worker.token)
    world.api.post(f"/v1/claims/{claim_id}/accept", {}, token=merchant.token)
    return Made({"claim_id": claim_id}, worker)


CASES[("POST", "/v1/claims/{claim_id}/rate-merchant")] = Case(
    make=_settled_for_worker, wrong_roles=("merchant",), body={"rating": 5}
)
