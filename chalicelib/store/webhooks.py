"""Webhook endpoints (`USER#<merchant>`/`WHK#<id>`), their count, and deliveries (`WHK#<id>`/`D#<delivery>`).

A delivery waiting for an attempt sits on GSI2 `WHKDUE#<shard>` / `<due>#<webhook>#<delivery>` (sparse: it
leaves the index once delivered, dead or cancelled); the re-enqueue schedule reads it. Deliveries keep a log
retention TTL; an expired one is treated as absent when listed (moto and DynamoDB both delete late).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from pynamodb.attributes import JSONAttribute, ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, UpdateError

from chalicelib.store import keys, tx
from chalicelib.store.base import Item

DUE_SHARDS = 4
HISTORY_KEEP = 30  # attempts kept on a delivery's log


class WebhookEndpoint(Item, discriminator="webhook"):
    webhook_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    url = UnicodeAttribute()
    events = ListAttribute(of=UnicodeAttribute)
    secret_enc = UnicodeAttribute()  # crypto.encrypt_field envelope; the secret is shown once, at creation
    status = UnicodeAttribute()  # active | disabled
    created_at = UnicodeAttribute()
    failing_since = UnicodeAttribute(null=True)  # first failure since the last success
    last_success_at = UnicodeAttribute(null=True)
    disabled_at = UnicodeAttribute(null=True)


class WebhookCount(Item, discriminator="webhook_count"):
    n = NumberAttribute(default=0)


class WebhookDelivery(Item, discriminator="webhook_delivery"):
    delivery_id = UnicodeAttribute()
    webhook_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    event = UnicodeAttribute()
    event_id = UnicodeAttribute()
    body = UnicodeAttribute()  # the exact JSON sent (signed per attempt with a fresh timestamp)
    status = UnicodeAttribute()  # pending | delivered | dead | cancelled
    attempts = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    next_attempt_at = UnicodeAttribute(null=True)
    response_code = NumberAttribute(null=True)  # of the last attempt
    latency_ms = NumberAttribute(null=True)
    last_error = UnicodeAttribute(null=True)  # timeout | connection | address_forbidden | endpoint_disabled …
    delivered_at = UnicodeAttribute(null=True)
    history = JSONAttribute(null=True)  # [{at, code, latency_ms, error, manual}], newest last, capped


def due_shard(delivery_id: str) -> int:
    return hashlib.sha256(delivery_id.encode()).digest()[0] % DUE_SHARDS


def _due_attrs(delivery_id: str, webhook_id: str, due_iso: str) -> tuple[str, str]:
    return keys.webhook_due(due_shard(delivery_id)), keys.webhook_due_sk(due_iso, webhook_id, delivery_id)


def _conditional_failed(exc: PutError | UpdateError) -> bool:
    return exc.cause_response_code == "ConditionalCheckFailedException"


# ---------------------------------------------------------------- endpoints


def create_endpoint(endpoint: WebhookEndpoint, *, cap: int) -> bool:
    """Write the endpoint and count it, in one transaction; False if the merchant already has `cap`."""
    cpk, csk = keys.webhook_count(endpoint.merchant_id)

    def build() -> tx.Tx:
        t = tx.Tx()
        t.update(
            WebhookCount(PK=cpk, SK=csk),
            [WebhookCount.n.add(1), WebhookCount.kind.set(WebhookCount)],
            label="count",
            condition=WebhookCount.n.does_not_exist() | (WebhookCount.n < cap),
        )
        t.put(endpoint, label="endpoint", condition=WebhookEndpoint.PK.does_not_exist())
        return t

    try:
        tx.run(build, lambda t: t.commit())
    except tx.TxCancelled as exc:
        if exc.failed_label("count"):
            return False
        raise
    return True


def get_endpoint(merchant_id: str, webhook_id: str, *, consistent: bool = False) -> WebhookEndpoint | None:
    pk, sk = keys.webhook(merchant_id, webhook_id)
    try:
        return WebhookEndpoint.get(pk, sk, consistent_read=consistent)
    except WebhookEndpoint.DoesNotExist:
        return None


def list_endpoints(merchant_id: str, *, consistent: bool = False) -> list[WebhookEndpoint]:
    pk, prefix = keys.webhook_prefix(merchant_id)
    return list(WebhookEndpoint.query(pk, WebhookEndpoint.SK.startswith(prefix), consistent_read=consistent))


def delete_endpoint(merchant_id: str, webhook_id: str) -> bool:
    """Delete the endpoint and uncount it; False if it was not there."""
    pk, sk = keys.webhook(merchant_id, webhook_id)
    cpk, csk = keys.webhook_count(merchant_id)

    def build() -> tx.Tx:
        t = tx.Tx()
        t.delete(WebhookEndpoint(PK=pk, SK=sk), label="endpoint", condition=WebhookEndpoint.PK.exists())
        t.update(WebhookCount(PK=cpk, SK=csk), [WebhookCount.n.add(-1)], label="count")
        return t

    try:
        tx.run(build, lambda t: t.commit())
    except tx.TxCancelled as exc:
        if exc.failed_label("endpoint"):
            return False
        raise
    return True


def _endpoint_update(endpoint: WebhookEndpoint, actions: list[Any], condition: Any) -> bool:
    pk, sk = keys.webhook(endpoint.merchant_id, endpoint.webhook_id)
    try:
        WebhookEndpoint(PK=pk, SK=sk).update(actions=actions, condition=WebhookEndpoint.PK.exists() & condition)
    except UpdateError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


def mark_success(endpoint: WebhookEndpoint, at_iso: str) -> None:
    _endpoint_update(
        endpoint,
        [WebhookEndpoint.last_success_at.set(at_iso), WebhookEndpoint.failing_since.remove()],
        WebhookEndpoint.status == "active",
    )


def mark_failing(endpoint: WebhookEndpoint, at_iso: str) -> bool:
    """Start the failure clock, unless it already runs; True if this call started it."""
    return _endpoint_update(
        endpoint, [WebhookEndpoint.failing_since.set(at_iso)], WebhookEndpoint.failing_since.does_not_exist()
    )


def disable(endpoint: WebhookEndpoint, at_iso: str) -> bool:
    """active → disabled, once (the stream turns the change into the merchant's notification)."""
    return _endpoint_update(
        endpoint,
        [WebhookEndpoint.status.set("disabled"), WebhookEndpoint.disabled_at.set(at_iso)],
        (WebhookEndpoint.status == "active") & (WebhookEndpoint.failing_since == endpoint.failing_since),
    )


# ---------------------------------------------------------------- deliveries


def put_delivery_once(delivery: WebhookDelivery, *, due_iso: str) -> bool:
    """Write a new delivery, due at `due_iso`; False if this (endpoint, event) already has one."""
    delivery.GSI2PK, delivery.GSI2SK = _due_attrs(delivery.delivery_id, delivery.webhook_id, due_iso)
    try:
        delivery.save(condition=WebhookDelivery.PK.does_not_exist())
    except PutError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


def get_delivery(webhook_id: str, delivery_id: str, *, consistent: bool = True) -> WebhookDelivery | None:
    pk, sk = keys.webhook_delivery(webhook_id, delivery_id)
    try:
        return WebhookDelivery.get(pk, sk, consistent_read=consistent)
    except WebhookDelivery.DoesNotExist:
        return None


def query_deliveries(webhook_id: str, now_ts: int, **kwargs: Any) -> Any:
    """Newest first; an item past its retention is absent."""
    pk, prefix = keys.webhook_deliveries_prefix(webhook_id)
    return WebhookDelivery.query(
        pk,
        WebhookDelivery.SK.startswith(prefix),
        filter_condition=WebhookDelivery.expires_at.does_not_exist() | (WebhookDelivery.expires_at > now_ts),
        scan_index_forward=False,
        **kwargs,
    )


def due_deliveries(shard: int, now_iso: str, limit: int) -> Iterator[WebhookDelivery]:
    """Deliveries on one due shard whose time has come, oldest first."""
    # `#` sorts before `$`: every key `<due>#…` with due ≤ now is below `<now>$`.
    return WebhookDelivery.gsi2.query(
        keys.webhook_due(shard), WebhookDelivery.GSI2SK < f"{now_iso}$", limit=limit, page_size=limit
    )


def lease(delivery: WebhookDelivery, until_iso: str) -> bool:
    """Move a due delivery's index entry to `until_iso` (its message is on the queue; if it is lost, the entry
    comes due again then). Conditional on the entry seen, so two ticks never enqueue it twice."""
    pk, sk = keys.webhook_delivery(delivery.webhook_id, delivery.delivery_id)
    _, due_sk = _due_attrs(delivery.delivery_id, delivery.webhook_id, until_iso)
    try:
        WebhookDelivery(PK=pk, SK=sk).update(
            actions=[WebhookDelivery.GSI2SK.set(due_sk)],
            condition=(WebhookDelivery.GSI2SK == delivery.GSI2SK) & (WebhookDelivery.status == "pending"),
        )
    except UpdateError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


def unindex(delivery: WebhookDelivery) -> None:
    """Take a delivery that is no longer pending off the due index."""
    pk, sk = keys.webhook_delivery(delivery.webhook_id, delivery.delivery_id)
    try:
        WebhookDelivery(PK=pk, SK=sk).update(
            actions=[WebhookDelivery.GSI2PK.remove(), WebhookDelivery.GSI2SK.remove()],
            condition=WebhookDelivery.status != "pending",
        )
    except UpdateError as exc:
        if not _conditional_failed(exc):
            raise


def record_attempt(
    delivery: WebhookDelivery,
    *,
    status: str,
    entry: dict[str, Any],
    next_attempt_iso: str | None,
    delivered_iso: str | None = None,
    keep_schedule: bool = False,
) -> bool:
    """Record one attempt's outcome, if no other attempt was recorded since `delivery` was read.

    `status` is the delivery's new status; `next_attempt_iso` (pending only) puts it back on the due index.
    `keep_schedule` (a manual attempt that failed) leaves status, next attempt and index as they were.
    """
    pk, sk = keys.webhook_delivery(delivery.webhook_id, delivery.delivery_id)
    history = [*(delivery.history or []), entry][-HISTORY_KEEP:]
    code, error = entry.get("code"), entry.get("error")
    actions: list[Any] = [
        WebhookDelivery.attempts.set(int(delivery.attempts or 0) + 1),
        WebhookDelivery.history.set(history),
        WebhookDelivery.response_code.set(code) if code else WebhookDelivery.response_code.remove(),
        WebhookDelivery.latency_ms.set(int(entry["latency_ms"])),
        WebhookDelivery.last_error.set(error) if error else WebhookDelivery.last_error.remove(),
    ]
    if not keep_schedule:
        actions.append(WebhookDelivery.status.set(status))
        if delivered_iso:
            actions.append(WebhookDelivery.delivered_at.set(delivered_iso))
        if status == "pending" and next_attempt_iso:
            gpk, gsk = _due_attrs(delivery.delivery_id, delivery.webhook_id, next_attempt_iso)
            actions += [
                WebhookDelivery.next_attempt_at.set(next_attempt_iso),
                WebhookDelivery.GSI2PK.set(gpk),
                WebhookDelivery.GSI2SK.set(gsk),
            ]
        else:
            actions += [
                WebhookDelivery.next_attempt_at.remove(),
                WebhookDelivery.GSI2PK.remove(),
                WebhookDelivery.GSI2SK.remove(),
            ]
    seen = int(delivery.attempts or 0)
    condition = (
        WebhookDelivery.attempts == seen
        if seen
        else WebhookDelivery.attempts.does_not_exist() | (WebhookDelivery.attempts == 0)
    )
    try:
        WebhookDelivery(PK=pk, SK=sk).update(actions=actions, condition=condition)
    except UpdateError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


def cancel(delivery: WebhookDelivery, reason: str) -> bool:
    """A pending delivery whose endpoint is gone or disabled: off the index, with the reason in the log."""
    pk, sk = keys.webhook_delivery(delivery.webhook_id, delivery.delivery_id)
    try:
        WebhookDelivery(PK=pk, SK=sk).update(
            actions=[
                WebhookDelivery.status.set("cancelled"),
                WebhookDelivery.last_error.set(reason),
                WebhookDelivery.next_attempt_at.remove(),
                WebhookDelivery.GSI2PK.remove(),
                WebhookDelivery.GSI2SK.remove(),
            ],
            condition=WebhookDelivery.status == "pending",
        )
    except UpdateError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True
