"""Idempotency-Key: first answer replayed, other body 409, duplicate in flight 409, errors not stored, 24 h."""

from __future__ import annotations

import contextlib
import datetime as real_datetime
import threading
import types
import uuid
from collections import Counter
from typing import Any

import pytest
from chalice import Blueprint, Response
from pydantic import BaseModel, Field

from chalicelib.adapters import ids
from chalicelib.config import settings
from chalicelib.domain.errors import Conflict
from chalicelib.handlers import web
from chalicelib.handlers.web import USER, route
from chalicelib.store import idempotency
from tests.api.foundation.conftest import bearer, make_app

ALICE, BOB = bearer("usr_ALICE"), bearer("usr_BOB")
CALLS: Counter[str] = Counter()
ENTERED, RELEASE = threading.Event(), threading.Event()


class LambdaTimedOut(BaseException):
    """What a Lambda timeout looks like from inside: the request stops, no handler code runs after it."""


class PayIn(BaseModel):
    amount_fen: int = Field(gt=0)
    note: str = ""


def _paid(name: str, body: PayIn) -> dict[str, Any]:
    CALLS[name] += 1
    return {"payment_id": ids.new_id("dep"), "amount_fen": body.amount_fen, "call": CALLS[name]}


bp = Blueprint(__name__)


@route(bp, "/t/pay", "POST", summary="pay", auth=USER, body=PayIn, status=201, idempotency="optional")
def pay(ctx: web.RequestContext, body: PayIn) -> dict[str, Any]:
    return _paid("pay", body)


@route(bp, "/t/pay-too", "POST", summary="another route", auth=USER, body=PayIn, status=201, idempotency="optional")
def pay_too(ctx: web.RequestContext, body: PayIn) -> dict[str, Any]:
    return _paid("pay-too", body)


@route(bp, "/t/must", "POST", summary="key required", auth=USER, body=PayIn, status=201, idempotency="required")
def must(ctx: web.RequestContext, body: PayIn) -> dict[str, Any]:
    return _paid("must", body)


@route(bp, "/t/slow", "POST", summary="blocks until released", auth=USER, body=PayIn, idempotency="required")
def slow(ctx: web.RequestContext, body: PayIn) -> dict[str, Any]:
    ENTERED.set()
    assert RELEASE.wait(10)
    return _paid("slow", body)


@route(bp, "/t/flaky", "POST", summary="409 first, then fine", auth=USER, body=PayIn, idempotency="required")
def flaky(ctx: web.RequestContext, body: PayIn) -> dict[str, Any]:
    if CALLS["flaky"] == 0:
        CALLS["flaky"] += 1
        raise Conflict("INSUFFICIENT_BALANCE", "余额不足，请先充值")
    return _paid("flaky", body)


@route(bp, "/t/broken", "POST", summary="500 first, then fine", auth=USER, body=PayIn, idempotency="required")
def broken(ctx: web.RequestContext, body: PayIn) -> dict[str, Any]:
    if CALLS["broken"] == 0:
        CALLS["broken"] += 1
        raise RuntimeError("downstream exploded")
    return _paid("broken", body)


@route(bp, "/t/crashy", "POST", summary="killed first, then fine", auth=USER, body=PayIn, idempotency="required")
def crashy(ctx: web.RequestContext, body: PayIn) -> dict[str, Any]:
    if CALLS["crashy"] == 0:
        CALLS["crashy"] += 1
        raise LambdaTimedOut()
    return _paid("crashy", body)


@route(bp, "/t/export", "POST", summary="answers text/csv", auth=USER, idempotency="required")
def export(ctx: web.RequestContext) -> Response:
    CALLS["export"] += 1
    return Response(
        body=f"id,call\n1,{CALLS['export']}\n",
        status_code=202,
        headers={"Content-Type": "text/csv; charset=utf-8", "X-Export": "yes"},
    )


@route(bp, "/t/refuse", "POST", summary="answers a 400 Response", auth=USER, idempotency="required")
def refuse(ctx: web.RequestContext) -> Response:
    CALLS["refuse"] += 1
    return Response(body={"provider": "rejected", "call": CALLS["refuse"]}, status_code=400)


@route(bp, "/t/binary", "POST", summary="answers bytes", auth=USER, idempotency="required")
def binary(ctx: web.RequestContext) -> Response:
    CALLS["binary"] += 1
    return Response(body=b"\x89PNG\r\n", headers={"Content-Type": "image/png"})


APP = make_app(bp)


@pytest.fixture
def api(shared_aws, serve, identity):
    CALLS.clear()
    ENTERED.clear()
    RELEASE.clear()
    return serve(APP)


@pytest.fixture
def key() -> str:
    return f"key-{uuid.uuid4()}"


class PowertoolsTime:
    """Moves the clock powertools' idempotency reads (`datetime.now()` in four of its modules)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset_s = 0.0
        outer = self

        class Shifted(real_datetime.datetime):
            @classmethod
            def now(cls, tz: Any = None) -> real_datetime.datetime:  # type: ignore[override]
                return real_datetime.datetime.now(tz) + real_datetime.timedelta(seconds=outer.offset_s)

        shim = types.SimpleNamespace(**{k: getattr(real_datetime, k) for k in dir(real_datetime) if k[0] != "_"})
        shim.datetime = Shifted
        from aws_lambda_powertools.utilities.idempotency import base
        from aws_lambda_powertools.utilities.idempotency.persistence import base as persistence_base
        from aws_lambda_powertools.utilities.idempotency.persistence import datarecord, dynamodb

        for module in (base, persistence_base, datarecord, dynamodb):
            monkeypatch.setattr(module, "dt", shim)

    def now(self) -> float:
        return real_datetime.datetime.now().timestamp() + self.offset_s

    def advance(self, seconds: float) -> None:
        self.offset_s += seconds


@pytest.fixture
def idem_time(monkeypatch: pytest.MonkeyPatch) -> PowertoolsTime:
    return PowertoolsTime(monkeypatch)


def records() -> list[dict[str, Any]]:
    """Every idempotency record in the table (a test may Scan; request paths never do)."""
    from boto3.dynamodb.types import TypeDeserializer

    client = idempotency._persistence().client
    items = client.scan(TableName=settings().table_name)["Items"]
    d = TypeDeserializer()
    return [{k: d.deserialize(v) for k, v in it.items()} for it in items if it["PK"]["S"].startswith("IDEM#")]


def record_of(scope: str, key: str) -> dict[str, Any]:
    """The record for (scope, key), found by the key powertools hashes it to."""
    [record] = [
        r
        for r in records()
        if r["PK"] == "IDEM#" + idempotency._persistence()._get_hashed_idempotency_key({"scope": scope, "key": key})
    ]
    return record


def post(api, path: str, body: Any, key: str | None, token: str = ALICE, **kw: Any):
    headers = {"Idempotency-Key": key} if key else {}
    return api.post(path, body, token=token, headers=headers, **kw)


def no_env_patching(api) -> None:
    """chalice.test swaps os.environ around each request; concurrent requests would restore it out of order."""
    api._client.http._patched_env_vars = lambda env: contextlib.nullcontext()


# ---------------------------------------------------------------- replay and reuse


def test_same_key_and_body_replays_the_first_response_and_runs_once(api, key):
    first = post(api, "/t/pay", {"amount_fen": 500}, key)
    again = post(api, "/t/pay", {"amount_fen": 500}, key)

    assert first.status == again.status == 201
    assert again.json == first.json
    assert CALLS["pay"] == 1
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["X-Request-Id"] != first.headers["X-Request-Id"]  # the replay is its own request


def test_body_equality_is_by_json_value_not_bytes(api, key):
    first = post(api, "/t/pay", None, key, raw=b'{"amount_fen": 500, "note": "x"}')
    again = post(api, "/t/pay", None, key, raw=b'{ "note":"x","amount_fen":500 }')
    assert again.json == first.json and CALLS["pay"] == 1


def test_same_key_with_another_body_is_409_key_reused(api, key):
    post(api, "/t/pay", {"amount_fen": 500}, key)
    reply = post(api, "/t/pay", {"amount_fen": 501}, key)

    assert (reply.status, reply.code) == (409, "IDEMPOTENCY_KEY_REUSED")
    assert reply.json["request_id"] == reply.headers["X-Request-Id"]
    assert CALLS["pay"] == 1


def test_same_key_with_another_query_string_is_409_key_reused(api, key):
    post(api, "/t/pay", {"amount_fen": 500}, key)
    reply = post(api, "/t/pay?dry_run=1", {"amount_fen": 500}, key)
    assert reply.code == "IDEMPOTENCY_KEY_REUSED"


def test_without_a_key_an_optional_route_runs_every_time(api):
    post(api, "/t/pay", {"amount_fen": 500}, None)
    post(api, "/t/pay", {"amount_fen": 500}, None)
    assert CALLS["pay"] == 2


def test_required_key_missing_is_400_and_the_view_does_not_run(api):
    reply = post(api, "/t/must", {"amount_fen": 500}, None)
    assert (reply.status, reply.code) == (400, "IDEMPOTENCY_KEY_REQUIRED")
    assert CALLS["must"] == 0


@pytest.mark.parametrize("bad", ["k" * 129, "tab\tkey"])
def test_malformed_key_is_422_naming_the_header(api, bad):
    reply = post(api, "/t/must", {"amount_fen": 500}, bad)
    assert reply.status == 422
    assert set(reply.json["error"]["details"]["fields"]) == {"Idempotency-Key"}


def test_invalid_body_is_422_and_stores_nothing(api, key):
    assert post(api, "/t/must", {"amount_fen": 0}, key).status == 422
    assert post(api, "/t/must", {"amount_fen": 5}, key).status == 201
    assert CALLS["must"] == 1


# ---------------------------------------------------------------- scope


def test_keys_are_scoped_per_caller(api, key):
    alice = post(api, "/t/pay", {"amount_fen": 500}, key, token=ALICE)
    bob = post(api, "/t/pay", {"amount_fen": 500}, key, token=BOB)
    assert CALLS["pay"] == 2
    assert alice.json["payment_id"] != bob.json["payment_id"]
    assert "Idempotent-Replayed" not in bob.headers


def test_keys_are_scoped_per_route(api, key):
    post(api, "/t/pay", {"amount_fen": 500}, key)
    other = post(api, "/t/pay-too", {"amount_fen": 500}, key)
    assert other.status == 201 and CALLS["pay-too"] == 1


# ---------------------------------------------------------------- failures store nothing


def test_a_4xx_from_the_view_stores_nothing_so_a_retry_runs_again(api, key):
    first = post(api, "/t/flaky", {"amount_fen": 500}, key)
    assert (first.status, first.code) == (409, "INSUFFICIENT_BALANCE")
    retry = post(api, "/t/flaky", {"amount_fen": 500}, key)
    assert retry.status == 200 and CALLS["flaky"] == 2
    assert "Idempotent-Replayed" not in retry.headers


def test_a_5xx_from_the_view_stores_nothing_so_a_retry_runs_again(api, key):
    assert post(api, "/t/broken", {"amount_fen": 500}, key).code == "INTERNAL_ERROR"
    assert post(api, "/t/broken", {"amount_fen": 500}, key).status == 200


def test_an_error_response_returned_by_the_view_is_not_stored(api, key):
    first = post(api, "/t/refuse", None, key)
    again = post(api, "/t/refuse", None, key)
    assert first.status == again.status == 400
    assert (first.json["call"], again.json["call"]) == (1, 2)


# ---------------------------------------------------------------- non-JSON answers


def test_a_chalice_response_is_stored_and_replayed_with_status_headers_and_body(api, key):
    first = post(api, "/t/export", None, key)
    again = post(api, "/t/export", None, key)
    assert (first.status, first.body) == (202, b"id,call\n1,1\n")
    assert (again.status, again.body) == (first.status, first.body)
    assert again.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert again.headers["X-Export"] == "yes"
    assert CALLS["export"] == 1


def test_a_binary_response_on_an_idempotent_route_is_a_logged_500_and_stores_nothing(api, key, log_lines):
    reply = post(api, "/t/binary", None, key)
    assert (reply.status, reply.code) == (500, "INTERNAL_ERROR")
    [line] = log_lines.with_message("unhandled error")
    assert "must not return a binary Response body" in line["exception"]
    assert post(api, "/t/binary", None, key).status == 500
    assert CALLS["binary"] == 2  # nothing was stored: the second attempt ran the view again


# ---------------------------------------------------------------- concurrency


def test_duplicate_while_the_first_is_running_is_409_in_progress(api, key):
    no_env_patching(api)
    results: dict[str, Any] = {}
    first = threading.Thread(target=lambda: results.update(first=post(api, "/t/slow", {"amount_fen": 9}, key)))
    first.start()
    try:
        assert ENTERED.wait(10)
        duplicate = post(api, "/t/slow", {"amount_fen": 9}, key)
        other_body = post(api, "/t/slow", {"amount_fen": 10}, key)
    finally:
        RELEASE.set()
        first.join(10)

    assert (duplicate.status, duplicate.code) == (409, "IDEMPOTENCY_IN_PROGRESS")
    assert duplicate.headers["Retry-After"] == "1"
    assert other_body.code == "IDEMPOTENCY_KEY_REUSED"
    assert results["first"].status == 200 and CALLS["slow"] == 1
    replay = post(api, "/t/slow", {"amount_fen": 9}, key)
    assert replay.json == results["first"].json and CALLS["slow"] == 1


def test_a_request_killed_mid_way_blocks_duplicates_only_until_its_in_progress_expiry(api, key, idem_time):
    with pytest.raises(LambdaTimedOut):
        post(api, "/t/crashy", {"amount_fen": 1}, key)
    record = record_of("usr_ALICE:POST /t/crashy", key)
    assert record["idem_status"] == "INPROGRESS"
    # The Lambda context's remaining time (30 s, the function timeout), not the 24 h retention.
    assert idem_time.now() * 1000 < float(record["in_progress_expiration"]) <= (idem_time.now() + 31) * 1000

    assert post(api, "/t/crashy", {"amount_fen": 1}, key).code == "IDEMPOTENCY_IN_PROGRESS"
    idem_time.advance(31)
    retry = post(api, "/t/crashy", {"amount_fen": 1}, key)
    assert retry.status == 200 and retry.json["call"] == 2  # the killed attempt, then this one


def test_without_a_lambda_context_the_in_progress_record_still_expires(shared_aws, idem_time, key):
    """powertools writes no in-progress expiry without a context; run_once supplies a 30 s fallback."""

    def killed() -> dict[str, Any]:
        raise LambdaTimedOut()

    def fine() -> dict[str, Any]:
        return {"status": 200, "headers": {}, "body": "ok"}

    args = {"scope": "usr_X:POST /t/none", "key": key, "payload": {"body": 1}}
    with pytest.raises(LambdaTimedOut):
        idempotency.run_once(**args, fn=killed, lambda_context=None)
    record = record_of(args["scope"], key)
    assert record["idem_status"] == "INPROGRESS"
    assert float(record["in_progress_expiration"]) <= (idem_time.now() + idempotency.IN_PROGRESS_FALLBACK_S) * 1000

    with pytest.raises(Conflict):
        idempotency.run_once(**args, fn=fine, lambda_context=None)
    idem_time.advance(idempotency.IN_PROGRESS_FALLBACK_S + 1)
    assert idempotency.run_once(**args, fn=fine, lambda_context=None) == (fine(), False)


# ---------------------------------------------------------------- retention


def test_records_are_kept_24_hours_then_the_key_runs_again(api, key, idem_time):
    first = post(api, "/t/pay", {"amount_fen": 500}, key)
    record = record_of("usr_ALICE:POST /t/pay", key)
    assert first.json["payment_id"] in record["idem_response"]
    assert abs(float(record["expires_at"]) - (idem_time.now() + 86_400)) <= 5
    assert record["PK"].startswith("IDEM#") and record["SK"] == "IDEM"

    idem_time.advance(86_400 - 60)
    assert post(api, "/t/pay", {"amount_fen": 500}, key).json == first.json
    idem_time.advance(120)
    later = post(api, "/t/pay", {"amount_fen": 500}, key)
    assert later.status == 201 and later.json != first.json and CALLS["pay"] == 2


def test_after_expiry_the_key_may_carry_another_body(api, key, idem_time):
    post(api, "/t/pay", {"amount_fen": 500}, key)
    idem_time.advance(86_401)
    assert post(api, "/t/pay", {"amount_fen": 999}, key).status == 201
