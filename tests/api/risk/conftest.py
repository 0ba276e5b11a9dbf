"""Fixtures for the risk engine's tests: verified accounts, funded wallets, the sandbox payout provider, flags."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.money.conftest import credit_wallet, id_number, sandbox_keys
from tests.api.tasks.conftest import Market, draft, promotion, pump, relogin  # noqa: F401 - fixtures and helpers


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


@pytest.fixture
def market(api: Any, users: Any, fund: Any) -> Market:
    return Market(api, users, fund)


@pytest.fixture(autouse=True)
def source_ips(monkeypatch: Any) -> None:
    """Requests may name their source address (`X-Test-Source-Ip`); in-process Chalice gives all one address,
    which would make every test's accounts an IP cluster."""
    from chalicelib.handlers import web

    def source_ip(request: Any) -> str:
        headers = {k.lower(): v for k, v in request.headers.items()}
        return str(headers.get("x-test-source-ip") or "192.0.2.1")

    monkeypatch.setattr(web, "_source_ip", source_ip)


def ip(n: int) -> dict[str, str]:
    return {"X-Test-Source-Ip": f"198.51.100.{n}"}


def upload_proof(api: Any, worker: Any, data: bytes, content_type: str = "image/png") -> str:
    """Upload a proof image as the app does: a ticket from /v1/uploads, then the bytes into the worker's prefix."""
    from chalicelib.adapters import aws
    from chalicelib.config import settings

    ticket = api.post(
        "/v1/uploads", {"purpose": "proof", "content_type": content_type, "size_bytes": len(data)}, token=worker.token
    )
    assert ticket.status == 200, ticket.body
    key = str(ticket.json["key"])
    aws.client("s3").put_object(Bucket=settings().bucket_name, Key=key, Body=data, ContentType=content_type)
    return key


def flag_rows(api: Any, admin: Any, status: str = "open") -> list[dict[str, Any]]:
    reply = api.get(f"/v1/admin/risk/flags?status={status}&limit=100", token=admin.token)
    assert reply.status == 200, reply.body
    return list(reply.json["items"])
