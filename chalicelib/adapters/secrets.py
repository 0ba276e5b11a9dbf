"""Application secrets, read through SSM Parameter Store and cached for a few minutes.

CloudFormation generates one random master secret per stage in Secrets Manager (it cannot create SSM
SecureStrings); the code reads it through SSM's `/aws/reference/secretsmanager/` path, so there is one
secrets API in the code. Purpose keys (JWT signing, cursor MACs, blind indexes) are derived from the master
with HKDF-SHA256, each with its own label, so one leaked purpose key does not reveal another.
Provider credentials (Alipay, WeChat Pay) live in a second secret, filled in by operators.
"""

from __future__ import annotations

import json
import threading
import time
from functools import lru_cache
from typing import Any

from chalicelib.adapters import aws
from chalicelib.config import settings

_TTL_S = 300
_lock = threading.Lock()
_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def _read(secret_id: str) -> dict[str, Any]:
    with _lock:
        hit = _cache.get(secret_id)
        if hit and time.monotonic() - hit[0] < _TTL_S:
            return hit[1]
    resp = aws.client("ssm").get_parameter(Name=f"/aws/reference/secretsmanager/{secret_id}", WithDecryption=True)
    value = json.loads(resp["Parameter"]["Value"])
    with _lock:
        _cache[secret_id] = (time.monotonic(), value)
    return value


def app_secrets() -> dict[str, Any]:
    return _read(settings().secrets_id)


def provider_secrets() -> dict[str, Any]:
    return _read(f"{settings().secrets_id.rsplit('/', 1)[0]}/providers")


@lru_cache(maxsize=32)
def _derive(master: str, label: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"taskhall", info=label.encode()).derive(master.encode())


def purpose_key(label: str) -> bytes:
    """A 32-byte key for one purpose (`jwt`, `cursor`, `blind-index`, …) derived from the stage master."""
    return _derive(app_secrets()["master"], label)


def clear_cache() -> None:
    with _lock:
        _cache.clear()
    _derive.cache_clear()
