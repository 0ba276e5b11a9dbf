"""Request context: request id, device id, source IP, caller; log lines carry the request id."""

from __future__ import annotations

import re
import threading

import pytest
from chalice import Blueprint

from chalicelib.adapters.log import logger
from chalicelib.domain.errors import NotFound
from chalicelib.handlers import web
from chalicelib.handlers.web import PUBLIC, USER, route
from tests.api.foundation.conftest import bearer, make_app

REQUEST_ID = re.compile(r"^req_[0-9A-HJKMNP-TV-Z]{26}$")

bp = Blueprint(__name__)
_both_inside = threading.Barrier(2, timeout=10)


@route(bp, "/t/context", summary="echo the context", auth=PUBLIC)
def echo_context(ctx: web.RequestContext) -> dict[str, object]:
    logger.warning("inside the view", extra={"marker": "echo"})
    return {"request_id": ctx.request_id, "device_id": ctx.device_id, "source_ip": ctx.source_ip}


@route(bp, "/t/me", summary="echo the caller", auth=USER)
def echo_caller(ctx: web.RequestContext) -> dict[str, str]:
    return {"id": ctx.caller.id, "role": ctx.caller.role}


@route(bp, "/t/staff", summary="staff only", auth=("reviewer",))
def staff_only(ctx: web.RequestContext) -> dict[str, str]:
    return {"id": ctx.caller.id}


@route(bp, "/t/frozen-ok", summary="frozen callers allowed", auth=USER, allow_frozen=True)
def frozen_ok(ctx: web.RequestContext) -> dict[str, str]:
    return {"status": ctx.caller.status}


@route(bp, "/t/concurrent/{n}", summary="log while another request is in flight", auth=PUBLIC)
def concurrent(ctx: web.RequestContext, n: str) -> dict[str, str]:
    _both_inside.wait()  # both requests are inside their views before either logs
    logger.warning("concurrent", extra={"n": n})
    _both_inside.wait()
    return {"request_id": ctx.request_id}


@route(bp, "/t/missing", summary="raise NotFound after logging", auth=PUBLIC)
def missing(ctx: web.RequestContext) -> None:
    logger.warning("about to fail")
    raise NotFound()


APP = make_app(bp)


@pytest.fixture
def api(serve, identity):
    return serve(APP)


def test_request_id_header_is_the_context_request_id(api):
    reply = api.get("/t/context")
    assert reply.status == 200
    assert REQUEST_ID.match(reply.headers["X-Request-Id"])
    assert reply.json["request_id"] == reply.headers["X-Request-Id"]


def test_error_body_request_id_is_the_header_request_id(api):
    reply = api.get("/t/missing")
    assert reply.status == 404
    assert reply.json["request_id"] == reply.headers["X-Request-Id"]


def test_every_request_gets_its_own_request_id(api):
    ids = {api.get("/t/context").headers["X-Request-Id"] for _ in range(3)}
    assert len(ids) == 3


def test_device_id_and_source_ip_are_in_the_context(api):
    reply = api.get("/t/context", headers={"X-Device-Id": "ios-7F3A:c1.2_x"})
    assert reply.json["device_id"] == "ios-7F3A:c1.2_x"
    assert reply.json["source_ip"] == "127.0.0.1"  # from requestContext.identity.sourceIp, never a header


def test_forwarded_for_header_does_not_change_the_source_ip(api):
    reply = api.get("/t/context", headers={"X-Forwarded-For": "203.0.113.9"})
    assert reply.json["source_ip"] == "127.0.0.1"


@pytest.mark.parametrize("device", ["", "has space", "x" * 129, "emoji😀", "semi;colon"])
def test_malformed_device_id_is_422_naming_the_header(api, device):
    reply = api.get("/t/context", headers={"X-Device-Id": device})
    assert reply.status == 422
    assert reply.json["error"]["details"]["fields"] == {"X-Device-Id": "设备标识格式不正确"}


def test_user_route_without_credentials_is_401(api):
    reply = api.get("/t/me")
    assert reply.status == 401
    assert reply.json["error"]["code"] == "UNAUTHORIZED"


def test_user_route_sees_the_authenticated_caller(api):
    reply = api.get("/t/me", token=bearer("usr_A", "merchant"))
    assert reply.json == {"id": "usr_A", "role": "merchant"}


def test_role_restricted_route_refuses_other_roles_with_403(api):
    assert api.get("/t/staff", token=bearer("usr_W", "worker")).code == "ROLE_FORBIDDEN"
    assert api.get("/t/staff", token=bearer("usr_R", "reviewer")).status == 200
    assert api.get("/t/staff", token=bearer("usr_B", "admin")).status == 200  # admin may do what staff may


def test_frozen_caller_is_refused_unless_the_route_allows_it(api):
    token = bearer("usr_F", "worker", "frozen")
    refused = api.get("/t/me", token=token)
    assert (refused.status, refused.code) == (403, "ACCOUNT_FROZEN")
    assert api.get("/t/frozen-ok", token=token).json == {"status": "frozen"}


def test_log_lines_during_a_request_carry_its_request_id(api, log_lines):
    reply = api.get("/t/context")

    [line] = log_lines.with_message("inside the view")
    assert line["request_id"] == reply.headers["X-Request-Id"]
    assert line["marker"] == "echo"


def test_log_lines_of_a_failing_request_carry_its_request_id(api, log_lines):
    reply = api.get("/t/missing")
    [line] = log_lines.with_message("about to fail")
    assert line["request_id"] == reply.json["request_id"]


def test_request_id_is_not_left_on_the_logger_after_the_request(api, log_lines):
    api.get("/t/context")
    logger.warning("after the request")
    [line] = log_lines.with_message("after the request")
    assert "request_id" not in line


def test_concurrent_requests_log_their_own_request_ids(api, log_lines):
    replies: dict[str, str] = {}

    def call(n: str) -> None:
        replies[n] = api.get(f"/t/concurrent/{n}").headers["X-Request-Id"]

    threads = [threading.Thread(target=call, args=(n,)) for n in ("1", "2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)

    lines = {line["n"]: line["request_id"] for line in log_lines.with_message("concurrent")}
    assert lines == replies
    assert replies["1"] != replies["2"]
