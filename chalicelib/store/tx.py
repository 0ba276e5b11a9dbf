"""One DynamoDB transaction, built from pynamodb models, whose failures come back by label.

pynamodb sends a TransactWrite's items grouped by type (checks, deletes, puts, updates), so the
`CancellationReasons` array follows that order, not the order of calls. `Tx` keeps the same grouping with a
label per item, so a caller learns *which* of its conditions failed (`TxCancelled.failed`) and maps it to
a domain error — no guessing from text. `run` retries the whole build on transaction conflicts and throttling,
which DynamoDB reports when concurrent transactions touch the same item.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError

from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.store.base import Item

MAX_ITEMS = 100
_RETRYABLE = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}

T = TypeVar("T")


class TxCancelled(Exception):
    """The transaction was cancelled by a condition. `failed` maps each failing label to its reason code."""

    def __init__(self, failed: dict[str, str], items: dict[str, dict[str, Any] | None]) -> None:
        super().__init__(f"transaction cancelled: {failed}")
        self.failed = failed
        self.items = items  # the current item for failed labels, when DynamoDB returned it

    def failed_label(self, prefix: str) -> str | None:
        for label, code in self.failed.items():
            if label.startswith(prefix) and code == "ConditionalCheckFailed":
                return label
        return None


class _Retryable(Exception):
    pass


def _connection() -> Connection:
    return Item._get_connection().connection


class Tx:
    def __init__(self) -> None:
        self._ops: dict[str, list[tuple[str, dict[str, Any]]]] = {"check": [], "delete": [], "put": [], "update": []}

    def __len__(self) -> int:
        return sum(len(v) for v in self._ops.values())

    def _add(self, kind: str, label: str, kwargs: dict[str, Any]) -> None:
        if any(label == lbl for ops in self._ops.values() for lbl, _ in ops):
            raise ValueError(f"duplicate transaction label {label}")
        kwargs["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        self._ops[kind].append((label, kwargs))

    def put(self, model: Item, *, label: str, condition: Any = None) -> Tx:
        self._add("put", label, model.get_save_kwargs_from_instance(condition=condition))
        return self

    def update(self, model: Item, actions: list[Any], *, label: str, condition: Any = None) -> Tx:
        self._add(
            "update",
            label,
            model.get_update_kwargs_from_instance(actions=actions, condition=condition, add_version_condition=False),
        )
        return self

    def delete(self, model: Item, *, label: str, condition: Any = None) -> Tx:
        self._add(
            "delete", label, model.get_delete_kwargs_from_instance(condition=condition, add_version_condition=False)
        )
        return self

    def update_raw(
        self, pk: str, sk: str, *, update: str, names: dict[str, str], values: dict[str, Any], label: str
    ) -> Tx:
        """An update pynamodb's models cannot express (counters whose names are data, e.g. rollups)."""
        from chalicelib.config import settings

        self._add(
            "update",
            label,
            {
                "TableName": settings().table_name,
                "Key": {"PK": {"S": pk}, "SK": {"S": sk}},
                "UpdateExpression": update,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            },
        )
        return self

    def check(self, model_cls: type[Item], pk: str, sk: str, condition: Any, *, label: str) -> Tx:
        self._add("check", label, model_cls.get_operation_kwargs_from_class(pk, range_key=sk, condition=condition))
        return self

    def _labels(self) -> list[str]:
        return [lbl for kind in ("check", "delete", "put", "update") for lbl, _ in self._ops[kind]]

    def commit(self) -> None:
        if len(self) == 0:
            return
        if len(self) > MAX_ITEMS:
            raise ValueError(f"a transaction holds at most {MAX_ITEMS} items, got {len(self)}")
        try:
            _connection().transact_write_items(
                condition_check_items=[kw for _, kw in self._ops["check"]],
                delete_items=[kw for _, kw in self._ops["delete"]],
                put_items=[kw for _, kw in self._ops["put"]],
                update_items=[kw for _, kw in self._ops["update"]],
                # botocore retries a request whose answer was lost (timeout, reset); with the same token
                # DynamoDB applies it once instead of failing the retry's conditions (moto ignores it).
                client_request_token=uuid.uuid4().hex,
            )
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            if not reasons:
                if exc.cause_response_code in _RETRYABLE or exc.cause_response_code in (
                    "ThrottlingException",
                    "ProvisionedThroughputExceededException",
                    "RequestLimitExceeded",
                    "InternalServerError",
                ):
                    raise _Retryable(exc.cause_response_code) from exc
                raise
            failed: dict[str, str] = {}
            items: dict[str, dict[str, Any] | None] = {}
            for label, reason in zip(self._labels(), reasons, strict=False):
                if reason is None or reason.code in (None, "None"):
                    continue
                failed[label] = reason.code
                items[label] = getattr(reason, "raw_item", None)
            if any(code in _RETRYABLE for code in failed.values()) and not any(
                code == "ConditionalCheckFailed" for code in failed.values()
            ):
                raise _Retryable(",".join(failed.values())) from exc
            raise TxCancelled(failed, items) from exc


def run(build: Callable[[], T], commit: Callable[[T], Any], attempts: int = 12) -> T:
    """Build and commit, rebuilding after conflicts/throttling with jittered exponential backoff."""
    delay = 0.005
    for attempt in range(attempts):
        built = build()
        try:
            commit(built)
            return built
        except _Retryable:
            if attempt == attempts - 1:
                break
            time.sleep(random.uniform(0, delay))
            delay = min(delay * 2, 0.2)
    raise ServiceUnavailable("BUSY_RETRY", "系统繁忙，请稍后重试")
