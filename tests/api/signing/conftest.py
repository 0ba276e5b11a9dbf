"""Signing tests: merchant key pairs (generated once per process), and a client that signs as a merchant server."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from chalicelib.adapters import clock as clock_adapter
from tests.api.identity.factory import Account
from tests.api.money.conftest import fund  # noqa: F401 - fixture
from tests.api.tasks.conftest import accounts, market  # noqa: F401 - fixtures

_KEYS: dict[str, rsa.RSAPrivateKey] = {}


def private_key(name: str = "a", bits: int = 2048) -> rsa.RSAPrivateKey:
    """One key per (name, bits) per test process: RSA generation is slow."""
    label = f"{name}:{bits}"
    if label not in _KEYS:
        _KEYS[label] = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return _KEYS[label]


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign(key: rsa.RSAPrivateKey, method: str, path_query: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The recipe of API.md, written out independently of chalicelib/domain/signing.py."""
    text = "\n".join([method.upper(), path_query, timestamp, nonce, hashlib.sha256(body).hexdigest()])
    return base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


@dataclass
class Signer:
    """Calls the API as a merchant's server would: no token, four signing headers."""

    api: Any
    merchant: Account
    key: rsa.RSAPrivateKey
    sent: list[dict[str, str]] = field(default_factory=list)

    def headers(
        self, method: str, path: str, body: bytes, *, query: str = "", ts: int | None = None, nonce: str | None = None
    ) -> dict[str, str]:
        stamp = str(clock_adapter.now_ts() if ts is None else ts)
        nonce = nonce or secrets.token_urlsafe(16)
        path_query = f"{path}?{query}" if query else path
        return {
            "X-Taskhall-Merchant": self.merchant.id,
            "X-Taskhall-Timestamp": stamp,
            "X-Taskhall-Nonce": nonce,
            "X-Taskhall-Signature": sign(self.key, method, path_query, stamp, nonce, body),
        }

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, str] | None = None,
        extra: dict[str, str] | None = None,
        **kw: Any,
    ) -> Any:
        raw = json.dumps(body).encode() if body is not None else b""
        query = urlencode(sorted((params or {}).items()))
        hdrs = {**(extra or {}), **self.headers(method, path, raw, query=query, **kw)}
        self.sent.append(hdrs)
        url = f"{path}?{query}" if query else path
        return self.api.request(method, url, raw=raw if body is not None else None, headers=hdrs)


@pytest.fixture
def merchant_with_key(api, market):  # noqa: F811 - the imported fixture
    """An approved merchant with ¥100 in the wallet and a registered 2048-bit key."""
    merchant = market.merchant(10_000)
    key = private_key("a")
    reply = api.put("/v1/merchant/api-key", {"public_key_pem": public_pem(key)}, token=merchant.token)
    assert reply.status == 200, reply.body
    return merchant, key


@pytest.fixture
def signer(api, merchant_with_key):
    merchant, key = merchant_with_key
    return Signer(api, merchant, key)
