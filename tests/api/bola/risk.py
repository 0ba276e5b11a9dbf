"""BOLA cases for the risk desk: a flag is the desk's object (admin only); the flagged user may not resolve it."""

from __future__ import annotations

from tests.api.bola import Case, Made, World


def _flag_on_user(world: World) -> Made:
    from chalicelib.services import risk

    flagged = world.users.make("worker")
    flag_id = risk.evaluate("proof_too_fast", flagged.id, {"seconds": 3, "floor_seconds": 60}, cause="bola")
    return Made({"flag_id": flag_id}, flagged)


CASES = {
    ("POST", "/v1/admin/risk/flags/{flag_id}/resolve"): Case(
        make=_flag_on_user,
        intruder="staff:admin",
        wrong_roles=("worker", "merchant", "reviewer", "finance"),
        owner_ok=False,
        body={"action": "confirm"},
    ),
}
