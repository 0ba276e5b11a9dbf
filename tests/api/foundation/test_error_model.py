"""The error model of API.md: one shape, one mapping from typed errors to statuses, never internals."""

from __future__ import annotations

import json
import re
from typing import Literal

import pytest
from chalice import BadRequestError, Blueprint
from chalice.config import Config
from pydantic import BaseModel, Field

from chalicelib.domain import errors
from chalicelib.handlers import web
from chalicelib.handlers.web import PUBLIC, route
from tests.api.foundation.conftest import make_app

CHINESE = re.compile(r"[\u4e00-\u9fff]")

bp = Blueprint(__name__)

RAISES = {
    "bad": (errors.BadRequest(), 400),
    "unauthorized": (errors.Unauthorized(), 401),
    "forbidden": (errors.Forbidden("ACCOUNT_FROZEN", "账号已被冻结，如有疑问请提交申诉"), 403),
    "missing": (errors.NotFound(), 404),
    "conflict": (errors.Conflict("SLOTS_EXHAUSTED", "任务名额已满", {"slots": 0}), 409),
    "invalid": (errors.Invalid({"reward_fen": "应为正整数"}), 422),
    "limited": (errors.RateLimited(42), 429),
    "down": (errors.ServiceUnavailable(), 503),
}


class LeakyDatabaseError(Exception):
    pass


class OrderIn(BaseModel):
    title: str = Field(min_length=2, max_length=10)
    amount_fen: int = Field(gt=0)
    channel: str = Field(pattern="^(alipay|wechat)$")
    kind: Literal["deposit", "withdrawal", "refund"] = "deposit"


@route(bp, "/t/raise/{kind}", summary="raise a typed error", auth=PUBLIC)
def raise_typed(ctx: web.RequestContext, kind: str) -> None:
    raise RAISES[kind][0]


@route(bp, "/t/crash", summary="raise something unexpected", auth=PUBLIC)
def crash(ctx: web.RequestContext) -> None:
    raise LeakyDatabaseError("password=hunter2 at db-internal-7.cluster:5432 Traceback (most recent call last)")


@route(bp, "/t/orders", "POST", summary="validate a body", auth=PUBLIC, body=OrderIn)
def create_order(ctx: web.RequestContext, body: OrderIn) -> dict[str, object]:
    return body.model_dump()


@route(bp, "/t/no-body", "POST", summary="takes no body", auth=PUBLIC)
def no_body(ctx: web.RequestContext) -> dict[str, bool]:
    return {"ok": True}


@route(bp, "/t/gone", "DELETE", summary="answers 204", auth=PUBLIC, status=204)
def delete_thing(ctx: web.RequestContext) -> None:
    return None


@bp.route("/t/plain", methods=["GET"])
def plain_chalice_route() -> None:
    raise BadRequestError("chalice's own error text")


APP = make_app(bp)


@pytest.fixture
def api(serve):
    return serve(APP)


def assert_error_shape(reply, status: int, code: str, request_id_header: str = "X-Request-Id") -> dict:
    assert reply.status == status, reply.body
    body = reply.json
    assert set(body) == {"error", "request_id"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert CHINESE.search(body["error"]["message"]), body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    assert body["request_id"] == reply.headers[request_id_header]
    assert reply.headers["Content-Type"].startswith("application/json")
    return body


@pytest.mark.parametrize("kind", list(RAISES))
def test_typed_error_maps_to_its_status_in_the_error_shape(api, kind):
    err, status = RAISES[kind]
    body = assert_error_shape(api.get(f"/t/raise/{kind}"), status, err.code)
    assert body["error"]["message"] == err.message
    assert body["error"]["details"] == err.details


def test_rate_limited_error_sends_retry_after(api):
    reply = api.get("/t/raise/limited")
    assert reply.headers["Retry-After"] == "42"
    assert reply.json["error"]["details"] == {"retry_after_s": 42}


def test_unhandled_exception_is_500_without_internals_and_logged_with_request_id(api, log_lines):
    reply = api.get("/t/crash")

    body = assert_error_shape(reply, 500, "INTERNAL_ERROR")
    for leak in ("LeakyDatabaseError", "hunter2", "db-internal", "Traceback", "password", "File "):
        assert leak not in reply.body.decode(), leak
    [line] = log_lines.with_message("unhandled error")
    assert line["request_id"] == body["request_id"]
    assert line["exception_name"] == "LeakyDatabaseError"
    assert "hunter2" not in log_lines.text  # the log keeps the exception, minus the secret in its text


def test_malformed_json_is_400_malformed_json(api):
    reply = api.post("/t/orders", raw=b'{"title": "ab", "amount_fen": ')
    assert_error_shape(reply, 400, "MALFORMED_JSON")


def test_malformed_json_on_a_route_without_a_body_model_is_still_400(api):
    assert_error_shape(api.post("/t/no-body", raw=b"{nope"), 400, "MALFORMED_JSON")


def test_body_that_is_not_utf8_is_400_malformed_json(api):
    assert_error_shape(api.post("/t/orders", raw=b'{"title": "\xff\xfe"}'), 400, "MALFORMED_JSON")


def test_validation_failure_is_422_with_chinese_field_messages(api):
    reply = api.post("/t/orders", {"title": "x", "amount_fen": "lots", "channel": "cash", "extra": 1})

    body = assert_error_shape(reply, 422, "VALIDATION_FAILED")
    assert body["error"]["details"]["fields"] == {
        "title": "长度不能少于 2",
        "amount_fen": "应为整数",
        "channel": "格式不正确",
    }


def test_fractional_fen_and_unknown_choices_are_explained_in_chinese(api):
    reply = api.post("/t/orders", {"title": "问卷", "amount_fen": 1.5, "channel": "alipay", "kind": "gift"})
    assert reply.json["error"]["details"]["fields"] == {
        "amount_fen": "应为整数",
        "kind": "取值应为 'deposit'、'withdrawal'、'refund' 之一",
    }


def test_missing_fields_and_a_non_object_body_are_422(api):
    missing = assert_error_shape(api.post("/t/orders", {}), 422, "VALIDATION_FAILED")
    assert missing["error"]["details"]["fields"] == {"title": "必填", "amount_fen": "必填", "channel": "必填"}
    not_object = assert_error_shape(api.post("/t/orders", [1, 2]), 422, "VALIDATION_FAILED")
    assert not_object["error"]["details"]["fields"] == {"body": "应为对象"}


def test_valid_body_reaches_the_view(api):
    reply = api.post("/t/orders", {"title": "地推", "amount_fen": 150, "channel": "alipay"})
    assert reply.status == 200
    assert reply.json == {"title": "地推", "amount_fen": 150, "channel": "alipay", "kind": "deposit"}


def test_no_content_route_answers_an_empty_204(api):
    reply = api.delete("/t/gone")
    assert (reply.status, reply.body) == (204, b"")
    assert reply.headers["X-Request-Id"]


def test_method_not_allowed_is_405_in_the_error_shape_with_allow(api):
    reply = api.request("DELETE", "/t/orders")
    assert_error_shape(reply, 405, "METHOD_NOT_ALLOWED")
    assert reply.headers["Allow"] == "POST"


def test_unsupported_content_type_is_415_in_the_error_shape(api):
    reply = api.post("/t/orders", raw=b"title=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error_shape(reply, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_json_with_charset_is_accepted(api):
    reply = api.post(
        "/t/orders",
        {"title": "问卷", "amount_fen": 1, "channel": "wechat"},
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert reply.status == 200


def test_chalice_error_from_a_plain_route_is_reshaped(api):
    reply = api.get("/t/plain")
    body = assert_error_shape(reply, 400, "BAD_REQUEST")
    assert "chalice's own error text" not in json.dumps(body)


# ---------------------------------------------------------------- unknown routes
#
# API Gateway answers a path (or a path + method) that no route declares before our Lambda runs, with
# `403 {"message": "Missing Authentication Token"}`. The app cannot see such a request, so its 404 comes from
# the gateway: infra's gateway responses in AWS and devstack's gateway locally (both answer with API Gateway's
# `x-amzn-RequestId` header, not the app's X-Request-Id). chalice.test's LocalGateway behaves like bare API
# Gateway; these tests pin that and check the other two copies of the shape against `web.route_not_found_body`.


def test_in_process_gateway_answers_unknown_routes_before_the_app_runs(api, monkeypatch):
    seen = []
    monkeypatch.setattr(web, "_request_id", lambda request: seen.append(request) or "req_x")

    reply = api.get("/t/nowhere")

    assert reply.status == 403
    assert json.loads(reply.body) == {"message": "Missing Authentication Token"}
    assert seen == []


def test_local_gateway_answers_unknown_routes_with_404_in_the_error_shape(serve):
    from devstack.api import ApiGateway

    api = serve(APP)
    api._client.http._local_gateway = ApiGateway(APP, Config.create())
    for method, path in (("GET", "/v1/nowhere"), ("DELETE", "/t/orders")):
        reply = api.request(method, path)
        body = assert_error_shape(reply, 404, "NOT_FOUND", request_id_header="x-amzn-RequestId")
        assert body == web.route_not_found_body(body["request_id"])


def test_known_route_behind_the_local_gateway_uses_the_gateway_request_id(serve):
    from devstack.api import ApiGateway

    api = serve(APP)
    api._client.http._local_gateway = ApiGateway(APP, Config.create())
    reply = api.get("/t/raise/missing")
    body = assert_error_shape(reply, 404, "NOT_FOUND")
    assert body["request_id"] == reply.headers["x-amzn-RequestId"]


def test_deployed_gateway_responses_for_unknown_routes_render_the_error_shape():
    from infra.template import merge_template

    definition = merge_template("dev")["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    responses = definition["x-amazon-apigateway-gateway-responses"]
    for kind in ("MISSING_AUTHENTICATION_TOKEN", "INCOMPLETE_SIGNATURE"):
        assert responses[kind]["statusCode"] == "404"
        template = responses[kind]["responseTemplates"]["application/json"]
        rendered = template.replace("$context.requestId", "req-from-gateway")
        assert json.loads(rendered) == web.route_not_found_body("req-from-gateway")
