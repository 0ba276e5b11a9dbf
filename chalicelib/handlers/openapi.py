"""The OpenAPI 3.1 document, generated from the pydantic models and route specs registered by `web.route`.

The document describes the routes an app actually has (`app.routes`), each with the spec `web.route` kept
for it, so a test-only blueprint never leaks into it and a route missing from it is a test failure.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.handlers.web import RouteSpec, route_spec

_REF = "#/components/schemas/{model}"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "request_id"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        },
        "request_id": {"type": "string"},
    },
}

_STATUS_TEXT = {
    400: "请求格式有误",
    401: "未登录或凭证无效",
    403: "无权操作",
    404: "不存在或不属于你",
    409: "状态冲突",
    422: "校验失败",
    429: "请求过于频繁",
    500: "服务器错误",
    503: "服务暂时不可用",
}
_RETRY_AFTER = {"description": "多少秒后可以重试", "schema": {"type": "integer", "minimum": 1}}


def _path_params(path: str) -> list[str]:
    return re.findall(r"{([^}]+)}", path)


def _query_parameters(model: type[BaseModel], defs: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=_REF)
    defs.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        params.append(
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": prop,
                **({"description": prop["description"]} if "description" in prop else {}),
            }
        )
    return params


def _operation(
    path: str,
    spec: RouteSpec,
    names: dict[tuple[type[BaseModel], str], str],
    defs: dict[str, Any],
    operation_id: str,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": operation_id,
        "summary": spec.summary,
        "tags": list(spec.tags) or ["misc"],
    }
    params: list[dict[str, Any]] = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1, "maxLength": 64}}
        for p in _path_params(path)
    ]
    if spec.query is not None:
        params.extend(_query_parameters(spec.query, defs))
    if spec.idempotency != "none":
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": spec.idempotency == "required",
                "schema": {"type": "string", "minLength": 1, "maxLength": 128},
            }
        )
    if params:
        op["parameters"] = params
    if spec.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": names[(spec.body, "validation")]}}},
        }
    responses: dict[str, Any] = {}
    if spec.response is not None:
        ok_schema: dict[str, Any] = {"$ref": names[(spec.response, "serialization")]}
        responses[str(spec.status)] = {
            "description": "成功",
            "content": {spec.response_content_type: {"schema": ok_schema}},
        }
    elif spec.response_content_type != "application/json":
        responses[str(spec.status)] = {
            "description": "成功",
            "content": {spec.response_content_type: {"schema": {"type": "string"}}},
        }
    else:
        responses[str(spec.status)] = {"description": "成功"}
    error_codes = set(spec.errors) | {400, 500}
    if spec.body is not None or spec.query is not None:
        error_codes.add(422)
    if spec.auth != "public":
        error_codes |= {401, 403}
    if _path_params(path):
        error_codes.add(404)
    if spec.idempotency != "none":
        error_codes |= {409, 422}  # 422: a malformed Idempotency-Key header, on routes with no body or query too
    for code in sorted(error_codes):
        responses[str(code)] = {
            "description": _STATUS_TEXT.get(code, "错误"),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        if code in (429, 503) or (code == 409 and spec.idempotency != "none"):
            responses[str(code)]["headers"] = {"Retry-After": _RETRY_AFTER}
    op["responses"] = responses
    if spec.auth != "public":
        op["security"] = [{"bearer": []}, {"merchantSignature": []}]
    return op


def registered(app: Any) -> list[tuple[str, RouteSpec]]:
    """(path as the app serves it, spec) for every route of `app` declared through `web.route`."""
    out = []
    for path, methods in app.routes.items():
        for entry in methods.values():
            spec = route_spec(entry.view_function)
            if spec is not None:
                out.append((path, spec))
    return out


@lru_cache(maxsize=4)
def document(app: Any) -> dict[str, Any]:
    """The document for `app`'s routes. A route mounted lazily loads its handler module here (handlers/routing.py)."""
    return _build(tuple(registered(app)))


def _build(routes: tuple[tuple[str, RouteSpec], ...]) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], str]] = []
    for _, spec in routes:
        if spec.body is not None:
            models.append((spec.body, "validation"))
        if spec.response is not None:
            models.append((spec.response, "serialization"))
    defs: dict[str, Any] = {}
    names: dict[tuple[type[BaseModel], str], str] = {}
    if models:
        key_map, top = models_json_schema(list(dict.fromkeys(models)), ref_template=_REF)
        defs.update(top.get("$defs", {}))
        names = {k: v["$ref"] for k, v in key_map.items()}
    paths: dict[str, dict[str, Any]] = {}
    seen_ids: set[str] = set()
    for path, spec in sorted(routes, key=lambda r: (r[0], r[1].method)):
        op_id = spec.view_name
        if op_id in seen_ids:  # two features may name a view alike; operationIds must stay unique
            op_id = f"{spec.method.lower()}_{re.sub(r'[^A-Za-z0-9]+', '_', path).strip('_')}"
        seen_ids.add(op_id)
        paths.setdefault(path, {})[spec.method.lower()] = _operation(path, spec, names, defs, op_id)
    defs["Error"] = ERROR_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Taskhall 任务大厅 API",
            "version": "1.0.0",
            "description": "众包任务市场后端。金额单位为分（整数），时间为 RFC 3339 UTC。",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": defs,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "merchantSignature": {"type": "apiKey", "in": "header", "name": "X-Taskhall-Signature"},
            },
        },
    }
