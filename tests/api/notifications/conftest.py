"""Notification tests: published tasks, claims walked through the API, and the stream delivered until it is quiet."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.claims.conftest import fresh, publish  # noqa: F401 - fixture and helper
from tests.api.money.conftest import accounts, fund  # noqa: F401 - fixtures
from tests.api.tasks.conftest import market  # noqa: F401 - fixture
from tests.conftest import feed_stream, stream_records


def drain() -> int:
    """Deliver the whole stream once, then what the consumers wrote, until they write nothing new.

    Failures reported by other features' consumers are not this suite's subject (tests/api/events covers
    partial failures); these tests assert on the notifications they expect."""
    rounds, delivered = 0, 0
    while True:
        total = len(stream_records())
        if rounds and total == delivered:
            return rounds
        feed_stream(delivered if rounds else 0)
        delivered = total
        rounds += 1
        assert rounds < 10, "the stream does not settle"


def inbox(api: Any, account: Any) -> list[dict[str, Any]]:
    reply = api.get("/v1/notifications?limit=100", token=fresh(account))
    assert reply.status == 200, reply.body
    return list(reply.json["items"])


def of_type(items: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    return [n for n in items if n["type"] == type_]


@pytest.fixture
def settle():
    return drain
