"""`Idempotency-Key` for POSTs that move money or take a slot, on powertools' idempotency utility.

Semantics (API.md): the first response for (caller, route, key) is stored for 24 h and replayed for the same
body; the same key with a different body is `409 IDEMPOTENCY_KEY_REUSED`; a duplicate that arrives while the
first is still running is `409 IDEMPOTENCY_IN_PROGRESS`; a request that fails (4xx or 5xx) stores nothing, so
it can be retried with the same key. Records live in the main table as `IDEM#<hash>` / `IDEM` with TTL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chalicelib.adapters import aws
from chalicelib.config import settings
from chalicelib.domain.errors import Conflict
from chalicelib.store import keys

RETENTION_S = 24 * 3600
# How long an in-progress record blocks duplicates when no Lambda context tells us the remaining time:
# the function timeout, after which the first attempt cannot still be running.
IN_PROGRESS_FALLBACK_S = 30
_layer: Any = None


def _persistence() -> Any:
    global _layer
    if _layer is None:
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        class SingleTablePersistence(DynamoDBPersistenceLayer):
            """Powertools' DynamoDB layer, keyed the single-table way (`IDEM#<hash>` / `IDEM`)."""

            def _get_key(self, idempotency_key: str) -> dict:
                pk, sk = keys.idempotency(idempotency_key)
                return {"PK": {"S": pk}, "SK": {"S": sk}}

            def _item_to_data_record(self, item: dict[str, Any]) -> Any:
                item = {**item, "PK": {"S": item["PK"]["S"].removeprefix("IDEM#")}}
                return super()._item_to_data_record(item)

        _layer = SingleTablePersistence(
            table_name=settings().table_name,
            key_attr="PK",
            sort_key_attr="SK",
            expiry_attr="expires_at",
            status_attr="idem_status",
            data_attr="idem_response",
            validation_key_attr="idem_payload_hash",
            boto3_client=aws.client("dynamodb"),
        )
    return _layer


def reset() -> None:
    global _layer
    _layer = None


class _FallbackContext:
    """Stands in for a Lambda context where there is none, so an in-progress record still expires.

    Without `get_remaining_time_in_millis` powertools writes no in-progress expiry, and a request that crashed
    mid-way would block every retry with the same key for the whole 24 h retention.
    """

    def __init__(self, budget_ms: int) -> None:
        self._deadline = time.monotonic() * 1000 + budget_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline - time.monotonic() * 1000))


def run_once(
    *,
    scope: str,
    key: str,
    payload: Any,
    fn: Callable[[], dict[str, Any]],
    lambda_context: Any = None,
) -> tuple[dict[str, Any], bool]:
    """Run `fn` at most once per (scope, key). Returns its JSON-able outcome, and whether it was a replay.

    An exception from `fn` stores nothing (powertools deletes the in-progress record) and propagates.
    """
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.base import IdempotencyHandler
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    config = IdempotencyConfig(
        event_key_jmespath="[scope, key]",
        payload_validation_jmespath="payload",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=RETENTION_S,
        hash_function="sha256",
    )
    if lambda_context is None or not hasattr(lambda_context, "get_remaining_time_in_millis"):
        lambda_context = _FallbackContext(IN_PROGRESS_FALLBACK_S * 1000)
    config.register_lambda_context(lambda_context)
    ran = False

    def outcome() -> dict[str, Any]:
        nonlocal ran
        ran = True
        return fn()

    handler = IdempotencyHandler(
        function=outcome,
        function_payload={"scope": scope, "key": key, "payload": payload},
        config=config,
        persistence_store=_persistence(),
        function_args=(),
        function_kwargs={},
        key_prefix="http",  # records do not depend on where the function object lives
    )
    try:
        result: dict[str, Any] = handler.handle()
    except IdempotencyValidationError:
        raise Conflict(
            "IDEMPOTENCY_KEY_REUSED", "该幂等键已用于另一个不同的请求，请换一个新的 Idempotency-Key"
        ) from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict(
            "IDEMPOTENCY_IN_PROGRESS", "相同的请求正在处理中，请稍后查看结果", headers={"Retry-After": "1"}
        ) from None
    return result, not ran
