"""BOLA cases for identity routes: the desk's merchant-review objects."""

from __future__ import annotations

from tests.api.bola import Case, Made, World


def _pending_merchant(world: World) -> Made:
    merchant = world.users.pending_merchant()
    return Made({"merchant_id": merchant.id}, merchant)


_DESK = {"intruder": "staff:reviewer", "wrong_roles": ("worker", "merchant", "finance"), "owner_ok": False}

CASES = {
    ("GET", "/v1/admin/merchants/{merchant_id}"): Case(make=_pending_merchant, **_DESK),
    ("POST", "/v1/admin/merchants/{merchant_id}/approve"): Case(make=_pending_merchant, **_DESK),
    ("POST", "/v1/admin/merchants/{merchant_id}/reject"): Case(
        make=_pending_merchant, body={"reason": "资质图片不清晰"}, **_DESK
    ),
}
