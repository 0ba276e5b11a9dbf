"""The local stack end to end: real HTTP to the API, table changes and queue messages through the pump."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

import pytest

from chalicelib.services import events

# --------------------------------------------------------------------------------------------- HTTP


def _header(reply: Any, name: str) -> str | None:
    return {k.lower(): v for k, v in reply.headers.items()}.get(name.lower())


def test_health_over_http_returns_200(e2e):
    reply = e2e.http.get("/v1/health")
    assert reply.status == 200
    assert reply.json["status"] == "ok"
    # The gateway's request id is the app's request id, as on API Gateway.
    assert _header(reply, "X-Request-Id") == _header(reply, "x-amzn-RequestId") is not None


def test_a_burst_of_concurrent_clients_is_served_without_resets(e2e):
    import threading

    barrier, replies = threading.Barrier(64), []

    def hit() -> None:
        barrier.wait()
        replies.append(e2e.http.get("/v1/health").status)

    threads = [threading.Thread(target=hit) for _ in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert replies == [200] * 64


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/v1/no-such-thing", {}),
        ("GET", "/v1/no-such-thing", {"Authorization": "Bearer abc"}),
        ("DELETE", "/v1/health", {}),  # the path exists, the method does not: API Gateway says the same
    ],
)
def test_unknown_route_returns_404_in_error_shape(e2e, method, path, headers):
    reply = e2e.http.request(method, path, headers=headers)
    assert reply.status == 404
    assert reply.json == {
        "error": {"code": "NOT_FOUND", "message": "接口不存在", "details": {}},
        "request_id": _header(reply, "x-amzn-RequestId"),
    }
    assert str(uuid.UUID(reply.json["request_id"])) == reply.json["request_id"]


def test_malformed_json_to_sandbox_clock_returns_400_error_shape(e2e):
    reply = e2e.http.post("/v1/sandbox/clock", raw=b'{"advance_s": ')
    assert reply.status == 400
    assert reply.code == "MALFORMED_JSON"
    assert set(reply.json) == {"error", "request_id"}
    assert reply.json["request_id"] == reply.headers["X-Request-Id"]


# --------------------------------------------------------------------------------------------- helpers


def _put(e2e: Any, pk: str, **attrs: Any) -> None:
    item = {"PK": {"S": pk}, "SK": {"S": "META"}, "kind": {"S": "e2e_probe"}}
    for key, value in attrs.items():
        item[key] = {"N": str(value)} if isinstance(value, int) else {"S": str(value)}
    e2e.client("dynamodb").put_item(TableName=e2e.stack.outputs["TABLE_NAME"], Item=item)


def _send(e2e: Any, queue: str, *bodies: dict[str, Any]) -> None:
    e2e.client("sqs").send_message_batch(
        QueueUrl=e2e.stack.refs[queue],
        Entries=[{"Id": str(i), "MessageBody": json.dumps(b)} for i, b in enumerate(bodies)],
    )


def _all_messages(e2e: Any, queue: str) -> list[dict[str, Any]]:
    sqs, out = e2e.client("sqs"), []
    while True:
        got = sqs.receive_message(QueueUrl=e2e.stack.refs[queue], MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return out
        for m in got:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=e2e.stack.refs[queue], ReceiptHandle=m["ReceiptHandle"])


@pytest.fixture
def registered():
    """Register consumers / job handlers for one test; unregistered afterwards."""
    fns: list[Any] = []

    def add(decorator: Any, fn: Any) -> Any:
        decorator(fn)
        fns.append(fn)
        return fn

    yield add
    for fn in fns:
        events.unregister(fn)


# --------------------------------------------------------------------------------------------- stream


def test_table_change_reaches_stream_consumer_through_pump(e2e, registered):
    pk = f"E2E#{uuid.uuid4().hex}"
    seen: list[events.Change] = []
    registered(events.on_change("e2e_probe"), lambda c: seen.append(c) if c.keys.get("PK") == pk else None)

    _put(e2e, pk, status="open")
    _put(e2e, pk, status="done")
    e2e.pump.drain()

    assert [c.event_name for c in seen] == ["INSERT", "MODIFY"]
    assert seen[0].new["status"] == "open" and seen[0].old is None
    assert seen[1].old["status"] == "open" and seen[1].new["status"] == "done"
    assert seen[1].changed("status")


def test_changes_after_a_cancelled_transaction_still_reach_consumers(e2e, registered):
    # moto answers a cancelled transaction by restoring a deep copy of the table, stream shard included;
    # a consumer that kept its old shard iterator would never see another record.
    pk = f"E2E#{uuid.uuid4().hex}"
    seen: list[str] = []
    registered(events.on_change("e2e_probe"), lambda c: seen.append(c.event_name) if c.keys.get("PK") == pk else None)
    table = e2e.stack.outputs["TABLE_NAME"]
    ddb = e2e.client("dynamodb")
    _put(e2e, pk, status="open")
    e2e.pump.drain()
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"PK": {"S": pk}, "SK": {"S": "META"}},
                        "UpdateExpression": "SET #s = :done",
                        "ConditionExpression": "#s = :never",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":done": {"S": "done"}, ":never": {"S": "never"}},
                    }
                }
            ]
        )
    _put(e2e, pk, status="done")
    e2e.pump.drain()

    assert seen == ["INSERT", "MODIFY"]


def test_poison_stream_record_goes_to_stream_dlq_and_later_records_are_processed(e2e, registered):
    run = uuid.uuid4().hex
    seen: Counter[str] = Counter()
    poison_seq: set[str] = set()

    def consumer(change: events.Change) -> None:
        pk = change.keys.get("PK", "")
        if not pk.startswith(f"E2E#{run}"):
            return
        seen[pk] += 1
        if pk.endswith("#poison"):
            poison_seq.add(change.sequence_number)
            raise ValueError("poison record")

    registered(events.on_change("e2e_probe"), consumer)
    for name in ("before", "poison", "after1", "after2"):
        _put(e2e, f"E2E#{run}#{name}")
    e2e.pump.drain()

    # 1 attempt + MaximumRetryAttempts (5) retries, then the batch starting at the poison record is discarded.
    assert seen[f"E2E#{run}#poison"] == 6
    assert seen[f"E2E#{run}#before"] == 1
    assert seen[f"E2E#{run}#after1"] >= 1 and seen[f"E2E#{run}#after2"] >= 1
    (seq,) = poison_seq
    failures = [f for f in _all_messages(e2e, "StreamDLQ") if f["DDBStreamBatchInfo"]["startSequenceNumber"] == seq]
    assert len(failures) == 1
    info = failures[0]["DDBStreamBatchInfo"]
    assert info["streamArn"] == e2e.stack.outputs["TABLE_STREAM_ARN"]
    assert info["shardId"] and int(info["endSequenceNumber"]) >= int(seq)
    assert failures[0]["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failures[0]["requestContext"]["approximateInvokeCount"] == 6

    # The shard moved past it: a later change is delivered once.
    _put(e2e, f"E2E#{run}#later")
    e2e.pump.drain()
    assert seen[f"E2E#{run}#later"] == 1


# --------------------------------------------------------------------------------------------- queues


def test_queue_message_reaches_job_handler_through_pump(e2e, registered):
    got: list[dict[str, Any]] = []
    registered(events.on_job("e2e.echo"), got.append)

    _send(e2e, "JobsQueue", {"type": "e2e.echo", "n": 1})
    e2e.pump.drain()

    assert got == [{"type": "e2e.echo", "n": 1}]
    attrs = e2e.client("sqs").get_queue_attributes(
        QueueUrl=e2e.stack.refs["JobsQueue"], AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_partial_batch_failure_retries_only_the_failed_message(e2e, registered):
    calls: Counter[str] = Counter()

    def flaky(message: dict[str, Any]) -> None:
        calls[message["name"]] += 1
        if message["name"] == "b" and calls["b"] <= 2:
            raise RuntimeError("transient")

    registered(events.on_job("e2e.flaky"), flaky)
    _send(e2e, "JobsQueue", *({"type": "e2e.flaky", "name": n} for n in ("a", "b", "c")))
    e2e.pump.drain()

    assert calls == {"a": 1, "b": 3, "c": 1}
    assert _all_messages(e2e, "JobsDLQ") == []


def test_poison_queue_message_ends_in_the_dead_letter_queue(e2e, registered):
    attempts: list[int] = []

    def poison(message: dict[str, Any]) -> None:
        attempts.append(1)
        raise ValueError("never works")

    registered(events.on_job("e2e.poison"), poison)
    _send(e2e, "WebhooksQueue", {"type": "e2e.poison", "id": "p1"})
    e2e.pump.drain()

    assert len(attempts) == 5  # the queue's maxReceiveCount (infra/template.py)
    assert _all_messages(e2e, "WebhooksDLQ") == [{"type": "e2e.poison", "id": "p1"}]


# --------------------------------------------------------------------------------------------- schedules


_TICKS: list[Any] = []


def _count_tick(now: Any) -> None:
    _TICKS.append(now)


def test_tick_runs_a_due_job_once_per_boundary_on_the_stage_clock(e2e, monkeypatch):
    from chalicelib.services import schedules

    _TICKS.clear()
    hour = 3600
    job = schedules.Job(f"e2e_{uuid.uuid4().hex[:8]}", f"{__name__}:_count_tick", every_s=hour)
    monkeypatch.setattr(schedules, "JOBS", [job])  # only this job in this process; the API keeps the real ones

    assert e2e.pump.tick() == [job.name]
    assert e2e.pump.tick() == []  # same boundary: already claimed

    # Move the stage clock from this process (what POST /v1/sandbox/clock does in the API, without also
    # running every real job there): the API and the pump read the same clock file.
    from datetime import datetime

    from chalicelib.adapters import clock

    before = datetime.fromisoformat(e2e.http.get("/v1/health").json["time"].replace("Z", "+00:00"))
    clock.advance(hour)
    after = datetime.fromisoformat(e2e.http.get("/v1/health").json["time"].replace("Z", "+00:00"))
    assert (after - before).total_seconds() >= hour
    assert e2e.pump.tick() == [job.name]
    assert len(_TICKS) == 2
    assert (_TICKS[1] - _TICKS[0]).total_seconds() >= hour
