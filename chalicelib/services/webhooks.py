"""Merchant webhooks: endpoints, fan-out of marketplace events from the stream, signed delivery with retries.

Flow (docs/decisions/0071–0073):
1. a stream consumer sees a task, claim or dispute transition and writes one delivery per subscribed endpoint,
   keyed by (endpoint, event), then queues a `webhook.deliver` message for each new one;
2. the queue handler sends it (signed, to an address checked again now) and records the attempt; a failure
   puts the delivery back on the due index at a jittered, growing delay on the stage clock;
3. a schedule job every minute re-enqueues due deliveries (SQS delays are capped at 15 minutes and tests
   advance the stage clock instead of sleeping), until the delivery succeeds or has been retried for 24 hours;
4. an endpoint whose deliveries have all failed for 3 days is disabled, and the merchant notified.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from chalicelib.adapters import clock, crypto, http_delivery, ids
from chalicelib.adapters.log import logger
from chalicelib.config import settings
from chalicelib.domain import webhooks as W
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.roles import Caller
from chalicelib.services import events
from chalicelib.store import cursor
from chalicelib.store import webhooks as store

JOB_TYPE = "webhook.deliver"
LEASE_S = 600  # a queued delivery comes due again after this long if its message never ran
RETENTION = timedelta(days=30)  # how long the delivery log keeps an entry
REQUEUE_BUDGET = 200  # due deliveries one schedule run re-enqueues per shard (the rest go next minute)
SECRET_FIELD = "webhook_secret"  # noqa: S105 - the name of the encrypted field, not a secret

_rng = random.SystemRandom()


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _parse(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def _relaxed() -> bool:
    """Stage `local` (`make run`, e2e) may call http:// receivers on loopback; every other stage may not."""
    return settings().stage == "local"


def _not_found() -> NotFound:
    return NotFound("WEBHOOK_NOT_FOUND", "回调地址不存在")


# ---------------------------------------------------------------- URL checks


def check_target(url: str) -> tuple[W.Target, list[str]]:
    """Parse the URL and resolve its host; outside stage `local` every address must be public (SSRF guard).

    Used at registration and again before every attempt (the DNS answer may have changed since)."""
    relaxed = _relaxed()
    target = W.parse_url(url, allow_http=relaxed)
    addresses = http_delivery.resolve(target.host, target.port)
    if relaxed:
        if not addresses:
            W.check_addresses(addresses)  # unresolvable
        return target, addresses
    return target, W.check_addresses(addresses)


# ---------------------------------------------------------------- endpoints


@dataclass(frozen=True)
class Created:
    endpoint: store.WebhookEndpoint
    secret: str


def create(caller: Caller, url: str, event_names: list[str]) -> Created:
    chosen = W.check_events(event_names)
    check_target(url)
    webhook_id = ids.new_id("whk")
    secret = "whsec_" + ids.token(32)
    pk, sk = store.keys.webhook(caller.id, webhook_id)
    endpoint = store.WebhookEndpoint(
        PK=pk,
        SK=sk,
        webhook_id=webhook_id,
        merchant_id=caller.id,
        url=url,
        events=chosen,
        secret_enc=crypto.encrypt_field(secret, owner=caller.id, field=f"{SECRET_FIELD}:{webhook_id}"),
        status="active",
        created_at=_iso(clock.now()),
    )
    if not store.create_endpoint(endpoint, cap=W.MAX_ENDPOINTS):
        raise Conflict("WEBHOOK_LIMIT_REACHED", f"最多可添加 {W.MAX_ENDPOINTS} 个回调地址，请先删除不用的")
    logger.info("webhook endpoint created", extra={"webhook_id": webhook_id, "merchant_id": caller.id})
    return Created(endpoint, secret)


def list_endpoints(caller: Caller) -> list[store.WebhookEndpoint]:
    return sorted(store.list_endpoints(caller.id), key=lambda e: e.created_at, reverse=True)


def _own(caller: Caller, webhook_id: str, *, consistent: bool = False) -> store.WebhookEndpoint:
    if not webhook_id.startswith("whk_") or len(webhook_id) > 64:
        raise _not_found()
    endpoint = store.get_endpoint(caller.id, webhook_id, consistent=consistent)
    if endpoint is None:
        raise _not_found()
    return endpoint


def delete(caller: Caller, webhook_id: str) -> None:
    _own(caller, webhook_id)
    if not store.delete_endpoint(caller.id, webhook_id):
        raise _not_found()
    logger.info("webhook endpoint deleted", extra={"webhook_id": webhook_id, "merchant_id": caller.id})


def deliveries_page(
    caller: Caller, webhook_id: str, *, limit: int, page_cursor: str | None
) -> tuple[list[store.WebhookDelivery], str | None]:
    _own(caller, webhook_id)
    return cursor.query_page(
        partial(store.query_deliveries, webhook_id, clock.now_ts()),
        scope=cursor.scope("webhook_deliveries", user=caller.id, webhook=webhook_id),
        limit=limit,
        cursor=page_cursor,
    )


def redeliver(caller: Caller, webhook_id: str, delivery_id: str) -> store.WebhookDelivery:
    """Queue one manual attempt now, whatever the delivery's state (a failed one keeps its own schedule)."""
    endpoint = _own(caller, webhook_id)
    delivery = store.get_delivery(webhook_id, delivery_id) if delivery_id.startswith("dlv_") else None
    if delivery is None or delivery.merchant_id != caller.id:
        raise NotFound("DELIVERY_NOT_FOUND", "投递记录不存在")
    if endpoint.status != "active":
        raise Conflict("WEBHOOK_DISABLED", "回调地址已停用，请删除后重新添加")
    http_delivery.enqueue(settings().webhooks_queue, [_message(delivery, manual=True)])
    logger.info("webhook redelivery queued", extra={"webhook_id": webhook_id, "delivery_id": delivery_id})
    return delivery


# ---------------------------------------------------------------- fan-out from the stream


def _message(delivery: store.WebhookDelivery, *, manual: bool = False) -> dict[str, Any]:
    return {
        "type": JOB_TYPE,
        "merchant_id": delivery.merchant_id,
        "webhook_id": delivery.webhook_id,
        "delivery_id": delivery.delivery_id,
        "manual": manual,
    }


def fan_out(merchant_id: str, event: str, object_id: str, at: str, data: dict[str, Any]) -> int:
    """One delivery per active endpoint subscribed to `event`; returns how many were new.

    Keys are deterministic, so the same stream record seen again writes nothing and queues nothing. A delivery
    written whose message was then lost (the record is retried, the write is not new) comes due after the lease.
    """
    endpoints = [e for e in store.list_endpoints(merchant_id) if e.status == "active" and event in e.events]
    if not endpoints:
        return 0
    evt_id = W.event_id(event, object_id, at)
    body = W.payload(event, evt_id, at, data).decode("utf-8")
    now = clock.now()
    event_at = _parse(at)
    fresh: list[dict[str, Any]] = []
    for endpoint in endpoints:
        dlv_id = W.delivery_id(endpoint.webhook_id, evt_id, event_at)
        pk, sk = store.keys.webhook_delivery(endpoint.webhook_id, dlv_id)
        delivery = store.WebhookDelivery(
            PK=pk,
            SK=sk,
            delivery_id=dlv_id,
            webhook_id=endpoint.webhook_id,
            merchant_id=merchant_id,
            event=event,
            event_id=evt_id,
            body=body,
            status="pending",
            attempts=0,
            created_at=_iso(now),
            next_attempt_at=_iso(now),
            expires_at=int((now + RETENTION).timestamp()),
        )
        if store.put_delivery_once(delivery, due_iso=_iso(now + timedelta(seconds=LEASE_S))):
            fresh.append(_message(delivery))
    http_delivery.enqueue(settings().webhooks_queue, fresh)
    if fresh:
        logger.info("webhook fan-out", extra={"event": event, "event_id": evt_id, "deliveries": len(fresh)})
    return len(fresh)


def _at(image: dict[str, Any], *names: str) -> str | None:
    """When the transition happened, from the image itself: a redelivered record must name the same event."""
    for name in names:
        if image.get(name):
            return str(image[name])
    return None


def _emit(kind: str, merchant_id: Any, event: str, object_id: Any, at: str | None, data: dict[str, Any]) -> None:
    if not merchant_id or not object_id or at is None:
        # Not guessable from the clock (a replay would then be a new event): say so and skip.
        logger.warning("webhook event without merchant, id or time", extra={"kind": kind, "event": event})
        return
    fan_out(str(merchant_id), event, str(object_id), at, data)


def _pick(image: dict[str, Any], *names: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        value = image.get(name)
        if value is None:
            continue
        # Stream images carry numbers as Decimal; the payload wants plain JSON numbers.
        out[name] = int(value) if hasattr(value, "as_integer_ratio") and not isinstance(value, bool) else value
    return out


@events.on_change("task")
def on_task(change: events.Change) -> None:
    new = change.new or {}
    for event in W.task_events(change.old, change.new):
        data = _pick(
            new, "task_id", "title", "status", "category", "reward_fen", "slots", "accepted_count", "review_reason"
        )
        _emit("task", new.get("merchant_id"), event, new.get("task_id"), _at(new, "updated_at", "closed_at"), data)


@events.on_change("claim")
def on_claim(change: events.Change) -> None:
    new = change.new or {}
    for event in W.claim_events(change.old, change.new):
        data = _pick(
            new,
            "claim_id",
            "task_id",
            "task_title",
            "worker_id",
            "status",
            "reward_fen",
            "submitted_at",
            "settled_at",
            "reject_reason",
            "accepted_by",
        )
        _emit("claim", new.get("merchant_id"), event, new.get("claim_id"), _at(new, "updated_at", "settled_at"), data)


@events.on_change("dispute")
def on_dispute(change: events.Change) -> None:
    new = change.new or {}
    for event in W.dispute_events(change.old, change.new):
        names = ("dispute_id", "dispute_kind", "claim_id", "task_id", "status", "outcome", "worker_paid_fen")
        data = _pick(new, *names, "resolved_at")
        at = _at(new, "resolved_at", "updated_at")
        _emit("dispute", new.get("merchant_id"), event, new.get("dispute_id"), at, data)


@events.on_change("webhook")
def on_endpoint(change: events.Change) -> None:
    """An endpoint just disabled after 3 days of failures: tell its merchant, once."""
    from chalicelib.services import notifications

    new, old = change.new or {}, change.old or {}
    if new.get("status") != "disabled" or old.get("status") != "active":
        return
    webhook_id = str(new["webhook_id"])
    at = str(new.get("disabled_at") or _iso(clock.now()))
    notifications.notify(
        str(new["merchant_id"]),
        f"webhook.disabled:{webhook_id}:{at}",
        at,
        "webhook.disabled",
        "回调地址已停用",
        f"你的回调地址 {new.get('url', '')} 连续 3 天投递失败，已被停用，期间的事件不再推送。"
        "请修复接收服务后删除该地址并重新添加。",
        webhook_id,
    )


# ---------------------------------------------------------------- delivery


def _attempt(endpoint: store.WebhookEndpoint, delivery: store.WebhookDelivery) -> http_delivery.Outcome:
    """One signed POST to an address checked now; a forbidden or unresolvable address is a failed attempt."""
    from chalicelib.domain.errors import Invalid

    try:
        target, addresses = check_target(endpoint.url)
    except Invalid as exc:
        return http_delivery.Outcome(status=None, latency_ms=0, error=exc.code.lower())
    secret = crypto.decrypt_field(
        endpoint.secret_enc, owner=endpoint.merchant_id, field=f"{SECRET_FIELD}:{endpoint.webhook_id}"
    )
    body = delivery.body.encode("utf-8")
    timestamp = clock.now_ts()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Taskhall-Webhooks/1",
        "X-Taskhall-Event": delivery.event,
        "X-Taskhall-Delivery": delivery.delivery_id,
        "X-Taskhall-Signature": W.signature_header(secret, timestamp, body),
    }
    return http_delivery.post(
        scheme=target.scheme,
        address=addresses[0],
        port=target.port,
        host=target.host,
        host_header=target.host_header,
        path=target.path,
        body=body,
        headers=headers,
        timeout_s=W.TIMEOUT_S,
    )


@events.on_job(JOB_TYPE)
def deliver(message: dict[str, Any]) -> None:
    webhook_id, delivery_id = str(message["webhook_id"]), str(message["delivery_id"])
    manual = bool(message.get("manual"))
    delivery = store.get_delivery(webhook_id, delivery_id)
    if delivery is None:
        return
    now = clock.now()
    if not manual:
        # A duplicate or stale message (SQS delivers at least once): only a due, pending delivery is attempted.
        if delivery.status != "pending":
            return
        if delivery.next_attempt_at and _parse(delivery.next_attempt_at) > now + timedelta(seconds=1):
            return
    endpoint = store.get_endpoint(delivery.merchant_id, webhook_id, consistent=True)
    if endpoint is None or endpoint.status != "active":
        reason = "endpoint_deleted" if endpoint is None else "endpoint_disabled"
        if store.cancel(delivery, reason):
            logger.info("webhook delivery cancelled", extra={"delivery_id": delivery_id, "reason": reason})
        return
    outcome = _attempt(endpoint, delivery)
    now = clock.now()
    entry = {
        "at": _iso(now),
        "code": outcome.status,
        "latency_ms": outcome.latency_ms,
        "error": outcome.error or (None if outcome.ok else "http_status"),
        "manual": manual,
    }
    attempts = int(delivery.attempts or 0) + 1
    status, next_iso, delivered_iso = "pending", None, None
    if outcome.ok:
        status, delivered_iso = "delivered", _iso(now)
    elif W.exhausted(_parse(delivery.created_at), now, attempts):
        status = "dead"
    else:
        next_iso = _iso(now + timedelta(seconds=W.retry_delay_s(attempts, _rng)))
    keep = manual and not outcome.ok
    if not store.record_attempt(
        delivery,
        status=status,
        entry=entry,
        next_attempt_iso=next_iso,
        delivered_iso=delivered_iso,
        keep_schedule=keep,
    ):
        logger.info("webhook attempt raced another", extra={"delivery_id": delivery_id})
    log_extra = {
        "webhook_id": webhook_id,
        "delivery_id": delivery_id,
        "event": delivery.event,
        "attempt": attempts,
        "status_code": outcome.status,
        "error": entry["error"],
        "latency_ms": outcome.latency_ms,
        "outcome": "kept" if keep else status,
    }
    if status == "dead" and not keep:
        logger.warning("webhook delivery dead-lettered", extra=log_extra)
    else:
        logger.info("webhook attempt", extra=log_extra)
    _track_endpoint(endpoint, ok=outcome.ok, now=now)


def _track_endpoint(endpoint: store.WebhookEndpoint, *, ok: bool, now: datetime) -> None:
    if ok:
        if endpoint.failing_since:
            store.mark_success(endpoint, _iso(now))
        return
    if not endpoint.failing_since:
        store.mark_failing(endpoint, _iso(now))
        return
    if W.should_disable(_parse(endpoint.failing_since), now) and store.disable(endpoint, _iso(now)):
        logger.warning(
            "webhook endpoint disabled after failing",
            extra={"webhook_id": endpoint.webhook_id, "failing_since": endpoint.failing_since},
        )


# ---------------------------------------------------------------- the schedule


def requeue_due(now: datetime) -> int:
    """Every minute: queue each delivery whose next attempt is due, leasing its index entry first."""
    now_iso = _iso(now)
    lease_iso = _iso(now + timedelta(seconds=LEASE_S))
    queued: list[dict[str, Any]] = []
    for shard in range(store.DUE_SHARDS):
        for delivery in store.due_deliveries(shard, now_iso, REQUEUE_BUDGET):
            if delivery.status != "pending":
                store.unindex(delivery)
            elif store.lease(delivery, lease_iso):
                queued.append(_message(delivery))
    http_delivery.enqueue(settings().webhooks_queue, queued)
    if queued:
        logger.info("webhook deliveries re-enqueued", extra={"count": len(queued)})
    return len(queued)
