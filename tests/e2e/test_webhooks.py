"""Webhooks over real HTTP on the local stack: a receiver on loopback gets signed events; retries follow the stage
clock (advanced through `POST /v1/sandbox/clock`, never slept); a receiver that keeps failing ends dead-lettered and
visible in the log; redeliver sends it again."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chalicelib.domain import webhooks as W
from tests.api.claims.conftest import fresh, publish_task
from tests.api.identity.factory import PASSWORD, new_phone


class Receiver(ThreadingHTTPServer):
    """A merchant's webhook receiver on 127.0.0.1: records every request, answers from `script` then `default`."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: list[int] = []
        self.default = 200
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/taskhall/hook"

    def events(self) -> list[str]:
        with self.lock:
            return [h["X-Taskhall-Event"] for h, _ in self.got]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.got.append((dict(self.headers), body))
            status = self.server.script.pop(0) if self.server.script else self.server.default
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    srv = Receiver()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _account(http: Any, role: str) -> Any:
    from chalicelib.store import users

    phone = new_phone()
    code = http.post("/v1/auth/otp", {"phone": phone, "purpose": "register"}).json["dev_code"]
    reply = http.post("/v1/auth/register", {"phone": phone, "password": PASSWORD, "otp": code, "role": role})
    assert reply.status == 201, reply.body
    return users.get_user(reply.json["user"]["id"], consistent=True)


class _Who:
    def __init__(self, user: Any) -> None:
        self.id = user.user_id

    @property
    def token(self) -> str:
        return fresh(self)  # the stage clock moves past token lifetimes in these tests


def _subscribe(e2e: Any, merchant: _Who, receiver: Receiver, events: list[str]) -> dict[str, Any]:
    reply = e2e.http.post("/v1/webhooks", {"url": receiver.url, "events": events}, token=merchant.token)
    assert reply.status == 201, reply.body
    return reply.json


def _accepted_claim(e2e: Any, merchant: _Who) -> str:
    http = e2e.http
    worker = _Who(_account(http, "worker"))
    task_id = publish_task(merchant.id, slots=2)
    claim = http.post(f"/v1/tasks/{task_id}/claims", token=worker.token, headers={"X-Device-Id": "dev-e2e-whk"})
    assert claim.status == 201, claim.body
    cid = claim.json["id"]
    assert http.post(f"/v1/claims/{cid}/proof", {"text": "万达店"}, token=worker.token).status == 200
    ok = http.post(f"/v1/claims/{cid}/accept", {"rating": 5}, token=merchant.token)
    assert ok.status == 200, ok.body
    return cid


def _advance(e2e: Any, seconds: int) -> None:
    """What a tester does by hand: move the stage clock (the API runs the due schedules), then let the pump run."""
    tick = e2e.http.post("/v1/sandbox/clock", {"advance_s": seconds})
    assert tick.status == 200 and "webhook_requeue" not in tick.json["failed"], tick.body
    e2e.pump.drain()


def _delivery(e2e: Any, merchant: _Who, webhook_id: str) -> dict[str, Any]:
    reply = e2e.http.get(f"/v1/webhooks/{webhook_id}/deliveries", token=merchant.token)
    assert reply.status == 200, reply.body
    [item] = reply.json["items"]
    return item


def test_a_loopback_receiver_gets_claim_accepted_with_a_signature_that_verifies(e2e, receiver):
    from chalicelib.adapters import clock

    merchant = _Who(_account(e2e.http, "merchant"))
    made = _subscribe(e2e, merchant, receiver, ["claim.accepted"])
    claim_id = _accepted_claim(e2e, merchant)
    e2e.pump.drain()
    assert receiver.events() == ["claim.accepted"]
    headers, body = receiver.got[0]
    assert W.verify(made["secret"], headers["X-Taskhall-Signature"], body, now_ts=clock.now_ts())
    assert json.loads(body)["data"]["claim_id"] == claim_id
    item = _delivery(e2e, merchant, made["id"])
    assert headers["X-Taskhall-Delivery"] == item["id"]
    assert (item["status"], item["attempts"], item["response_code"]) == ("delivered", 1, 200)
    assert item["latency_ms"] is not None


def test_a_receiver_answering_500_five_times_gets_it_on_the_sixth_attempt(e2e, receiver):
    merchant = _Who(_account(e2e.http, "merchant"))
    made = _subscribe(e2e, merchant, receiver, ["claim.accepted"])
    receiver.script = [500] * 5
    _accepted_claim(e2e, merchant)
    e2e.pump.drain()
    assert len(receiver.got) == 1
    for failed in range(1, 6):
        _advance(e2e, W.retry_ceiling_s(failed))
        assert len(receiver.got) == failed + 1
    item = _delivery(e2e, merchant, made["id"])
    assert (item["status"], item["attempts"], item["response_code"]) == ("delivered", 6, 200)
    assert [h["response_code"] for h in item["history"]] == [500] * 5 + [200]
    assert len({h["X-Taskhall-Delivery"] for h, _ in receiver.got}) == 1


def test_a_receiver_that_keeps_failing_is_dead_lettered_and_redeliver_works(e2e, receiver):
    merchant = _Who(_account(e2e.http, "merchant"))
    made = _subscribe(e2e, merchant, receiver, ["claim.accepted"])
    receiver.default = 500
    _accepted_claim(e2e, merchant)
    e2e.pump.drain()
    for _ in range(30):
        _advance(e2e, W.CAP_S)
        item = _delivery(e2e, merchant, made["id"])
        if item["status"] == "dead":
            break
    assert item["status"] == "dead" and item["next_attempt_at"] is None, item
    assert item["response_code"] == 500 and item["attempts"] == len(receiver.got) >= 13
    _advance(e2e, W.CAP_S)
    assert len(receiver.got) == item["attempts"]  # dead means no more automatic attempts

    receiver.default = 200
    redo = e2e.http.post(f"/v1/webhooks/{made['id']}/deliveries/{item['id']}/redeliver", token=merchant.token)
    assert redo.status == 202, redo.body
    e2e.pump.drain()
    after = _delivery(e2e, merchant, made["id"])
    assert (after["status"], after["attempts"], after["response_code"]) == ("delivered", item["attempts"] + 1, 200)
    assert after["history"][-1]["manual"] is True


def test_a_receiver_that_never_answers_times_out_until_dead_lettered(e2e, monkeypatch):
    import socket

    # Deliveries run in this process (the pump); a short timeout keeps ~30 silent attempts fast.
    monkeypatch.setattr(W, "TIMEOUT_S", 0.3)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(128)  # the kernel completes connections; nobody ever reads or answers
    try:
        merchant = _Who(_account(e2e.http, "merchant"))
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
        made = e2e.http.post("/v1/webhooks", {"url": url, "events": ["claim.accepted"]}, token=merchant.token).json
        _accepted_claim(e2e, merchant)
        e2e.pump.drain()
        for _ in range(30):
            _advance(e2e, W.CAP_S)
            item = _delivery(e2e, merchant, made["id"])
            if item["status"] == "dead":
                break
    finally:
        silent.close()
    assert item["status"] == "dead" and item["response_code"] is None and item["last_error"] == "timeout", item
    assert item["attempts"] >= 13 and {h["error"] for h in item["history"]} == {"timeout"}
