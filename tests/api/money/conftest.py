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


@pytest.fixture
def fund():
    """Credit a user's wallet as a settled deposit would (ledger-level, for tests of spending paths)."""

    def _fund(user_id: str, amount_fen: int) -> None:
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

    return _fund


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
