"""Lazily created, cached boto3 clients. Never at import: cold start pays only for what a request uses.

The endpoint comes from botocore's own `AWS_ENDPOINT_URL` handling, so the same code talks to AWS or to
the local moto server.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from chalicelib.config import settings

_lock = threading.Lock()


@cache
def session() -> Any:
    """One boto3 session per process: it caches the service models, which are costly to load."""
    import boto3

    return boto3.session.Session()


@cache
def client(service: str) -> Any:
    with _lock:  # a boto3 session is not thread-safe while creating clients
        from botocore.config import Config

        cfg = Config(
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=3,
            read_timeout=settings().ddb_read_timeout_s,
        )
        return session().client(service, region_name=settings().region, config=cfg)


def reset_clients() -> None:
    """Forget cached clients (tests switch between moto contexts)."""
    client.cache_clear()
