"""Opaque, tamper-evident pagination cursors.

A cursor is DynamoDB's `LastEvaluatedKey`, sealed with AES-256-GCM under a key derived from the stage
secret and bound to the listing's scope (route + caller + filters) as associated data. A user cannot read
keys out of it, forge one, or replay another user's cursor on their own listing.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from chalicelib.adapters import secrets
from chalicelib.domain.errors import BadRequest

_BAD = BadRequest("INVALID_CURSOR", "分页游标无效或已过期，请从第一页重新获取")


def _aead() -> Any:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(secrets.purpose_key("cursor"))


def encode(last_key: dict[str, Any] | None, scope: str) -> str | None:
    if not last_key:
        return None
    nonce = os.urandom(12)
    plain = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    sealed = _aead().encrypt(nonce, plain, scope.encode())
    return base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()


def decode(cursor: str | None, scope: str) -> dict[str, Any] | None:
    if not cursor:
        return None
    if len(cursor) > 2048:
        raise _BAD
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        plain = _aead().decrypt(raw[:12], raw[12:], scope.encode())
        value = json.loads(plain)
    except Exception:
        raise _BAD from None
    if not isinstance(value, dict):
        raise _BAD
    return value
