"""Stream router tests: a marketplace day driven through the API, the stream captured from moto, and the table
read whole (tests only) to compare what the consumers wrote."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from tests.api.claims.conftest import fresh
from tests.api.money.conftest import accounts, fund  # noqa: F401 - fixtures
from tests.api.tasks.conftest import draft, market  # noqa: F401 - fixtures


def table_items() -> list[dict[str, Any]]:
    """Every item of the table, as sorted JSON text (a test-only Scan)."""
    from chalicelib.adapters import aws
    from chalicelib.config import settings

    client = aws.client("dynamodb")
    out: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=settings().table_name):
        out.extend(page["Items"])
    return sorted(out, key=lambda i: json.dumps(i, sort_keys=True))


def kinds(items: list[dict[str, Any]]) -> Counter[str]:
    return Counter(str(i.get("kind", {}).get("S", "?")) for i in items)


def deliver(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The batch to the very handler Lambda runs for the table stream."""
    from app import app

    return app.handler_map["on_table_change"]({"Records": records}, None)


def seq(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def image_of(record: dict[str, Any]) -> dict[str, Any]:
    return record["dynamodb"].get("NewImage") or record["dynamodb"].get("OldImage") or {}


@pytest.fixture
def day(api, market, accounts):  # noqa: F811 - the imported fixtures
    """A small marketplace day through the API: one task published and completed (claim, proof, accept), a
    second published and left open with a rejected claim. Returns the people involved."""
    merchant = market.merchant(100_000)
    done = market.publish(merchant, draft(slots=1, proof={"text": "填写问卷编号"}))
    open_ = market.publish(merchant, draft(slots=3, proof={"text": "填写问卷编号"}))
    alice, bob = accounts.make("worker"), accounts.make("worker")
    for worker, task_id in ((alice, done), (bob, open_)):
        claim = api.post(f"/v1/tasks/{task_id}/claims", token=fresh(worker))
        assert claim.status == 201, claim.body
        proof = api.post(f"/v1/claims/{claim.json['id']}/proof", {"text": "Q-2026-001"}, token=fresh(worker))
        assert proof.status == 200, proof.body
        if task_id == done:
            verdict = api.post(f"/v1/claims/{claim.json['id']}/accept", {"rating": 5}, token=fresh(merchant))
        else:
            verdict = api.post(f"/v1/claims/{claim.json['id']}/reject", {"reason": "编号不存在"}, token=fresh(merchant))
        assert verdict.status == 200, verdict.body
    return {"merchant": merchant, "alice": alice, "bob": bob, "done": done, "open": open_}
