"""Pump semantics that the app's own handlers cannot provoke: function errors, bisecting, malformed responses."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

from devstack.pump import Pump, QueueSource, StreamSource


class FakeApp:
    """Stands in for the Chalice app: just the `handler_map` the pump calls."""

    def __init__(self, **handlers: Any) -> None:
        self.handler_map = handlers


# A fresh pump reads the shared stack's whole stream from its start: after the rest of the e2e suite (the fuzz
# run alone writes thousands of records) that is ~200 batches before this test's own records.
ROUNDS = 2_000


def _stream_pump(e2e: Any, handler: Any, batch_size: int = 100) -> Pump:
    stack = e2e.stack
    source = StreamSource(
        handler_name="on_table_change",
        stream_arn=stack.outputs["TABLE_STREAM_ARN"],
        batch_size=batch_size,
        max_retry_attempts=5,
        bisect_on_error=True,
        on_failure_queue_url=stack.refs["StreamDLQ"],
    )
    app = FakeApp(on_table_change=handler)
    return Pump(app=app, stream=source, queues=[], region=stack.region, endpoint_url=e2e.endpoint_url)


def _put(e2e: Any, pk: str) -> None:
    e2e.client("dynamodb").put_item(
        TableName=e2e.stack.outputs["TABLE_NAME"], Item={"PK": {"S": pk}, "SK": {"S": "META"}, "kind": {"S": "x"}}
    )


def _stream_failures(e2e: Any) -> list[dict[str, Any]]:
    sqs, out = e2e.client("sqs"), []
    while got := sqs.receive_message(QueueUrl=e2e.stack.refs["StreamDLQ"], MaxNumberOfMessages=10).get("Messages"):
        for m in got:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=e2e.stack.refs["StreamDLQ"], ReceiptHandle=m["ReceiptHandle"])
    return out


def test_handler_exception_bisects_until_the_poison_record_is_discarded_alone(e2e):
    run = uuid.uuid4().hex
    seen: Counter[str] = Counter()
    poison_seq: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        ours = [r for r in event["Records"] if r["dynamodb"]["Keys"]["PK"]["S"].startswith(run)]
        assert all(r["eventSource"] == "aws:dynamodb" and r["eventSourceARN"] for r in event["Records"])
        for r in ours:
            if r["dynamodb"]["Keys"]["PK"]["S"].endswith("poison"):
                poison_seq.append(r["dynamodb"]["SequenceNumber"])
                raise RuntimeError("the whole invocation fails")
        for r in ours:
            seen[r["dynamodb"]["Keys"]["PK"]["S"]] += 1

    for name in ("a", "b", "poison", "c", "d"):
        _put(e2e, f"{run}{name}")
    _stream_pump(e2e, handler).drain(max_rounds=ROUNDS)

    assert {k[len(run) :] for k in seen} == {"a", "b", "c", "d"}
    failures = [f for f in _stream_failures(e2e) if f["DDBStreamBatchInfo"]["startSequenceNumber"] == poison_seq[0]]
    assert len(failures) == 1
    info = failures[0]["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1 and info["endSequenceNumber"] == poison_seq[0]
    assert failures[0]["responseContext"]["functionError"] == "Unhandled"


def test_stream_retry_resumes_at_the_lowest_failed_sequence_number(e2e):
    run = uuid.uuid4().hex
    seen: Counter[str] = Counter()

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failures = []
        for r in event["Records"]:
            pk = r["dynamodb"]["Keys"]["PK"]["S"]
            if not pk.startswith(run):
                continue
            seen[pk[len(run) :]] += 1
            if pk.endswith("b") and seen["b"] < 3:
                failures.append({"itemIdentifier": r["dynamodb"]["SequenceNumber"]})
        return {"batchItemFailures": failures}

    for name in ("a", "b", "c"):
        _put(e2e, f"{run}{name}")
    _stream_pump(e2e, handler).drain(max_rounds=ROUNDS)

    # `a` was checkpointed before the failure; `b` and everything after it are redelivered until `b` succeeds.
    assert seen == {"a": 1, "b": 3, "c": 3}


def test_queue_response_naming_an_unknown_message_fails_the_whole_batch(e2e):
    stack, sqs = e2e.stack, e2e.client("sqs")
    calls: Counter[str] = Counter()

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        for r in event["Records"]:
            calls[json.loads(r["body"])["name"]] += 1
            assert r["eventSource"] == "aws:sqs" and r["attributes"]["ApproximateReceiveCount"]
        if calls["x"] == 1:
            return {"batchItemFailures": [{"itemIdentifier": "not-a-message-id"}]}
        return {"batchItemFailures": []}

    source = QueueSource("on_job", stack.refs["JobsQueue"], stack.attrs[("JobsQueue", "Arn")])
    app = FakeApp(on_job=handler)
    pump = Pump(
        app=app, stream=None, queues=[source], region=stack.region, endpoint_url=e2e.endpoint_url, retry_delay_s=0
    )
    sqs.send_message_batch(
        QueueUrl=source.queue_url,
        Entries=[{"Id": n, "MessageBody": json.dumps({"name": n})} for n in ("x", "y")],
    )
    pump.drain()

    assert calls == {"x": 2, "y": 2}
