"""BOLA cases for money routes: deposits and withdrawals belong to their user."""

from __future__ import annotations

from tests.api.bola import Case, Made, World
from tests.api.money.conftest import credit_wallet, make_verified, sandbox_keys


def _sandbox_ready(world: World) -> None:
    if "sandbox" not in world.cache:
        from chalicelib.adapters import aws, secrets
        from chalicelib.config import settings

        aws.client("secretsmanager").put_secret_value(
            SecretId=settings().secrets_id.rsplit("/", 1)[0] + "/providers",
            SecretString='{"sandbox": ' + __import__("json").dumps(sandbox_keys()) + "}",
        )
        secrets.clear_cache()
        world.cache["sandbox"] = True


def _deposit(world: World) -> Made:
    _sandbox_ready(world)
    user = world.users.make("worker")
    reply = world.api.post(
        "/v1/deposits", {"amount_fen": 500, "channel": "sandbox"}, token=user.token, headers={"Idempotency-Key": "b"}
    )
    assert reply.status == 201, reply.body
    return Made({"deposit_id": reply.json["deposit_id"]}, user)


def _withdrawal(world: World) -> Made:
    user = make_verified(world.api, world.users)
    credit_wallet(user.id, 1_000)
    body = {"amount_fen": 300, "channel": "sandbox", "account": {"number": f"{user.phone}", "holder_name": "张三"}}
    reply = world.api.post("/v1/withdrawals", body, token=user.token, headers={"Idempotency-Key": "b"})
    assert reply.status == 201, reply.body
    return Made({"withdrawal_id": reply.json["withdrawal_id"]}, user)


CASES = {
    ("GET", "/v1/deposits/{deposit_id}"): Case(make=_deposit, wrong_roles=("merchant",)),
    ("POST", "/v1/sandbox/deposits/{deposit_id}/pay"): Case(make=_deposit, wrong_roles=("merchant",)),
    ("GET", "/v1/withdrawals/{withdrawal_id}"): Case(make=_withdrawal, wrong_roles=("merchant",)),
    ("POST", "/v1/sandbox/withdrawals/{withdrawal_id}/fail"): Case(make=_withdrawal, wrong_roles=("merchant",)),
    ("POST", "/v1/payments/{channel}/notify"): Case(
        exempt="the path parameter is a payment channel name; notifications are authenticated by signature"
    ),
}
