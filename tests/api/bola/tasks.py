"""BOLA cases for task routes: a task belongs to its merchant; the review queue is the desk's."""

from __future__ import annotations

from tests.api.bola import Case, Made, World
from tests.api.money.conftest import credit_wallet
from tests.api.tasks.conftest import draft


def _draft_task(world: World) -> Made:
    merchant = world.users.approved_merchant()
    reply = world.api.post("/v1/tasks", draft(slots=2), token=merchant.token)
    assert reply.status == 201, reply.body
    return Made({"task_id": reply.json["id"]}, merchant)


def _submitted(world: World) -> tuple[object, str]:
    made = _draft_task(world)
    reply = world.api.post(f"/v1/tasks/{made.params['task_id']}/submit", token=made.owner.token)
    assert reply.status == 200, reply.body
    return made.owner, made.params["task_id"]


def _pending_review(world: World) -> Made:
    merchant, task_id = _submitted(world)
    return Made({"task_id": task_id}, merchant)


def _published(world: World) -> Made:
    merchant, task_id = _submitted(world)
    credit_wallet(merchant.id, 10_000)
    reviewer = world.users.staff("reviewer")
    reply = world.api.post(f"/v1/admin/tasks/{task_id}/approve", token=reviewer.token)
    assert reply.status == 200, reply.body
    return Made({"task_id": task_id}, merchant)


def _paused(world: World) -> Made:
    made = _published(world)
    reply = world.api.post(f"/v1/tasks/{made.params['task_id']}/pause", token=made.owner.token)
    assert reply.status == 200, reply.body
    return made


def _unfunded(world: World) -> Made:
    merchant, task_id = _submitted(world)
    reviewer = world.users.staff("reviewer")
    reply = world.api.post(f"/v1/admin/tasks/{task_id}/approve", token=reviewer.token)
    assert reply.status == 200, reply.body
    credit_wallet(merchant.id, 10_000)
    return Made({"task_id": task_id}, merchant)


_OWN = {"wrong_roles": ("worker",)}
_DESK = {"intruder": "staff:reviewer", "wrong_roles": ("worker", "merchant", "finance"), "owner_ok": False}

CASES = {
    ("GET", "/v1/tasks/{task_id}"): Case(make=_draft_task, **_OWN),
    ("GET", "/v1/tasks/{task_id}/stats"): Case(make=_published, **_OWN),
    ("PATCH", "/v1/tasks/{task_id}"): Case(make=_draft_task, body={"reward_fen": 300}, **_OWN),
    ("POST", "/v1/tasks/{task_id}/submit"): Case(make=_draft_task, **_OWN),
    ("POST", "/v1/tasks/{task_id}/pause"): Case(make=_published, **_OWN),
    ("POST", "/v1/tasks/{task_id}/resume"): Case(make=_paused, **_OWN),
    ("POST", "/v1/tasks/{task_id}/cancel"): Case(make=_published, **_OWN),
    ("POST", "/v1/tasks/{task_id}/slots"): Case(make=_published, body={"add": 1}, **_OWN),
    ("POST", "/v1/tasks/{task_id}/fund"): Case(make=_unfunded, **_OWN),
    ("POST", "/v1/admin/tasks/{task_id}/approve"): Case(make=_pending_review, **_DESK),
    ("POST", "/v1/admin/tasks/{task_id}/reject"): Case(make=_pending_review, body={"reason": "描述不清楚"}, **_DESK),
    ("GET", "/v1/hall/{task_id}"): Case(
        exempt="a published task's hall card is public to every worker; drafts and others' unpublished tasks are 404 "
        "(tests/api/tasks)"
    ),
}
