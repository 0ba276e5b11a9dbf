"""Webhook deliveries: stream fan-out, signatures, idempotency, retries on the stage clock, dead letters,
disabling a failing endpoint, redelivery and the DNS check at send time."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters import clock as stage_clock
from chalicelib.domain import webhooks as W
from chalicelib.services import events
from chalicelib.services import webhooks as service
from chalicelib.store import webhooks as store
from tests.api.claims.conftest import fresh
from tests.api.webhooks.conftest import PUBLIC_IP, accepted_claim, deliveries, queued_messages, register
from tests.conftest import stream_records


def _at(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _only(items: list[dict[str, Any]], event: str) -> dict[str, Any]:
    found = [d for d in items if d["event"] == event]
    assert len(found) == 1, items
    return found[0]


def test_claim_submitted_and_accepted_reach_the_endpoint_signed(api, users, merchant, receiver, pump):
    made = register(api, merchant)
    task_id, claim_id = accepted_claim(api, users, merchant)
    pump.drain()
    assert [r.headers["X-Taskhall-Event"] for r in receiver.got] == ["claim.submitted", "claim.accepted"]
    got = receiver.got[1]
    assert (got.address, got.host, got.path) == (PUBLIC_IP, "hooks.example.com", "/taskhall")
    assert W.verify(made["secret"], got.headers["X-Taskhall-Signature"], got.body, now_ts=stage_clock.now_ts())
    assert not W.verify("whsec_wrong", got.headers["X-Taskhall-Signature"], got.body, now_ts=stage_clock.now_ts())
    body = got.json
    assert body["type"] == "claim.accepted" and body["id"].startswith("evt_")
    assert body["data"]["claim_id"] == claim_id and body["data"]["task_id"] == task_id
    assert body["data"]["status"] == "accepted" and body["data"]["reward_fen"] == 1_000
    log = deliveries(api, merchant, made["id"])
    accepted = _only(log, "claim.accepted")
    assert accepted["id"] == got.headers["X-Taskhall-Delivery"] and accepted["event_id"] == body["id"]
    assert accepted["status"] == "delivered" and accepted["attempts"] == 1 and accepted["response_code"] == 200
    assert accepted["latency_ms"] == 12 and accepted["next_attempt_at"] is None and accepted["delivered_at"]
    assert sorted(d["event"] for d in log) == ["claim.accepted", "claim.submitted"]


def test_only_subscribed_active_endpoints_get_an_event(api, users, merchant, receiver, pump):
    wanted = register(api, merchant, events=["claim.accepted"])
    register(api, merchant, url="https://other.example.com/x", events=["task.completed"])
    accepted_claim(api, users, merchant)
    pump.drain()
    assert [(r.headers["X-Taskhall-Event"], r.host) for r in receiver.got] == [("claim.accepted", "hooks.example.com")]
    assert [d["event"] for d in deliveries(api, merchant, wanted["id"])] == ["claim.accepted"]
    # Another merchant's endpoint never hears of this merchant's claims.
    other = users.make("merchant")
    theirs = register(api, other)
    accepted_claim(api, users, merchant)
    pump.drain()
    assert deliveries(api, other, theirs["id"]) == []


def test_the_same_stream_batch_twice_creates_and_queues_nothing_new(api, users, merchant, receiver, pump):
    from app import app

    made = register(api, merchant)
    start = len(stream_records())
    accepted_claim(api, users, merchant)
    batch = {"Records": stream_records(start)}
    app.handler_map["on_table_change"](batch, None)
    first = queued_messages()
    app.handler_map["on_table_change"](batch, None)
    assert queued_messages() == []
    assert sorted(m["body"] for m in first) == sorted({m["body"] for m in first}) and len(first) == 2
    log = deliveries(api, merchant, made["id"])
    assert sorted(d["event"] for d in log) == ["claim.accepted", "claim.submitted"]
    assert all(d["status"] == "pending" and d["attempts"] == 0 for d in log)


def _log(api, merchant, webhook_id: str, event: str) -> dict[str, Any]:
    """The one delivery of `event` in the log (a fresh token: the stage clock moves past token lifetimes)."""
    reply = api.get(f"/v1/webhooks/{webhook_id}/deliveries", token=fresh(merchant))
    assert reply.status == 200, reply.body
    return _only(reply.json["items"], event)


def test_a_receiver_failing_five_times_gets_it_on_the_sixth_attempt(api, users, merchant, receiver, pump, clock):
    made = register(api, merchant, events=["claim.accepted"])
    receiver.script = [500, 502, "timeout", 503, "connection"]
    accepted_claim(api, users, merchant)
    pump.drain()
    assert len(receiver.got) == 1
    first = _log(api, merchant, made["id"], "claim.accepted")
    assert first["status"] == "pending" and first["attempts"] == 1 and first["response_code"] == 500
    # The first retry waits a minute (the floor equals the first ceiling); nothing goes out before it is due.
    assert _at(first["next_attempt_at"]) - _at(first["history"][0]["at"]) == timedelta(seconds=60)
    pump.tick(clock, 30)
    assert len(receiver.got) == 1
    for failed in range(1, 6):
        pump.tick(clock, W.retry_ceiling_s(failed))
        assert len(receiver.got) == failed + 1
    done = _log(api, merchant, made["id"], "claim.accepted")
    assert done["status"] == "delivered" and done["attempts"] == 6 and done["response_code"] == 200
    assert [h["response_code"] for h in done["history"]] == [500, 502, None, 503, None, 200]
    errors = [h["error"] for h in done["history"]]
    assert errors == ["http_status", "http_status", "timeout", "http_status", "connection", None]
    times = [_at(h["at"]) for h in done["history"]]
    for n, (a, b) in enumerate(itertools.pairwise(times), start=1):
        assert timedelta(seconds=W.FLOOR_S) <= b - a <= timedelta(seconds=W.retry_ceiling_s(n) + 30), n
    # The same delivery id and body every time; only the signature's timestamp changes.
    assert len({r.headers["X-Taskhall-Delivery"] for r in receiver.got}) == 1
    assert len({r.body for r in receiver.got}) == 1
    for r, t in zip(receiver.got, times, strict=True):
        assert W.verify(made["secret"], r.headers["X-Taskhall-Signature"], r.body, now_ts=int(t.timestamp()))


def _fail_until_dead(api, merchant, webhook_id: str, pump, clock) -> dict[str, Any]:
    for _ in range(40):
        pump.tick(clock, W.CAP_S)
        item = _log(api, merchant, webhook_id, "claim.accepted")
        if item["status"] == "dead":
            return item
    raise AssertionError("never dead-lettered")


def test_a_receiver_that_always_fails_is_dead_lettered_after_24_hours(api, users, merchant, receiver, pump, clock):
    made = register(api, merchant, events=["claim.accepted"])
    receiver.default = 500
    accepted_claim(api, users, merchant)
    pump.drain()
    created = _at(_log(api, merchant, made["id"], "claim.accepted")["created_at"])
    item = _fail_until_dead(api, merchant, made["id"], pump, clock)
    assert item["next_attempt_at"] is None and item["response_code"] == 500
    assert _at(item["history"][-1]["at"]) - created >= W.RETRY_WINDOW
    assert _at(item["history"][-2]["at"]) - created < W.RETRY_WINDOW
    assert len(receiver.got) == item["attempts"] >= 13
    pump.tick(clock, W.CAP_S * 3)
    assert len(receiver.got) == item["attempts"]  # nothing more after the dead letter
    assert _log(api, merchant, made["id"], "claim.accepted")["status"] == "dead"


def test_redeliver_sends_a_dead_delivery_again_and_records_the_manual_attempt(
    api, users, merchant, receiver, pump, clock
):
    made = register(api, merchant, events=["claim.accepted"])
    receiver.default = 500
    accepted_claim(api, users, merchant)
    pump.drain()
    dead = _fail_until_dead(api, merchant, made["id"], pump, clock)
    receiver.default = 204
    token = fresh(merchant)
    reply = api.post(f"/v1/webhooks/{made['id']}/deliveries/{dead['id']}/redeliver", token=token)
    assert reply.status == 202 and reply.json == {"id": dead["id"], "queued": True}
    pump.drain()
    again = _log(api, merchant, made["id"], "claim.accepted")
    assert again["status"] == "delivered" and again["attempts"] == dead["attempts"] + 1
    assert again["response_code"] == 204 and again["history"][-1]["manual"] is True
    assert receiver.got[-1].headers["X-Taskhall-Delivery"] == dead["id"]
    # A manual attempt that fails leaves the delivery as it was (dead stays dead, a schedule keeps its times).
    receiver.default = 500
    api.post(f"/v1/webhooks/{made['id']}/deliveries/{dead['id']}/redeliver", token=token)
    pump.drain()
    after = _log(api, merchant, made["id"], "claim.accepted")
    assert after["status"] == "delivered" and after["attempts"] == dead["attempts"] + 2
    assert after["response_code"] == 500
    missing = api.post(f"/v1/webhooks/{made['id']}/deliveries/dlv_nothing/redeliver", token=token)
    assert missing.status == 404 and missing.code == "DELIVERY_NOT_FOUND"


def test_an_address_that_turns_internal_after_registration_is_not_contacted(api, users, merchant, receiver, pump, dns):
    made = register(api, merchant, events=["claim.accepted"])
    dns.table["hooks.example.com"] = ["169.254.169.254"]  # DNS rebinding: public at registration, internal now
    accepted_claim(api, users, merchant)
    pump.drain()
    assert receiver.got == []
    item = _log(api, merchant, made["id"], "claim.accepted")
    assert item["status"] == "pending" and item["attempts"] == 1 and item["last_error"] == "webhook_url_forbidden"
    assert item["response_code"] is None


def _fail_once_at(merchant_id: str, object_id: str, pump) -> None:
    service.fan_out(merchant_id, "claim.accepted", object_id, service._iso(stage_clock.now()), {"claim_id": object_id})
    pump.drain()


def test_an_endpoint_failing_for_three_days_is_disabled_and_its_merchant_told(api, merchant, receiver, pump, clock):
    made = register(api, merchant, events=["claim.accepted"])
    receiver.default = 500
    _fail_once_at(merchant.id, "clm_1", pump)
    assert store.get_endpoint(merchant.id, made["id"]).failing_since is not None
    clock.advance(int(W.DISABLE_AFTER.total_seconds()) - 60)
    _fail_once_at(merchant.id, "clm_2", pump)
    assert store.get_endpoint(merchant.id, made["id"]).status == "active"
    clock.advance(60)
    _fail_once_at(merchant.id, "clm_3", pump)
    endpoint = store.get_endpoint(merchant.id, made["id"])
    assert endpoint.status == "disabled" and endpoint.disabled_at
    pump.drain()  # the stream turns the change into the notification
    token = fresh(merchant)
    notes = [n for n in api.get("/v1/notifications", token=token).json["items"] if n["type"] == "webhook.disabled"]
    assert len(notes) == 1 and notes[0]["title"] == "回调地址已停用" and made["id"] == notes[0]["ref"]
    assert "连续 3 天投递失败" in notes[0]["body"]
    listed = api.get("/v1/webhooks", token=token).json["items"]
    assert listed[0]["status"] == "disabled"
    # No new deliveries for a disabled endpoint; pending ones are cancelled when they come due.
    sent = len(receiver.got)
    _fail_once_at(merchant.id, "clm_4", pump)
    pump.tick(clock, W.CAP_S)
    assert len(receiver.got) == sent
    token = fresh(merchant)
    pending = api.get(f"/v1/webhooks/{made['id']}/deliveries", token=token).json["items"]
    assert {d["status"] for d in pending} <= {"cancelled", "dead"}
    assert any(d["status"] == "cancelled" and d["last_error"] == "endpoint_disabled" for d in pending)
    refused = api.post(f"/v1/webhooks/{made['id']}/deliveries/{pending[0]['id']}/redeliver", token=token)
    assert refused.status == 409 and refused.code == "WEBHOOK_DISABLED"


def test_a_success_restarts_the_three_day_failure_clock(api, merchant, receiver, pump, clock):
    made = register(api, merchant, events=["claim.accepted"])
    receiver.script = [500, 200]
    receiver.default = 500
    _fail_once_at(merchant.id, "clm_1", pump)
    clock.advance(2 * 86400)
    _fail_once_at(merchant.id, "clm_2", pump)  # answered 200
    assert store.get_endpoint(merchant.id, made["id"]).failing_since is None
    clock.advance(2 * 86400)
    _fail_once_at(merchant.id, "clm_3", pump)
    assert store.get_endpoint(merchant.id, made["id"]).status == "active"


def test_a_lost_queue_message_is_sent_after_the_lease(api, users, merchant, receiver, pump, clock):
    made = register(api, merchant, events=["claim.accepted"])
    accepted_claim(api, users, merchant)
    pump.stream()
    assert len(queued_messages()) == 1  # taken off the queue and dropped: the message is lost
    pump.tick(clock, 120)
    assert receiver.got == []
    pump.tick(clock, service.LEASE_S)
    assert len(receiver.got) == 1
    assert _log(api, merchant, made["id"], "claim.accepted")["status"] == "delivered"


def test_a_deleted_endpoints_pending_deliveries_are_cancelled(api, users, merchant, receiver, pump, clock):
    made = register(api, merchant, events=["claim.accepted"])
    receiver.default = 500
    accepted_claim(api, users, merchant)
    pump.drain()
    [delivery] = list(store.query_deliveries(made["id"], 0))
    assert api.delete(f"/v1/webhooks/{made['id']}", token=merchant.token).status == 204
    pump.tick(clock, 120)
    assert len(receiver.got) == 1
    gone = store.get_delivery(made["id"], delivery.delivery_id)
    assert gone.status == "cancelled" and gone.last_error == "endpoint_deleted" and gone.GSI2PK is None


def _change(kind: str, old: dict[str, Any] | None, new: dict[str, Any]) -> events.Change:
    return events.Change("e1", "MODIFY", kind, {}, new, old, "1")


def test_task_and_dispute_transitions_are_delivered(api, merchant, receiver, pump):
    register(api, merchant)
    at = "2026-11-25T08:00:00.000000Z"
    task = {"task_id": "tsk_1", "merchant_id": merchant.id, "title": "门店打卡", "updated_at": at}
    service.on_task(_change("task", {**task, "status": "pending_review"}, {**task, "status": "published"}))
    service.on_task(_change("task", {**task, "status": "pending_review"}, {**task, "status": "rejected"}))
    service.on_task(_change("task", {**task, "status": "published"}, {**task, "status": "completed"}))
    service.on_task(_change("task", {**task, "status": "published"}, {**task, "status": "paused"}))
    dispute = {"dispute_id": "dsp_1", "merchant_id": merchant.id, "claim_id": "clm_1", "resolved_at": at}
    service.on_dispute(
        _change("dispute", {**dispute, "status": "answered"}, {**dispute, "status": "resolved", "outcome": "split"})
    )
    pump.drain()
    got = {r.headers["X-Taskhall-Event"]: r.json for r in receiver.got}
    assert sorted(got) == ["dispute.resolved", "task.approved", "task.completed", "task.rejected"]
    assert got["task.approved"]["data"] == {"task_id": "tsk_1", "title": "门店打卡", "status": "published"}
    assert got["dispute.resolved"]["data"]["outcome"] == "split"


def test_the_delivery_log_pages_newest_first(api, merchant, receiver, pump, clock):
    made = register(api, merchant, events=["claim.accepted"])
    for n in range(3):
        clock.advance(1)
        service.fan_out(merchant.id, "claim.accepted", f"clm_{n}", service._iso(stage_clock.now()), {})
    pump.drain()
    first = api.get(f"/v1/webhooks/{made['id']}/deliveries?limit=2", token=merchant.token).json
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = api.get(
        f"/v1/webhooks/{made['id']}/deliveries?limit=2&cursor={first['next_cursor']}", token=merchant.token
    ).json
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    created = [d["created_at"] for d in first["items"] + second["items"]]
    assert created == sorted(created, reverse=True)


def test_a_transition_without_its_time_is_skipped_rather_than_dated_by_the_clock(api, merchant, receiver, pump):
    register(api, merchant)
    task = {"task_id": "tsk_2", "merchant_id": merchant.id, "title": "无时间"}
    service.on_task(_change("task", {**task, "status": "published"}, {**task, "status": "completed"}))
    assert queued_messages() == []
