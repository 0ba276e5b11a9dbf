"""Fixtures for money tests: accounts and a helper that credits a wallet through the ledger."""

from __future__ import annotations

import itertools

import pytest

from chalicelib.domain import ledger as L
from chalicelib.store import ledger as books
from tests.api.identity.factory import AccountFactory

_refs = itertools.count(1)


@pytest.fixture
def accounts(api):
    return AccountFactory(api)


def credit_wallet(user_id: str, amount_fen: int) -> None:
    """Credit a user's wallet as a settled deposit would (ledger-level, for tests of spending paths)."""
    ref = next(_refs)
    books.post(
        [
            L.Transfer(
                id=f"deposit:test-{user_id}-{ref}",
                debit=L.clearing("sandbox"),
                credit=L.wallet(user_id),
                amount=amount_fen,
                code=L.Code.DEPOSIT,
                memo="测试充值",
            )
        ]
    )


@pytest.fixture
def fund():
    return credit_wallet


_SANDBOX_KEYS: dict[str, str] = {}


def sandbox_keys() -> dict[str, str]:
    """One sandbox provider key pair per test process (RSA generation is slow)."""
    if not _SANDBOX_KEYS:
        from chalicelib.adapters.payments.sandbox import generate_sandbox_keys

        _SANDBOX_KEYS.update(generate_sandbox_keys())
    return _SANDBOX_KEYS


@pytest.fixture(autouse=True)
def sandbox_provider(aws):
    """The providers secret holds the sandbox provider's keys, as the local stack puts them there."""
    from chalicelib.adapters import secrets

    aws.put_provider_secrets({"sandbox": sandbox_keys()})
    secrets.clear_cache()
    return sandbox_keys()


_id_seq = itertools.count(100)


def id_number(birth: str = "19900101") -> str:
    """A valid GB 11643 resident ID (Beijing Chaoyang), unique within the run."""
    body = f"110105{birth}{next(_id_seq) % 1000:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + check


def make_verified(api, accounts, role: str = "worker", name: str = "张三"):
    """A user who completed real-name verification (through the API)."""
    user = accounts.make(role)
    reply = api.post("/v1/me/real-name", {"name": name, "id_number": id_number()}, token=user.token)
    assert reply.status in (200, 201), reply.body
    return user


@pytest.fixture
def verified(api, accounts):
    """A worker who completed real-name verification as 张三 (through the API)."""

    def _verified(role: str = "worker", name: str = "张三"):
        return make_verified(api, accounts, role, name)

    return _verified
