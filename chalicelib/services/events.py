"""The event spine: table-stream records and queue messages, dispatched to small idempotent consumers.

Stream records are decoded (new/old images as plain dicts) and routed by the item's `kind` to every
consumer registered for it. Queue messages carry `{"type": ..., ...}` and are routed by type. Both use
powertools' BatchProcessor, so one failing record is reported alone (`batchItemFailures`) and the rest of
the batch is not redone; consumers must still be idempotent because AWS redelivers.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.log import logger


@dataclass(frozen=True)
class Change:
    """One table change: what kind of item, which event, and its images (plain Python values)."""

    event_id: str
    event_name: str  # INSERT | MODIFY | REMOVE
    kind: str | None
    keys: dict[str, Any]
    new: dict[str, Any] | None
    old: dict[str, Any] | None
    sequence_number: str

    def changed(self, attr: str) -> bool:
        return (self.new or {}).get(attr) != (self.old or {}).get(attr)


StreamConsumer = Callable[[Change], None]
JobHandler = Callable[[dict[str, Any]], None]

_stream_consumers: dict[str, list[StreamConsumer]] = {}
_job_handlers: dict[str, JobHandler] = {}


def on_change(*kinds: str) -> Callable[[StreamConsumer], StreamConsumer]:
    """Register a consumer for changes to items of the given kinds (`"*"` for every kind)."""

    def deco(fn: StreamConsumer) -> StreamConsumer:
        for k in kinds:
            _stream_consumers.setdefault(k, []).append(fn)
        return fn

    return deco


def on_job(job_type: str) -> Callable[[JobHandler], JobHandler]:
    def deco(fn: JobHandler) -> JobHandler:
        if job_type in _job_handlers:
            raise ValueError(f"duplicate job handler {job_type}")
        _job_handlers[job_type] = fn
        return fn

    return deco


def unregister(fn: Callable[..., Any]) -> None:
    """Tests: remove a consumer or job handler registered for the duration of a test."""
    for consumers in _stream_consumers.values():
        while fn in consumers:
            consumers.remove(fn)
    for name, handler in list(_job_handlers.items()):
        if handler is fn:
            del _job_handlers[name]


def _load_consumers() -> None:
    # Feature modules register consumers at import; import them once, on the first event, not at cold start.
    from chalicelib.services import consumers  # noqa: F401


def _wire_to_boto(value: Any) -> Any:
    """Lambda's stream events carry binary attributes as base64 text; boto3's deserializer wants bytes."""
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, val in value.items():
        if key == "B" and isinstance(val, str):
            out[key] = base64.b64decode(val)
        elif key == "BS":
            out[key] = [base64.b64decode(v) if isinstance(v, str) else v for v in val]
        elif key == "M":
            out[key] = {k: _wire_to_boto(v) for k, v in val.items()}
        elif key == "L":
            out[key] = [_wire_to_boto(v) for v in val]
        else:
            out[key] = val
    return out


def _deserialize(image: dict[str, Any] | None) -> dict[str, Any] | None:
    if image is None:
        return None
    from boto3.dynamodb.types import TypeDeserializer

    d = TypeDeserializer()
    return {k: d.deserialize(_wire_to_boto(v)) for k, v in image.items()}


def decode(record: dict[str, Any]) -> Change:
    ddb = record["dynamodb"]
    new = _deserialize(ddb.get("NewImage"))
    old = _deserialize(ddb.get("OldImage"))
    kind = (new or old or {}).get("kind")
    return Change(
        event_id=record.get("eventID", ""),
        event_name=record["eventName"],
        kind=kind,
        keys=_deserialize(ddb.get("Keys")) or {},
        new=new,
        old=old,
        sequence_number=str(ddb.get("SequenceNumber", "")),
    )


def handle_change(change: Change) -> None:
    """Run every consumer of the change, even after one fails: a bug in one consumer (a risk rule, say) must not
    keep the others (notifications, webhooks, the hall) from the record while it is retried and dead-lettered.
    The record still fails — with the first error — so it is retried; consumers are idempotent."""
    failed: BaseException | None = None
    for consumer in list(_stream_consumers.get(change.kind or "", [])) + list(_stream_consumers.get("*", [])):
        try:
            consumer(change)
        except Exception as exc:  # recorded; the others still run; raised below
            logger.exception(
                "stream consumer failed",
                extra={"consumer": getattr(consumer, "__qualname__", str(consumer)), "kind": change.kind},
            )
            failed = failed or exc
    if failed is not None:
        raise failed


def _stream_record(record: Any) -> None:
    raw = record.raw_event if hasattr(record, "raw_event") else record
    handle_change(decode(raw))


def _queue_record(record: Any) -> None:
    raw = record.raw_event if hasattr(record, "raw_event") else record
    message = json.loads(raw["body"])
    handler = _job_handlers.get(message.get("type", ""))
    if handler is None:
        # An unknown type is a poison message: fail it so it reaches the DLQ after the redrive count.
        raise ValueError(f"no handler for message type {message.get('type')!r}")
    handler(message)


def process_stream_batch(event: dict[str, Any]) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    _load_consumers()
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    result: dict[str, Any] = process_partial_response(
        event=event, record_handler=_stream_record, processor=processor, context=None
    )
    if result.get("batchItemFailures"):
        logger.warning("stream batch had failures", extra={"failed": len(result["batchItemFailures"])})
    return result


def process_queue_batch(event: dict[str, Any]) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    _load_consumers()
    processor = BatchProcessor(event_type=EventType.SQS)
    result: dict[str, Any] = process_partial_response(
        event=event, record_handler=_queue_record, processor=processor, context=None
    )
    if result.get("batchItemFailures"):
        logger.warning("queue batch had failures", extra={"failed": len(result["batchItemFailures"])})
    return result
