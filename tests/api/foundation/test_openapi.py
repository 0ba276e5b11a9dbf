"""GET /v1/openapi.json: a valid OpenAPI 3.1 document of exactly the app's routes, built from the models."""

from __future__ import annotations

from typing import Literal

import pytest
from chalice import Blueprint
from openapi_spec_validator import validate
from pydantic import BaseModel, Field

from chalicelib.handlers import openapi, web
from chalicelib.handlers.pagination import Page, PageQuery
from chalicelib.handlers.web import PUBLIC, route
from tests.api.foundation.conftest import make_app

ERROR_REF = {"$ref": "#/components/schemas/Error"}

bp = Blueprint(__name__)


class GadgetIn(BaseModel):
    name: str = Field(min_length=1, max_length=40, description="名称")
    price_fen: int = Field(ge=0)


class GadgetOut(BaseModel):
    id: str
    name: str
    price_fen: int


class GadgetQuery(PageQuery):
    status: Literal["on", "off"] | None = None


@route(
    bp,
    "/t/gadgets",
    "POST",
    summary="create",
    tags=["t"],
    body=GadgetIn,
    response=GadgetOut,
    status=201,
    idempotency="optional",
)
def create_gadget(ctx: web.RequestContext, body: GadgetIn) -> GadgetOut:
    return GadgetOut(id="g_1", name=body.name, price_fen=body.price_fen)


@route(bp, "/t/gadgets", summary="list", tags=["t"], query=GadgetQuery, response=Page[GadgetOut], auth=PUBLIC)
def list_gadgets(ctx: web.RequestContext, query: GadgetQuery) -> Page[GadgetOut]:
    return Page[GadgetOut](items=[], next_cursor=None)


@route(bp, "/t/gadgets/{gadget_id}", summary="one", tags=["t"], response=GadgetOut, errors=(429,))
def get_gadget(ctx: web.RequestContext, gadget_id: str) -> GadgetOut:
    return GadgetOut(id=gadget_id, name="x", price_fen=0)


TEST_APP = make_app(bp)


@pytest.fixture(scope="module")
def app_document():
    from app import app

    return app, openapi.document(app)


def test_openapi_route_serves_a_valid_openapi_31_document(api):
    reply = api.get("/v1/openapi.json")

    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    doc = reply.json
    assert doc["openapi"] == "3.1.0"
    validate(doc)


def test_every_route_the_app_serves_is_in_the_document(app_document):
    app, doc = app_document
    served = {(path, method.lower()) for path, methods in app.routes.items() for method in methods}
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert served - documented == set(), "routes missing from /v1/openapi.json"
    assert documented - served == set(), "documented routes the app does not serve"


def test_every_route_declared_with_web_route_in_the_app_is_in_the_document(app_document):
    app, doc = app_document
    registered = openapi.registered(app)
    assert {spec.view_name for _, spec in registered} <= set(
        op["operationId"] for ops in doc["paths"].values() for op in ops.values()
    )
    for path, spec in registered:
        assert spec in web.routes()
        assert spec.method.lower() in doc["paths"][path], f"{spec.method} {path} is missing from the document"


def test_a_plain_chalice_route_would_be_reported_missing():
    """The check above can fail: a route added without `web.route` has no spec and no entry."""
    plain = Blueprint("plain")

    @plain.route("/t/undocumented")
    def undocumented() -> dict[str, str]:
        return {}

    scratch = make_app(plain)
    served = {(p, m.lower()) for p, ms in scratch.routes.items() for m in ms}
    documented = {(p, m) for p, ops in openapi.document(scratch)["paths"].items() for m in ops}
    assert served - documented == {("/t/undocumented", "get")}


def test_error_responses_reference_the_error_schema(app_document):
    _, doc = app_document
    schema = doc["components"]["schemas"]["Error"]
    assert schema["required"] == ["error", "request_id"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            errors = {code: r for code, r in op["responses"].items() if int(code) >= 400}
            assert {"400", "500"} <= set(errors), f"{method} {path}"
            for code, response in errors.items():
                assert response["content"]["application/json"]["schema"] == ERROR_REF, f"{method} {path} {code}"


def test_test_only_routes_do_not_leak_into_the_app_document(app_document):
    _, doc = app_document
    assert not any(path.startswith("/t/") for path in doc["paths"])
    assert "GadgetIn" not in doc["components"]["schemas"]


def test_request_and_response_schemas_come_from_the_pydantic_models():
    doc = openapi.document(TEST_APP)
    validate(doc)
    schemas = doc["components"]["schemas"]

    create = doc["paths"]["/t/gadgets"]["post"]
    body_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body_schema = schemas[body_ref.rsplit("/", 1)[1]]
    assert body_schema["properties"] == GadgetIn.model_json_schema()["properties"]
    assert body_schema["required"] == ["name", "price_fen"]
    ok = create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert schemas[ok.rsplit("/", 1)[1]]["properties"].keys() == {"id", "name", "price_fen"}
    assert {"401", "403", "409", "422"} <= create["responses"].keys()
    assert create["responses"]["409"]["headers"]["Retry-After"]["schema"]["type"] == "integer"
    assert {"name": "Idempotency-Key", "in": "header", "required": False} in [
        {k: p[k] for k in ("name", "in", "required")} for p in create["parameters"]
    ]
    assert create["security"]


def test_query_models_become_query_parameters_and_pages_their_own_schema():
    doc = openapi.document(TEST_APP)
    listing = doc["paths"]["/t/gadgets"]["get"]
    params = {p["name"]: p for p in listing["parameters"]}
    assert params["limit"]["schema"] == {
        "default": 20,
        "description": "每页条数，默认 20，最多 100",
        "maximum": 100,
        "minimum": 1,
        "title": "Limit",
        "type": "integer",
    }
    assert params["cursor"]["required"] is False
    assert params["status"]["in"] == "query"
    page_ref = listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = doc["components"]["schemas"][page_ref.rsplit("/", 1)[1]]
    assert page["required"] == ["items", "next_cursor"]
    assert page["properties"]["items"]["items"] == {"$ref": "#/components/schemas/GadgetOut"}
    assert "security" not in listing  # a public route


def test_path_parameters_and_declared_errors_are_documented():
    op = openapi.document(TEST_APP)["paths"]["/t/gadgets/{gadget_id}"]["get"]
    assert [p["name"] for p in op["parameters"] if p["in"] == "path"] == ["gadget_id"]
    assert {"404", "429"} <= op["responses"].keys()
    assert "Retry-After" in op["responses"]["429"]["headers"]


def _declare_show(bp: Blueprint, path: str) -> None:
    @route(bp, path, summary="a view named show", auth=PUBLIC)
    def show(ctx: web.RequestContext) -> dict[str, str]:
        return {}


def test_operation_ids_stay_unique_when_views_share_a_name():
    first, second = Blueprint("first"), Blueprint("second")
    _declare_show(first, "/t/one")  # two features' modules may both call their view `show`
    _declare_show(second, "/t/two")

    doc = openapi.document(make_app(first, second))
    validate(doc)
    op_ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert sorted(op_ids) == ["get_t_two", "show"]


def test_test_only_routes_are_not_in_the_product_route_registry():
    assert not [spec.path for spec in web.routes() if spec.path.startswith("/t/")]
