"""The local pump: what Lambda's event source mappings and EventBridge do in AWS, done against the moto server.

It polls the table's stream and the `jobs` / `webhooks` queues and calls the very handler objects Lambda
would call (`app.handler_map[...]`, Chalice `EventSourceHandler`s) with raw Lambda-shaped event dicts, and
fires the `tick` schedule every few seconds of real time (the schedules themselves run on the stage clock).

Failure semantics follow Lambda's (docs/decisions/0012-local-stack.md):
- SQS (ReportBatchItemFailures): successful messages are deleted; failed ones are made visible again after
  `retry_delay_s` (AWS waits for the queue's visibility timeout; locally that would be 3 minutes), and the
  queue's redrive policy (moto applies it on receive) moves a message to its DLQ after `maxReceiveCount`.
- Stream (ReportBatchItemFailures, BisectBatchOnFunctionError, MaximumRetryAttempts from infra/template.py):
  the shard checkpoints before the lowest failed sequence number and retries from there; a function error
  (the handler raised, or answered nonsense) fails the whole batch and, with bisect on, halves it (halving
  does not count as a retry). When the record at the head has failed 1 + MaximumRetryAttempts times, the
  batch is discarded: a Lambda-style on-failure message (shard id, sequence range) goes to the stream DLQ
  and the shard moves on, so a poison record never blocks it.
A handler that raises counts as every record failed.

Use `run_forever(stop_event)` for `make run`, or `drain()` in tests to process until everything is quiet.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Not under "taskhall": that is the app's powertools logger, which would turn these lines into JSON.
log = logging.getLogger("devstack.pump")

Handler = Callable[[dict[str, Any], Any], Any]


# ---------------------------------------------------------------------------------------------- sources


@dataclass
class QueueSource:
    """One SQS event source mapping: a queue drained into a handler."""

    handler_name: str
    queue_url: str
    queue_arn: str
    batch_size: int = 10


@dataclass
class StreamSource:
    """The DynamoDB stream event source mapping."""

    handler_name: str
    stream_arn: str
    batch_size: int = 100
    max_retry_attempts: int = 5
    bisect_on_error: bool = True
    on_failure_queue_url: str | None = None


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    fetched_to: str | None = None  # sequence number of the last record read into `buffer`
    closed: bool = False  # GetRecords gave no next iterator: the shard is closed and read to its end
    buffer: list[dict[str, Any]] = field(default_factory=list)  # fetched, not yet checkpointed
    failing_seq: str | None = None  # the head record that keeps failing
    attempts: int = 0  # failed invocations with `failing_seq` at the head (bisect halvings excluded)
    invocations: int = 0  # every invocation of the current head, for the on-failure message
    limit: int = 0  # current batch size (halved by bisect)


@dataclass
class _Outcome:
    failed: list[str]  # identifiers that failed
    function_error: bool  # the handler raised or its response was invalid: the whole batch failed


@dataclass
class DrainReport:
    rounds: int = 0
    stream_records: int = 0
    messages: int = 0
    failures: int = 0
    ticks: int = 0


class PumpDidNotSettle(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------------- helpers


def _json_safe_attribute(value: Any) -> Any:
    """botocore AttributeValue → the JSON form Lambda puts in stream events (binary as base64 text)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, val in value.items():
            if key == "B" and isinstance(val, bytes | bytearray):
                out[key] = base64.b64encode(val).decode("ascii")
            elif key == "BS":
                out[key] = [base64.b64encode(v).decode("ascii") if isinstance(v, bytes | bytearray) else v for v in val]
            elif key == "M":
                out[key] = {k: _json_safe_attribute(v) for k, v in val.items()}
            elif key == "L":
                out[key] = [_json_safe_attribute(v) for v in val]
            else:
                out[key] = val
        return out
    return value


def _image(image: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if image is None else {k: _json_safe_attribute(v) for k, v in image.items()}


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value or time.time())


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _context(function_name: str) -> Any:
    from chalice.local import LambdaContext

    return LambdaContext(function_name=function_name, memory_size=1024, max_runtime_ms=30_000)


def _one_line(exc: BaseException) -> str:
    """`Type: message` on one line. powertools' BatchProcessingError carries the record tracebacks in its text;
    its last line names the record's own error."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    if len(lines) > 1:
        return f"{type(exc).__name__} ({lines[-1].strip()})"
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


def _outcome(response: Any, ids: list[str]) -> _Outcome:
    """Read a ReportBatchItemFailures response as Lambda does: anything malformed fails the whole batch."""
    if response is None:
        return _Outcome([], False)
    if not isinstance(response, dict):
        return _Outcome(list(ids), True)
    failures = response.get("batchItemFailures") or []
    known = set(ids)
    failed: list[str] = []
    for item in failures:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not ident or ident not in known:
            return _Outcome(list(ids), True)
        failed.append(str(ident))
    return _Outcome(failed, False)


# ---------------------------------------------------------------------------------------------- the pump


class Pump:
    """Feeds the stream, the queues and the schedule to the app's Lambda handlers."""

    def __init__(
        self,
        *,
        app: Any,
        stream: StreamSource | None,
        queues: list[QueueSource],
        region: str,
        endpoint_url: str | None = None,
        stage: str = "local",
        retry_delay_s: int = 1,
        wait_s: int = 1,
        tick_every_s: float = 5.0,
        idle_sleep_s: float = 0.2,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.app = app
        self.stream = stream
        self.queues = queues
        self.region = region
        self.stage = stage
        self.retry_delay_s = retry_delay_s
        self.wait_s = wait_s
        self.tick_every_s = tick_every_s
        self.idle_sleep_s = idle_sleep_s
        session = boto3.session.Session(region_name=region)
        cfg = Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=20)
        self._streams = session.client("dynamodbstreams", endpoint_url=endpoint_url, config=cfg)
        self._sqs = session.client("sqs", endpoint_url=endpoint_url, config=cfg)
        self._shards: dict[str, _Shard] = {}
        self._shards_seen_at = 0.0
        # queue url -> {message id: when the pump made it visible again}; drain() waits for these
        self._pending_retries: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ construction from the stack

    @classmethod
    def for_stack(cls, stack: Any, app: Any = None, endpoint_url: str | None = None, **options: Any) -> Pump:
        """Wire the app's event sources to the stack's resources, with the settings infra/template.py deploys."""
        from infra import template

        if app is None:
            from app import app as chalice_app

            app = chalice_app
        merged = template.merge_template(stack.stage)["Resources"]
        stream: StreamSource | None = None
        queues: list[QueueSource] = []
        for source in app.event_sources:
            kind = type(source).__name__
            function = "".join(part.capitalize() for part in source.name.split("_"))  # Chalice's resource name
            if kind == "DynamoDBEventConfig":
                if function != template.STREAM_FUNCTION:
                    raise ValueError(f"stream handler {source.name} is not wired in infra/template.py")
                events = merged[function]["Properties"]["Events"]
                props = next(iter(events.values()))["Properties"]
                dlq_logical = props["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
                stream = StreamSource(
                    handler_name=source.name,
                    stream_arn=stack.outputs["TABLE_STREAM_ARN"],
                    batch_size=source.batch_size,
                    max_retry_attempts=int(props["MaximumRetryAttempts"]),
                    bisect_on_error=bool(props["BisectBatchOnFunctionError"]),
                    on_failure_queue_url=stack.refs[dlq_logical],
                )
            elif kind == "SQSEventConfig":
                logical = template.QUEUE_LOGICAL[template.QUEUE_FUNCTIONS[function]]
                queues.append(
                    QueueSource(
                        handler_name=source.name,
                        queue_url=stack.refs[logical],
                        queue_arn=stack.attrs[(logical, "Arn")],
                        batch_size=min(source.batch_size, 10),
                    )
                )
        return cls(
            app=app,
            stream=stream,
            queues=queues,
            region=stack.region,
            endpoint_url=endpoint_url,
            stage=stack.stage,
            **options,
        )

    # ------------------------------------------------------------------ invoking handlers

    def _invoke(self, name: str, event: dict[str, Any], ids: list[str]) -> _Outcome:
        handler: Handler = self.app.handler_map[name]
        try:
            response = handler(event, _context(f"taskhall-{self.stage}-{name}"))
        except Exception as exc:
            log.warning("%s raised %s", name, _one_line(exc))
            return _Outcome(list(ids), True)
        return _outcome(response, ids)

    # ------------------------------------------------------------------ the stream

    def _refresh_shards(self) -> None:
        assert self.stream is not None
        desc = self._streams.describe_stream(StreamArn=self.stream.stream_arn)["StreamDescription"]
        for shard in desc.get("Shards", []):
            sid = shard["ShardId"]
            if sid not in self._shards:
                self._shards[sid] = _Shard(sid, shard.get("ParentShardId"), limit=self.stream.batch_size)
        self._shards_seen_at = time.monotonic()

    def _lambda_record(self, raw: dict[str, Any]) -> dict[str, Any]:
        assert self.stream is not None
        ddb = raw["dynamodb"]
        body: dict[str, Any] = {
            "ApproximateCreationDateTime": _epoch(ddb.get("ApproximateCreationDateTime")),
            "Keys": _image(ddb.get("Keys")) or {},
            "SequenceNumber": ddb["SequenceNumber"],
            "SizeBytes": ddb.get("SizeBytes", 0),
            "StreamViewType": ddb.get("StreamViewType", "NEW_AND_OLD_IMAGES"),
        }
        if "NewImage" in ddb:
            body["NewImage"] = _image(ddb["NewImage"])
        if "OldImage" in ddb:
            body["OldImage"] = _image(ddb["OldImage"])
        return {
            "eventID": raw["eventID"],
            "eventName": raw["eventName"],
            "eventVersion": raw.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": raw.get("awsRegion", self.region),
            "dynamodb": body,
            "eventSourceARN": self.stream.stream_arn,
        }

    def _fill(self, shard: _Shard) -> None:
        """Read new records into the buffer, from a fresh iterator positioned after the last one read.

        Iterators are not kept between polls: AWS expires them after 15 minutes, and moto orphans them
        whenever a transaction is cancelled (it restores a deep copy of the table, stream shard included,
        so an old iterator keeps reading a shard that no longer grows).
        """
        assert self.stream is not None
        if shard.closed or len(shard.buffer) >= self.stream.batch_size:
            return
        if shard.fetched_to is None:
            position = {"ShardIteratorType": "TRIM_HORIZON"}
        else:
            position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": shard.fetched_to}
        iterator: str | None = self._streams.get_shard_iterator(
            StreamArn=self.stream.stream_arn, ShardId=shard.shard_id, **position
        )["ShardIterator"]
        while iterator and len(shard.buffer) < self.stream.batch_size:
            resp = self._streams.get_records(ShardIterator=iterator, Limit=self.stream.batch_size)
            iterator = resp.get("NextShardIterator")
            records = [self._lambda_record(r) for r in resp.get("Records", [])]
            if records:
                shard.buffer.extend(records)
                shard.fetched_to = records[-1]["dynamodb"]["SequenceNumber"]
            if iterator is None:
                shard.closed = True
            if not records:
                return

    def _send_on_failure(self, shard: _Shard, batch: list[dict[str, Any]], function_error: bool) -> None:
        assert self.stream is not None
        first, last = batch[0]["dynamodb"], batch[-1]["dynamodb"]
        message: dict[str, Any] = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{self.region}:123456789012:function:taskhall-{self.stage}"
                f"-{self.stream.handler_name}",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": shard.invocations,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
            "version": "1.0",
            "timestamp": _iso(time.time()),
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(first["ApproximateCreationDateTime"]),
                "approximateArrivalOfLastRecord": _iso(last["ApproximateCreationDateTime"]),
                "batchSize": len(batch),
                "streamArn": self.stream.stream_arn,
            },
        }
        if function_error:
            message["responseContext"]["functionError"] = "Unhandled"
        if self.stream.on_failure_queue_url:
            self._sqs.send_message(QueueUrl=self.stream.on_failure_queue_url, MessageBody=json.dumps(message))
        log.warning(
            "stream  %s  discarded %d record(s) %s..%s after %d attempts -> stream DLQ",
            self.stream.handler_name,
            len(batch),
            first["SequenceNumber"],
            last["SequenceNumber"],
            shard.invocations,
        )

    def _shard_step(self, shard: _Shard) -> tuple[int, int]:
        """Invoke the handler once on this shard's next batch. Returns (records delivered, records failed)."""
        assert self.stream is not None
        self._fill(shard)
        if not shard.buffer:
            return 0, 0
        batch = shard.buffer[: shard.limit]
        seqs = [r["dynamodb"]["SequenceNumber"] for r in batch]
        started = time.monotonic()
        outcome = self._invoke(self.stream.handler_name, {"Records": batch}, seqs)
        ms = (time.monotonic() - started) * 1000
        if not outcome.failed:
            del shard.buffer[: len(batch)]
            shard.failing_seq, shard.attempts, shard.invocations = None, 0, 0
            shard.limit = self.stream.batch_size
            log.info("stream  %s  %d record(s) ok (%.0f ms)", self.stream.handler_name, len(batch), ms)
            return len(batch), 0
        failed = set(outcome.failed)
        head = next(i for i, s in enumerate(seqs) if s in failed)  # lowest failed sequence number
        del shard.buffer[:head]  # checkpoint: everything before it is done
        head_seq = seqs[head]
        if head_seq != shard.failing_seq:
            shard.failing_seq, shard.attempts, shard.invocations = head_seq, 0, 0
        shard.invocations += 1
        remaining = len(batch) - head
        if outcome.function_error and self.stream.bisect_on_error and remaining > 1:
            shard.limit = math.ceil(remaining / 2)  # bisect: not counted against the retry quota
            log.warning(
                "stream  %s  %d record(s) failed; bisecting to %d",
                self.stream.handler_name,
                len(batch),
                shard.limit,
            )
            return len(batch), len(failed)
        shard.attempts += 1
        if shard.attempts > self.stream.max_retry_attempts:
            discarded = batch[head:]
            self._send_on_failure(shard, discarded, outcome.function_error)
            del shard.buffer[: len(discarded)]
            shard.failing_seq, shard.attempts, shard.invocations = None, 0, 0
            shard.limit = self.stream.batch_size
        else:
            shard.limit = max(1, min(shard.limit, remaining)) if outcome.function_error else self.stream.batch_size
            log.warning(
                "stream  %s  %d of %d record(s) failed; retry %d/%d from %s",
                self.stream.handler_name,
                len(failed),
                len(batch),
                shard.attempts,
                self.stream.max_retry_attempts,
                head_seq,
            )
        return len(batch), len(failed)

    def poll_stream(self) -> tuple[int, int]:
        """One step on every shard whose parent is finished. Returns (records delivered, records failed)."""
        if self.stream is None:
            return 0, 0
        if not self._shards or time.monotonic() - self._shards_seen_at > 10:
            self._refresh_shards()
        delivered = failed = 0
        for sid, shard in list(self._shards.items()):
            if shard.parent_id and shard.parent_id in self._shards:
                continue  # Lambda finishes a parent shard before its children
            d, f = self._shard_step(shard)
            delivered, failed = delivered + d, failed + f
            if shard.closed and not shard.buffer:
                del self._shards[sid]  # closed and fully processed
        return delivered, failed

    # ------------------------------------------------------------------ the queues

    def _sqs_record(self, source: QueueSource, msg: dict[str, Any]) -> dict[str, Any]:
        attrs = {k: str(v) for k, v in msg.get("Attributes", {}).items()}
        message_attributes = {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": base64.b64encode(value["BinaryValue"]).decode("ascii")
                if "BinaryValue" in value
                else None,
                "stringListValues": value.get("StringListValues", []),
                "binaryListValues": value.get("BinaryListValues", []),
                "dataType": value.get("DataType", "String"),
            }
            for name, value in msg.get("MessageAttributes", {}).items()
        }
        return {
            "messageId": msg["MessageId"],
            "receiptHandle": msg["ReceiptHandle"],
            "body": msg["Body"],
            "attributes": attrs,
            "messageAttributes": message_attributes,
            "md5OfBody": msg.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": source.queue_arn,
            "awsRegion": self.region,
        }

    def poll_queue(self, source: QueueSource, wait_s: int = 0) -> tuple[int, int]:
        """Receive one batch and hand it to the handler. Returns (messages delivered, messages failed)."""
        resp = self._sqs.receive_message(
            QueueUrl=source.queue_url,
            MaxNumberOfMessages=source.batch_size,
            WaitTimeSeconds=wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = resp.get("Messages", [])
        if not messages:
            return 0, 0
        records = [self._sqs_record(source, m) for m in messages]
        ids = [r["messageId"] for r in records]
        started = time.monotonic()
        outcome = self._invoke(source.handler_name, {"Records": records}, ids)
        ms = (time.monotonic() - started) * 1000
        failed = set(outcome.failed)
        done = [r for r in records if r["messageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self._sqs.delete_message_batch(
                QueueUrl=source.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)],
            )
        with self._lock:
            pending = self._pending_retries.setdefault(source.queue_url, {})
            for r in done:
                pending.pop(r["messageId"], None)
        for r in records:
            if r["messageId"] in failed:
                # Lambda leaves a failed message invisible for the queue's visibility timeout; locally, shorter.
                self._sqs.change_message_visibility(
                    QueueUrl=source.queue_url, ReceiptHandle=r["receiptHandle"], VisibilityTimeout=self.retry_delay_s
                )
                with self._lock:
                    pending[r["messageId"]] = time.monotonic() + self.retry_delay_s
        if failed:
            log.warning(
                "queue   %s  %d message(s), %d failed -> retry in %ds (%.0f ms)",
                source.handler_name,
                len(records),
                len(failed),
                self.retry_delay_s,
                ms,
            )
        else:
            log.info("queue   %s  %d message(s) ok (%.0f ms)", source.handler_name, len(records), ms)
        return len(records), len(failed)

    # ------------------------------------------------------------------ the schedule

    def tick(self) -> list[str]:
        """What the one-minute EventBridge rule does: invoke `tick`, which runs what is due on the stage clock."""
        if "tick" not in self.app.handler_map:
            return []
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": _iso(time.time())[:-5] + "Z",
            "region": self.region,
            "resources": [f"arn:aws:events:{self.region}:123456789012:rule/taskhall-{self.stage}-tick"],
            "detail": {},
        }
        try:
            result = self.app.handler_map["tick"](event, _context(f"taskhall-{self.stage}-tick"))
        except Exception as exc:
            log.warning("tick raised %s", _one_line(exc))
            return []
        ran = list((result or {}).get("ran", [])) if isinstance(result, dict) else []
        if ran:
            log.info("tick    ran %s", ", ".join(ran))
        return ran

    # ------------------------------------------------------------------ driving it

    def _awaiting_retries(self, source: QueueSource, received: int) -> bool:
        """True while a message this pump failed may still come back on `source`.

        After a receive that returned nothing, a retry already due did not come back: the redrive policy
        moved it to the DLQ (or another consumer has it), so it is no longer waited for.
        """
        with self._lock:
            pending = self._pending_retries.get(source.queue_url, {})
            if not received:
                now = time.monotonic()
                for mid in [m for m, due in pending.items() if due <= now]:
                    del pending[mid]
            return bool(pending)

    def drain(self, max_rounds: int = 200, tick: bool = False) -> DrainReport:
        """Process the stream and queues until nothing is left to deliver and no retry of ours is pending.

        Messages the app itself delayed (`DelaySeconds`) are not waited for. Raises PumpDidNotSettle if
        work keeps arriving after `max_rounds` rounds (e.g. consumers that feed each other forever).
        """
        report = DrainReport()
        if tick:
            self.tick()
            report.ticks += 1
        while report.rounds < max_rounds:  # rounds that delivered something; waiting for retries is not a round
            busy = waiting = False
            delivered, failed = self.poll_stream()
            report.stream_records += delivered
            report.failures += failed
            busy = bool(delivered)
            for source in self.queues:
                delivered, failed = self.poll_queue(source, wait_s=0)
                report.messages += delivered
                report.failures += failed
                busy = busy or bool(delivered)
                waiting = self._awaiting_retries(source, delivered) or waiting
            if busy:
                report.rounds += 1
            elif waiting:
                time.sleep(0.05)
            else:
                return report
        raise PumpDidNotSettle(f"still busy after {max_rounds} rounds: {report}")

    def run_forever(self, stop: threading.Event) -> None:
        """Poll every source on its own thread (as Lambda polls each mapping independently) until `stop`."""

        def guarded(name: str, step: Callable[[], bool]) -> None:
            idle = self.idle_sleep_s
            while not stop.is_set():
                try:
                    busy = step()
                except Exception:
                    log.exception("%s poller failed; retrying", name)
                    busy = False
                if busy:
                    idle = self.idle_sleep_s
                else:
                    # Back off to 1 s when quiet: every empty GetRecords leaves one more iterator in moto.
                    stop.wait(idle)
                    idle = min(1.0, idle * 2)

        def stream_step() -> bool:
            return bool(self.poll_stream()[0])

        def queue_step(source: QueueSource) -> Callable[[], bool]:
            return lambda: bool(self.poll_queue(source, wait_s=self.wait_s)[0])

        def tick_loop() -> None:
            while not stop.wait(self.tick_every_s):
                self.tick()

        threads = [threading.Thread(target=guarded, args=("stream", stream_step), name="pump-stream", daemon=True)]
        threads += [
            threading.Thread(target=guarded, args=(s.handler_name, queue_step(s)), name=f"pump-{s.handler_name}")
            for s in self.queues
        ]
        threads.append(threading.Thread(target=tick_loop, name="pump-tick", daemon=True))
        for t in threads:
            t.daemon = True
            t.start()
        stop.wait()
        for t in threads:
            t.join(timeout=self.wait_s + 5)
