"""BOLA cases for the desk's user management: users are desk objects only admins may touch."""

from __future__ import annotations

from tests.api.bola import Case, Made, World


def _worker(world: World) -> Made:
    worker = world.users.make("worker")
    return Made({"user_id": worker.id}, worker)


_ADMIN_ONLY = {
    "intruder": "staff:admin",
    "wrong_roles": ("worker", "merchant", "reviewer", "finance"),
    "owner_ok": False,
}

CASES = {
    ("GET", "/v1/admin/users/{user_id}"): Case(make=_worker, **_ADMIN_ONLY),
    ("POST", "/v1/admin/users/{user_id}/freeze"): Case(make=_worker, body={"reason": "BOLA 测试冻结"}, **_ADMIN_ONLY),
    ("POST", "/v1/admin/users/{user_id}/unfreeze"): Case(make=_worker, body={}, **_ADMIN_ONLY),
}
