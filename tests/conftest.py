"""Shared fixtures: an in-process moto account with the stage's resources, a pinned clock, an API client."""

from __future__ import annotations

import abc
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# The environment is set before any chalicelib import reads it.
os.environ.update(
    {
        "STAGE": "test",
        "AWS_DEFAULT_REGION": "cn-north-1",
        "AWS_REGION": "cn-north-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_DEV": "false",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

import pytest
from moto import mock_aws

from chalicelib.adapters import aws as aws_adapter
from chalicelib.adapters import clock as clock_adapter
from chalicelib.adapters import secrets as secrets_adapter
from chalicelib.config import reset_settings
from chalicelib.store import idempotency
from chalicelib.store.base import reset_connections
from devstack import moto_patches

# In-process moto gets the same transaction rollback as the local server (`make run`): moto 5.2.5 deep-copies
# the whole table once per transaction item, which made transaction-heavy tests quadratic in table size; the
# patch backs up only the items a transaction names, with moto's own checks and errors (decision 0004,
# tests/unit/test_moto_patches.py). One emulator behaviour everywhere, installed before any test runs.
moto_patches.install()

T0 = datetime(2026, 11, 25, 8, 0, 0, tzinfo=UTC)


def _reset_caches() -> None:
    reset_settings()
    aws_adapter.reset_clients()
    secrets_adapter.clear_cache()
    reset_connections()
    idempotency.reset()


@pytest.fixture
def aws() -> Iterator[Any]:
    """A fresh moto account holding every resource of `infra/` for stage `test`."""
    from devstack.resources import create_stack

    with mock_aws():
        _reset_caches()
        stack = create_stack("test", os.environ["AWS_DEFAULT_REGION"])
        yield stack
    _reset_caches()


@pytest.fixture
def clock() -> Iterator[Any]:
    """The stage clock pinned at T0; `clock.advance(s)` moves it."""
    clock_adapter.pin(T0)
    yield clock_adapter
    clock_adapter.pin(None)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    @property
    def code(self) -> str | None:
        try:
            return self.json["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return None


class JsonClient(abc.ABC):
    """JSON requests with a bearer token; subclasses send them (`_send`) in-process or over HTTP."""

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | str | None = None,
    ) -> Reply:
        hdrs = {"Content-Type": "application/json"}
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        hdrs.update(headers or {})
        data: Any = raw if raw is not None else (json.dumps(body) if body is not None else None)
        return self._send(method, path, hdrs, data)

    @abc.abstractmethod
    def _send(self, method: str, path: str, headers: dict[str, str], data: Any) -> Reply: ...

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("POST", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("PATCH", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("PUT", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self.request("DELETE", path, **kw)


class Api(JsonClient):
    """JSON helper over chalice.test.Client (in-process)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def _send(self, method: str, path: str, headers: dict[str, str], data: Any) -> Reply:
        from requests.structures import CaseInsensitiveDict

        resp = self._client.http.request(method, path, headers=headers, body=data)
        return Reply(resp.status_code, CaseInsensitiveDict(resp.headers), resp.body or b"")


@pytest.fixture
def chalice_app(aws: Any) -> Any:
    from app import app

    return app


@pytest.fixture
def api(chalice_app: Any, clock: Any) -> Iterator[Api]:
    from chalice.test import Client

    # Stage "test", not "local": the client puts the stage's environment from .chalice/config.json in place
    # for each request, and "local" sets STAGE=local, so settings() read during a request would name the
    # local stack's table instead of this account's (whenever nothing had cached them before the request).
    from chalicelib.store import sweep

    # The stage "starts" at T0: the deadline sweep's watermark begins there, as it would from the first tick
    # after a deployment.
    sweep.advance_watermark(T0.replace(minute=0, second=0, microsecond=0))
    with Client(chalice_app, stage_name="test") as client:
        yield Api(client)


# Cheap argon2 parameters for the suite (honoured only in stage `test`; one identity test runs the real cost).
os.environ.setdefault("TASKHALL_TEST_ARGON2", "fast")


@pytest.fixture
def users(api: Api, clock: Any) -> Any:
    """Factory of signed-in accounts for any feature's tests: `users.make("worker")`, `users.staff("admin")`,
    `users.approved_merchant()`. See tests/api/identity/factory.py."""
    from tests.api.identity.factory import AccountFactory

    return AccountFactory(api)


def stream_records(since: int = 0) -> list[dict[str, Any]]:
    """The in-process moto table's stream records (from index `since`), shaped as Lambda receives them.

    In-process moto does not route DynamoDB Streams calls for China-region endpoints, so api tests read the
    shard from moto's backend; the pump reads the real Streams API on the moto server (tests/e2e)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from chalicelib.config import settings

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][settings().region].get_table(settings().table_name)
    shard = table.stream_shard
    if shard is None:
        return []
    out = []
    for rec in shard.items[since:]:
        raw = json.loads(json.dumps(rec.to_json(), default=str)) if hasattr(rec, "to_json") else dict(rec.record)
        raw.setdefault("eventSourceARN", table.latest_stream_label or "")
        out.append(raw)
    return out


def feed_stream(since: int = 0) -> dict[str, Any]:
    """Deliver the stream records to the very handler Lambda runs (`on_table_change`)."""
    from app import app

    records = stream_records(since)
    if not records:
        return {"batchItemFailures": []}
    return app.handler_map["on_table_change"]({"Records": records}, None)
