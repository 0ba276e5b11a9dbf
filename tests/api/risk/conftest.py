"""Fixtures for the risk engine's tests: verified accounts, funded wallets, the sandbox payout provider, flags."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.money.conftest import credit_wallet, id_number, sandbox_keys


@pytest.fixture(autouse=True)
def sandbox_provider(aws: Any) -> None:
    from chalicelib.adapters import secrets

    aws.put_provider_secrets({"sandbox": sandbox_keys()})
    secrets.clear_cache()


def verify(api: Any, account: Any, *, number: str | None = None, name: str = "张三") -> Any:
    return api.post("/v1/me/real-name", {"name": name, "id_number": number or id_number()}, token=account.token)


def withdraw(api: Any, account: Any, *, amount: int = 300, number: str = "13800001111", key: str = "w1") -> Any:
    body = {"amount_fen": amount, "channel": "sandbox", "account": {"number": number, "holder_name": "张三"}}
    return api.post("/v1/withdrawals", body, token=account.token, headers={"Idempotency-Key": key})


def open_flags() -> list[Any]:
    from chalicelib.store import flags

    return list(flags.query_status("open"))


def rules_flagged() -> list[str]:
    return sorted(f.rule_id for f in open_flags())


@pytest.fixture
def fund() -> Any:
    return credit_wallet
