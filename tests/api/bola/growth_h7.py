"""BOLA cases for growth routes with a path id (H7): promoting a task belongs to the task's merchant."""

from __future__ import annotations

from tests.api.bola import Case, Made, World
from tests.api.money.conftest import credit_wallet
from tests.api.tasks.conftest import draft


def _published_with_money(world: World) -> Made:
    merchant = world.users.approved_merchant()
    credit_wallet(merchant.id, 20_000)
    reply = world.api.post("/v1/tasks", draft(slots=2), token=merchant.token)
    assert reply.status == 201, reply.body
    task_id = reply.json["id"]
    assert world.api.post(f"/v1/tasks/{task_id}/submit", token=merchant.token).status == 200
    reviewer = world.users.staff("reviewer")
    approved = world.api.post(f"/v1/admin/tasks/{task_id}/approve", token=reviewer.token)
    assert approved.status == 200 and approved.json["funded"], approved.body
    return Made({"task_id": task_id}, merchant)


CASES = {
    ("POST", "/v1/tasks/{task_id}/promotion"): Case(
        make=_published_with_money, wrong_roles=("worker",), headers={"Idempotency-Key": "bola-promotion"}
    ),
}
