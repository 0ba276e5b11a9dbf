"""Counts DynamoDB calls per request by hooking botocore's events on every client that can reach the table
(pynamodb's connection and our boto3 clients): operations, items read, items returned, consumed capacity."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

READS = {"GetItem", "Query", "BatchGetItem", "Scan", "TransactGetItems"}


@dataclass
class OpCount:
    ops: Counter = field(default_factory=Counter)
    items_read: int = 0
    items_returned: int = 0
    capacity: float = 0.0
    query_read: int = 0  # items Queries read (ScannedCount): the hall's read amplification is this ÷ page size

    @property
    def reads(self) -> int:
        return sum(n for op, n in self.ops.items() if op in READS)

    @property
    def amplification(self) -> float:
        return self.items_read / self.items_returned if self.items_returned else float(self.items_read or 1)

    def summary(self) -> str:
        return f"{dict(self.ops)} read={self.items_read} returned={self.items_returned} rcu/wcu={self.capacity:g}"


def _clients() -> list[Any]:
    from chalicelib.adapters import aws
    from chalicelib.store.base import Item

    return [Item._get_connection().connection.client, aws.client("dynamodb")]


@contextmanager
def count_ops() -> Iterator[OpCount]:
    """Count every DynamoDB call made inside the block (asks for ReturnConsumedCapacity=TOTAL)."""
    counted = OpCount()

    def before(params: dict, model: Any, **_: Any) -> None:
        counted.ops[model.name] += 1
        if model.name not in ("DescribeTable",) and "ReturnConsumedCapacity" in model.input_shape.members:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")

    def after(parsed: dict, model: Any, **_: Any) -> None:
        op = model.name
        if op == "GetItem":
            n = 1 if parsed.get("Item") else 0
            counted.items_read += max(n, 1)
            counted.items_returned += n
        elif op in ("Query", "Scan"):
            counted.items_read += parsed.get("ScannedCount", parsed.get("Count", 0))
            counted.items_returned += parsed.get("Count", 0)
            if op == "Query":
                counted.query_read += parsed.get("ScannedCount", parsed.get("Count", 0))
        elif op == "BatchGetItem":
            n = sum(len(v) for v in parsed.get("Responses", {}).values())
            counted.items_read += n
            counted.items_returned += n
        cap = parsed.get("ConsumedCapacity")
        for c in cap if isinstance(cap, list) else [cap] if cap else []:
            counted.capacity += float(c.get("CapacityUnits", 0) or 0)

    hooks = []
    for client in _clients():
        events = client.meta.events
        events.register("before-parameter-build.dynamodb", before)
        events.register("after-call.dynamodb", after)
        hooks.append(events)
    try:
        yield counted
    finally:
        for events in hooks:
            events.unregister("before-parameter-build.dynamodb", before)
            events.unregister("after-call.dynamodb", after)
