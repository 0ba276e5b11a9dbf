"""Event sources: the table stream and the two queues. Each hands its raw batch to the event spine."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.config import settings

bp = Blueprint(__name__)
_cfg = settings()

# Chalice needs the stream ARN as a literal at import; `infra/` rewrites the event source mapping to the
# merged table's `StreamArn` (docs/decisions/0010-stream-arn-and-event-sources.md). Locally the pump
# (devstack/pump.py) calls these functions.
_STREAM_ARN = _cfg.table_stream_arn or (
    f"arn:aws:dynamodb:{_cfg.region}:000000000000:table/{_cfg.table_name}/stream/1970-01-01T00:00:00.000"
)


@bp.on_dynamodb_record(stream_arn=_STREAM_ARN, batch_size=100, starting_position="TRIM_HORIZON", name="on_table_change")
def on_table_change(event: Any) -> dict[str, Any]:
    from chalicelib.services import events  # the consumers' graph: not for the API function's cold start

    return events.process_stream_batch(event.to_dict())


@bp.on_sqs_message(queue=_cfg.jobs_queue, batch_size=10, name="on_job")
def on_job(event: Any) -> dict[str, Any]:
    from chalicelib.services import events

    return events.process_queue_batch(event.to_dict())


# Each webhook message may wait up to 10 s for a merchant's receiver: two per batch fit the 30 s Lambda timeout,
# where ten slow receivers would time the whole batch out and send it round again (docs/decisions/0072).
@bp.on_sqs_message(queue=_cfg.webhooks_queue, batch_size=2, name="on_webhook")
def on_webhook(event: Any) -> dict[str, Any]:
    from chalicelib.services import events

    return events.process_queue_batch(event.to_dict())
