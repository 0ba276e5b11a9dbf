"""The table-stream router on real batches captured from moto: redelivery is a no-op, one bad record fails alone,
and a poison record ends in the stream DLQ through the local pump while the rest of the shard goes on."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from chalicelib.services import events
from tests.api.claims.conftest import fresh
from tests.api.events.conftest import deliver, image_of, kinds, seq, table_items
from tests.api.tasks.conftest import draft
from tests.conftest import stream_records


def _settle(delivered: int) -> list[dict[str, Any]]:
    """Deliver what the consumers wrote after the first `delivered` records until they write nothing new."""
    while True:
        records = stream_records()
        if len(records) == delivered:
            return records
        assert deliver(records[delivered:])["batchItemFailures"] == []
        delivered = len(records)


def test_the_same_batch_delivered_twice_changes_nothing(api, day):
    # One test for the whole day (moto copies the table on every transaction item, so each delivery is slow).
    batch = stream_records()
    assert len(batch) > 20
    first = deliver(batch)
    after_first = table_items()
    second = deliver(batch)
    assert first == second == {"batchItemFailures": []}
    assert table_items() == after_first  # every item, every attribute (balances and credit scores included)

    # The consumers' own writes (the task that completed, its refund…) settle, then everything is redelivered.
    records = _settle(len(batch))
    settled = table_items()
    counts = kinds(settled)
    assert all(counts[k] > 0 for k in ("notification", "rollup", "hall_entry", "credit_line")), counts
    assert deliver(records)["batchItemFailures"] == []
    assert table_items() == settled

    def types(who: str) -> list[str]:
        return [n["type"] for n in api.get("/v1/notifications", token=fresh(day[who])).json["items"]]

    assert types("alice") == ["claim.accepted"]
    assert types("bob") == ["claim.rejected"]
    assert sorted(types("merchant")) == ["task.approved", "task.approved", "task.completed"]


@pytest.fixture
def failing_consumer():
    """A consumer that raises on the records it is told to, registered after every real consumer."""
    poisoned: set[str] = set()

    @events.on_change("*")
    def explode(change: events.Change) -> None:
        if change.sequence_number in poisoned:
            raise RuntimeError("consumer failed on this record")

    events._load_consumers()
    yield poisoned
    events.unregister(explode)


def test_an_exception_in_one_record_reports_only_that_record(api, day, failing_consumer):
    batch = stream_records()
    victim = next(r for r in batch if image_of(r).get("kind", {}).get("S") == "claim" and r["eventName"] == "MODIFY")
    failing_consumer.add(seq(victim))
    result = deliver(batch)
    assert result == {"batchItemFailures": [{"itemIdentifier": seq(victim)}]}
    # Every other record did its work: the merchant heard about both approvals.
    types = [n["type"] for n in api.get("/v1/notifications", token=fresh(day["merchant"])).json["items"]]
    assert types.count("task.approved") == 2


def test_a_record_that_cannot_be_decoded_fails_alone(day):
    batch = stream_records()
    broken = copy.deepcopy(batch[len(batch) // 2])
    broken["dynamodb"]["NewImage"] = {"kind": {"S": "task"}, "status": {"Q": "no such DynamoDB type"}}
    broken["dynamodb"]["SequenceNumber"] = "9" + seq(broken)
    result = deliver([*batch[:5], broken, *batch[5:10]])
    assert result == {"batchItemFailures": [{"itemIdentifier": seq(broken)}]}


# ---------------------------------------------------------------- the pump: retries, then the stream DLQ


@pytest.fixture
def pump(aws, chalice_app, monkeypatch):
    from devstack.pump import Pump

    # botocore sends DescribeStream to `<account>.streams-ddb…` endpoints, which in-process moto does not route.
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    p = Pump.for_stack(aws, app=chalice_app, retry_delay_s=0, wait_s=0)
    p.drain()
    return p


def _dlq(aws: Any) -> list[dict[str, Any]]:
    from chalicelib.adapters import aws as aws_adapter

    sqs, out = aws_adapter.client("sqs"), []
    while got := sqs.receive_message(QueueUrl=aws.refs["StreamDLQ"], MaxNumberOfMessages=10).get("Messages"):
        for m in got:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=aws.refs["StreamDLQ"], ReceiptHandle=m["ReceiptHandle"])
    return out


def test_poison_record_ends_in_the_stream_dlq_and_the_shard_goes_on(api, aws, pump, market, failing_consumer):
    merchant = market.merchant(100_000)
    poison_task = market.create(merchant, draft(title="这条记录会让消费者出错"))
    [insert] = [
        r
        for r in stream_records()
        if r["eventName"] == "INSERT" and image_of(r).get("task_id", {}).get("S") == poison_task
    ]
    failing_consumer.add(seq(insert))
    later = market.publish(merchant)  # written after the poison record: must still be delivered

    report = pump.drain()

    dead = _dlq(aws)
    assert len(dead) == 1, dead
    info = dead[0]["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == seq(insert)
    assert dead[0]["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert dead[0]["requestContext"]["approximateInvokeCount"] == 6  # the first try and 5 retries
    assert report.failures >= 6
    notes = api.get("/v1/notifications", token=fresh(merchant)).json["items"]
    assert [(n["type"], n["ref"]) for n in notes] == [("task.approved", later)]
    again = pump.drain()  # the discarded record is not delivered again, and nothing else fails
    assert again.failures == 0 and _dlq(aws) == []
