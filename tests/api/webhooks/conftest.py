"""Webhook tests: a fake DNS (getaddrinfo), a fake receiver in place of the HTTP sender, and a pump for the stream
and the webhooks queue, all in process over moto."""

from __future__ import annotations

import ipaddress
import json
import socket
from dataclasses import dataclass, field
from typing import Any

import pytest

from chalicelib.adapters import http_delivery
from chalicelib.domain import webhooks as W
from tests.api.claims.conftest import publish_task
from tests.conftest import stream_records
from tests.unit.foundation.logcapture import log_lines  # noqa: F401 - a fixture for the log tests

PUBLIC_IP = "93.184.216.34"
URL = "https://hooks.example.com/taskhall"


class FakeDns:
    """`socket.getaddrinfo` with a table: IP literals resolve to themselves, listed names to their addresses."""

    def __init__(self) -> None:
        self.table: dict[str, list[str]] = {"hooks.example.com": [PUBLIC_IP], "other.example.com": ["93.184.216.35"]}
        self.lookups: list[str] = []

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        self.lookups.append(name)
        try:
            addresses = [str(ipaddress.ip_address(name))]
        except ValueError:
            if name not in self.table:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
            addresses = self.table[name]
        out = []
        for address in addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (address, int(port or 0), 0, 0) if family == socket.AF_INET6 else (address, int(port or 0))
            out.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
        return out


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns()
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@dataclass
class Received:
    address: str
    host: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeReceiver:
    """Stands in for `http_delivery.post`: records each request and answers from `script` (then `default`)."""

    script: list[int | str] = field(default_factory=list)  # status codes, or "timeout" / "connection"
    default: int | str = 200
    got: list[Received] = field(default_factory=list)

    def __call__(self, **kw: Any) -> http_delivery.Outcome:
        self.got.append(Received(kw["address"], kw["host"], kw["path"], dict(kw["headers"]), kw["body"]))
        answer = self.script.pop(0) if self.script else self.default
        if isinstance(answer, str):
            return http_delivery.Outcome(status=None, latency_ms=W.TIMEOUT_S * 1000, error=answer)
        return http_delivery.Outcome(status=answer, latency_ms=12, error=None)


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch, dns: FakeDns) -> FakeReceiver:
    fake = FakeReceiver()
    monkeypatch.setattr(http_delivery, "post", fake)
    return fake


def queued_messages() -> list[dict[str, Any]]:
    """Take every message off the webhooks queue (as SQS Lambda records)."""
    from chalicelib.adapters import aws
    from chalicelib.config import settings

    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=settings().webhooks_queue)["QueueUrl"]
    records: list[dict[str, Any]] = []
    while True:
        resp = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
        msgs = resp.get("Messages", [])
        if not msgs:
            return records
        for m in msgs:
            records.append(
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": {},
                    "messageAttributes": {},
                    "md5OfBody": m.get("MD5OfBody", ""),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": f"arn:aws:sqs:cn-north-1:123456789012:{settings().webhooks_queue}",
                    "awsRegion": "cn-north-1",
                }
            )
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


class Pump:
    """Delivers what is due in process: new stream records to the consumers, queued messages to `on_webhook`."""

    def __init__(self) -> None:
        self.since = len(stream_records())
        self.failures: list[Any] = []

    def stream(self) -> None:
        records = stream_records(self.since)
        self.since += len(records)
        if records:
            from app import app

            result = app.handler_map["on_table_change"]({"Records": records}, None)
            self.failures += result.get("batchItemFailures", [])

    def queue(self) -> int:
        from app import app

        records = queued_messages()
        for start in range(0, len(records), 10):
            result = app.handler_map["on_webhook"]({"Records": records[start : start + 10]}, None)
            self.failures += result.get("batchItemFailures", [])
        return len(records)

    def drain(self) -> None:
        for _ in range(20):
            self.stream()
            if not self.queue():
                self.stream()
                return
        raise AssertionError("webhook pump did not settle")

    def tick(self, clock: Any, seconds: int) -> None:
        """Advance the stage clock, run the re-enqueue schedule (only it: the other jobs have their own tests),
        deliver what it queued."""
        from chalicelib.services import schedules

        clock.advance(seconds)
        schedules.run("webhook_requeue", clock.now())
        self.drain()


@pytest.fixture
def pump(api: Any) -> Pump:
    return Pump()


@pytest.fixture
def merchant(users: Any) -> Any:
    return users.make("merchant")


def register(api: Any, merchant: Any, url: str = URL, events: list[str] | None = None) -> dict[str, Any]:
    reply = api.post("/v1/webhooks", {"url": url, "events": events or list(W.EVENTS)}, token=merchant.token)
    assert reply.status == 201, reply.body
    return reply.json


def accepted_claim(api: Any, users: Any, merchant: Any, *, accept: bool = True) -> tuple[str, str]:
    """A worker claims the merchant's task and submits proof; the merchant accepts. (task id, claim id)"""
    worker = users.make("worker")
    task_id = publish_task(merchant.id, slots=2)
    claim = api.post(f"/v1/tasks/{task_id}/claims", token=worker.token, headers={"X-Device-Id": "dev-whk"})
    assert claim.status == 201, claim.body
    cid = claim.json["id"]
    proof = api.post(f"/v1/claims/{cid}/proof", {"text": "万达店"}, token=worker.token)
    assert proof.status == 200, proof.body
    if accept:
        ok = api.post(f"/v1/claims/{cid}/accept", {"rating": 5}, token=merchant.token)
        assert ok.status == 200, ok.body
    return task_id, cid


def deliveries(api: Any, merchant: Any, webhook_id: str, **query: Any) -> list[dict[str, Any]]:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    reply = api.get(f"/v1/webhooks/{webhook_id}/deliveries" + (f"?{qs}" if qs else ""), token=merchant.token)
    assert reply.status == 200, reply.body
    return reply.json["items"]
