"""The request machinery every route shares: context, parsing, auth, idempotency, responses, error mapping.

A route is declared once with `@route(bp, path, method, body=..., query=..., response=..., auth=...)`.
The decorator registers it with Chalice, records it for the OpenAPI document, and wraps the view so that:
- the body and query string are validated by pydantic models (400 malformed, 422 invalid),
- the caller is authenticated and role-checked (401/403), frozen accounts refused unless allowed,
- `Idempotency-Key` is honoured where the route moves money or takes a slot,
- every error leaves in the one shape of API.md, with a request id and never a stack trace.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from chalice import Blueprint, Chalice, Response
from pydantic import BaseModel, ValidationError

from chalicelib.adapters import ids
from chalicelib.adapters.log import logger
from chalicelib.domain.errors import (
    BadRequest,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    Unauthorized,
)
from chalicelib.domain.roles import ADMIN_ROLES, Caller

JSON_CT = "application/json; charset=utf-8"
_DEVICE_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

# Route options for `auth=`
PUBLIC = "public"
USER = "user"  # any signed-in person


@dataclass(frozen=True)
class RequestContext:
    """Who is calling and from where. Handlers pass the parts services need; services never see HTTP."""

    request_id: str
    source_ip: str
    device_id: str | None
    idempotency_key: str | None
    user: Caller | None
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    raw_body: bytes = field(default=b"", repr=False)
    path: str = ""
    method: str = "GET"
    query_string: str = ""
    app: Any = field(default=None, repr=False, compare=False)  # the Chalice app serving this request

    @property
    def caller(self) -> Caller:
        if self.user is None:  # routes with auth set never reach here without a user
            raise Unauthorized()
        return self.user


@dataclass(frozen=True)
class RouteSpec:
    path: str
    method: str
    view_name: str
    summary: str
    tags: tuple[str, ...]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    auth: str | tuple[str, ...]
    idempotency: str  # "none" | "optional" | "required"
    content_types: tuple[str, ...]
    response_content_type: str
    errors: tuple[int, ...]
    signed: bool = False  # merchant servers may call it with a request signature instead of a token
    module: str = ""  # the handler module that declares it


# (module, METHOD, path) → (spec, handle). `handle(app, **path_params)` serves one request of the route on `app`,
# whether the module's blueprint is registered there or the route was mounted lazily (handlers/routing.py).
HANDLERS: dict[tuple[str, str, str], tuple[RouteSpec, Callable[..., Response]]] = {}
_LOADING = threading.RLock()


# ---------------------------------------------------------------- responses


def _dumps(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=_dumps(body), status_code=status, headers={"Content-Type": JSON_CT, **(headers or {})})


def error_body(code: str, message: str, details: dict[str, Any] | None, request_id: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}, "request_id": request_id}


def error_response(err: DomainError, request_id: str) -> Response:
    return json_response(
        error_body(err.code, err.message, err.details, request_id),
        status=err.status,
        headers={**err.headers, "X-Request-Id": request_id},
    )


# What an unknown route answers. API Gateway answers it before our code runs, through the
# `MISSING_AUTHENTICATION_TOKEN` GatewayResponse in infra/template.py; devstack/api.py does the same locally.
ROUTE_NOT_FOUND = ("NOT_FOUND", "接口不存在")


def route_not_found_body(request_id: str) -> dict[str, Any]:
    return error_body(*ROUTE_NOT_FOUND, {}, request_id)


def internal_error_response(request_id: str) -> Response:
    return json_response(
        error_body("INTERNAL_ERROR", "服务器开小差了，请稍后重试", {}, request_id),
        status=500,
        headers={"X-Request-Id": request_id},
    )


def _to_jsonable(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return result


def _as_response(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if status == 204:  # No Content means no body at all, not the JSON text "null"
        return Response(body="", status_code=204, headers={})
    return json_response(_to_jsonable(result), status)


def _storable(result: Any, status: int) -> dict[str, Any]:
    """A view's result as `{status, headers, body}` text, which the idempotency store keeps and replays."""
    if not isinstance(result, Response):
        if status == 204:
            return {"status": 204, "headers": {}, "body": ""}
        return {"status": status, "headers": {"Content-Type": JSON_CT}, "body": _dumps(_to_jsonable(result))}
    body = result.body
    headers = {str(k): v if isinstance(v, list) else str(v) for k, v in result.headers.items()}
    if isinstance(body, bytes | bytearray):
        # A replay must be byte-identical; binary answers have no place on money-moving routes.
        raise TypeError("a route with idempotency must not return a binary Response body")
    if not isinstance(body, str):
        body = _dumps(body)
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = JSON_CT
    return {"status": int(result.status_code), "headers": headers, "body": body}


class _NotStored(Exception):
    """Carries an error outcome out of an idempotent run, so that nothing is stored for it."""

    def __init__(self, outcome: dict[str, Any]) -> None:
        super().__init__(outcome["status"])
        self.outcome = outcome


# ---------------------------------------------------------------- validation messages

_PYDANTIC_ZH: dict[str, str] = {
    "missing": "必填",
    "extra_forbidden": "不允许的字段",
    "string_type": "应为字符串",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "int_parsing_size": "数值超出范围",
    "bool_type": "应为布尔值",
    "bool_parsing": "应为布尔值",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "list_type": "应为数组",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "string_too_short": "长度不能少于 {min_length}",
    "string_too_long": "长度不能超过 {max_length}",
    "too_short": "至少需要 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "string_pattern_mismatch": "格式不正确",
    "literal_error": "取值应为 {expected} 之一",
    "enum": "取值应为 {expected} 之一",
    "multiple_of": "应为 {multiple_of} 的整数倍",
    "finite_number": "应为有限的数字",
    "date_parsing": "日期格式应为 YYYY-MM-DD，例如 2026-11-25",
    "date_type": "日期格式应为 YYYY-MM-DD，例如 2026-11-25",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD，例如 2026-11-25",
    "union_tag_invalid": "取值应为 {expected_tags} 之一",
    "union_tag_not_found": "缺少字段 {discriminator}",
    "datetime_parsing": "时间格式应为 RFC 3339，例如 2026-11-25T08:00:00Z",
    "datetime_type": "时间格式应为 RFC 3339，例如 2026-11-25T08:00:00Z",
    "datetime_from_date_parsing": "时间格式应为 RFC 3339，例如 2026-11-25T08:00:00Z",
    "timezone_aware": "时间必须带时区，例如 2026-11-25T08:00:00Z",
    "url_parsing": "应为合法的网址",
    "url_scheme": "网址协议不正确",
}


def validation_fields(exc: ValidationError) -> dict[str, str]:
    """pydantic errors → `{"dotted.path": "中文说明"}` for `details.fields`."""
    fields: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "body"
        etype = err["type"]
        if etype == "value_error":
            # Our own validators raise ValueError with a Chinese message.
            msg = str(err.get("ctx", {}).get("error", err["msg"]))
        else:
            template = _PYDANTIC_ZH.get(etype)
            ctx = {k: v for k, v in (err.get("ctx") or {}).items()}
            if isinstance(ctx.get("expected"), str):  # pydantic says "'a', 'b' or 'c'"
                ctx["expected"] = ctx["expected"].replace(" or ", "、").replace(", ", "、")
            try:
                msg = template.format(**ctx) if template else "取值不合法"
            except (KeyError, IndexError):
                msg = "取值不合法"
        fields.setdefault(loc, msg)
    return fields


def parse_model(model: type[BaseModel], data: Any) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(validation_fields(exc)) from None


def _parse_json_body(raw: bytes) -> Any:
    if not raw:
        return {}
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadRequest("MALFORMED_JSON", "请求体不是合法的 JSON") from None


def _query_dict(request: Any) -> dict[str, Any]:
    qp = request.query_params
    if not qp:
        return {}
    out: dict[str, Any] = {}
    for key in qp.keys():
        values = qp.getlist(key)
        out[key] = values if len(values) > 1 else values[0]
    return out


# ---------------------------------------------------------------- context


def _source_ip(request: Any) -> str:
    ident = (request.context or {}).get("identity") or {}
    return str(ident.get("sourceIp") or "0.0.0.0")  # noqa: S104 - an unknown address, not a bind


def _request_id(request: Any) -> str:
    """API Gateway's request id; where there is none (in-process test client), one is made and remembered on
    the request, so the middleware, the route and the error body all name the same request."""
    context = getattr(request, "context", None)
    if not isinstance(context, dict):
        return ids.new_id("req")
    rid = context.get("requestId")
    if not rid:
        rid = context["requestId"] = ids.new_id("req")
    return str(rid)


def request_id_of(request: Any) -> str:
    return _request_id(request)


def build_context(
    request: Any, *, authenticate: bool, allow_frozen: bool, signed: bool = False, app: Any = None
) -> RequestContext:
    headers = {k.lower(): v for k, v in request.headers.items()}
    device = headers.get("x-device-id")
    if device is not None and not _DEVICE_RE.match(device):
        raise Invalid({"X-Device-Id": "设备标识格式不正确"})
    idem = headers.get("idempotency-key")
    if idem is not None and not (1 <= len(idem) <= 128 and idem.isprintable()):
        raise Invalid({"Idempotency-Key": "幂等键长度应为 1–128 个可见字符"})
    raw = request.raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    qs = _canonical_query(request)
    ctx = RequestContext(
        request_id=_request_id(request),
        source_ip=_source_ip(request),
        device_id=device,
        idempotency_key=idem,
        user=None,
        headers=headers,
        raw_body=raw,
        path=_concrete_path(request),
        method=request.method,
        query_string=qs,
        app=app,
    )
    if not authenticate:
        return ctx
    user = _authenticate(ctx, signed=signed)
    if user.frozen and not allow_frozen:
        raise Forbidden("ACCOUNT_FROZEN", "账号已被冻结，如有疑问请提交申诉")
    return dataclasses.replace(ctx, user=user)


def _authenticate(ctx: RequestContext, *, signed: bool) -> Caller:
    from chalicelib.services import sessions  # identity service; imported on first authenticated call

    if "authorization" not in ctx.headers and sessions.SIGNATURE_HEADER in ctx.headers:
        if not signed:  # a route must opt in to merchant-server callers
            raise Unauthorized("BAD_SIGNATURE", "此接口不支持商户签名调用，请使用登录凭证")
        from chalicelib.services import signing  # merchant server API; loads `cryptography` on first use

        return signing.authenticate(ctx)
    return sessions.authenticate(ctx)


def _concrete_path(request: Any) -> str:
    path = (request.context or {}).get("path") or request.path
    stage = (request.context or {}).get("stage")
    # API Gateway puts "/<stage>/v1/..." in requestContext.path for the execute-api domain.
    if stage and path.startswith(f"/{stage}/"):
        path = path[len(stage) + 1 :]
    return str(path)


def _canonical_query(request: Any) -> str:
    qp = request.query_params
    if not qp:
        return ""
    from urllib.parse import urlencode

    pairs = [(k, v) for k in sorted(qp.keys()) for v in qp.getlist(k)]
    return urlencode(pairs)


# ---------------------------------------------------------------- the decorator


def _check_role(caller: Caller, auth: str | tuple[str, ...]) -> None:
    if auth in (PUBLIC, USER):
        return
    allowed = auth if isinstance(auth, tuple) else (auth,)
    if caller.role in allowed:
        return
    # The desk's roles: `admin` may do everything a reviewer or finance officer may.
    if caller.role == "admin" and any(r in ADMIN_ROLES for r in allowed):
        return
    raise Forbidden("ROLE_FORBIDDEN", "当前账号角色无权执行此操作")


def _run_idempotent(
    spec: RouteSpec, ctx: RequestContext, payload: dict[str, Any], call: Callable[[], Any], lambda_context: Any
) -> Response:
    """Run the view at most once per (caller, route, Idempotency-Key); replay the stored answer otherwise."""
    from chalicelib.store import idempotency as idem

    def run() -> dict[str, Any]:
        outcome = _storable(call(), spec.status)
        if outcome["status"] >= 400:
            raise _NotStored(outcome)  # an error answer is not the request's result: a retry runs again
        return outcome

    # Keys are per caller and per route; anonymous callers are told apart by address.
    caller = ctx.user.id if ctx.user else f"anon@{ctx.source_ip}"
    try:
        outcome, replayed = idem.run_once(
            scope=f"{caller}:{spec.method} {spec.path}",
            key=str(ctx.idempotency_key),
            payload=payload,
            fn=run,
            lambda_context=lambda_context,
        )
    except _NotStored as failed:
        outcome, replayed = failed.outcome, False
    resp = Response(body=outcome["body"], status_code=outcome["status"], headers=dict(outcome["headers"]))
    if replayed:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


def route(
    bp: Blueprint | Chalice,
    path: str,
    method: str = "GET",
    *,
    summary: str,
    tags: Iterable[str] = (),
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    auth: str | tuple[str, ...] = USER,
    allow_frozen: bool = False,
    idempotency: str = "none",
    content_types: Iterable[str] = ("application/json",),
    response_content_type: str = "application/json",
    errors: Iterable[int] = (),
    raw: bool = False,
    signed: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a route. The view is called as `view(ctx, **path_params, body=?, query=?)`.

    It returns a pydantic model (serialised with `status`), a plain dict/list, or a chalice `Response`
    (used as is — CSV exports, provider notify answers). With `raw=True` the body is not parsed as JSON.
    With `signed=True` a merchant server may call it with `X-Taskhall-…` signature headers instead of a
    token (services/signing.py); every other route refuses signed callers with 401 BAD_SIGNATURE.
    """
    if idempotency not in ("none", "optional", "required"):
        raise ValueError(idempotency)
    needs_auth = auth != PUBLIC

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        spec = RouteSpec(
            path=path,
            method=method.upper(),
            view_name=view.__name__,
            summary=summary,
            tags=tuple(tags),
            body=body,
            query=query,
            response=response,
            status=status,
            auth=auth,
            idempotency=idempotency,
            content_types=tuple(content_types),
            response_content_type=response_content_type,
            errors=tuple(errors),
            signed=signed,
            module=view.__module__,
        )

        def handle(app: Any, /, **path_params: str) -> Response:  # a `{app}` path parameter stays a parameter
            request = app.current_request
            request_id = _request_id(request)
            try:
                ctx = build_context(request, authenticate=needs_auth, allow_frozen=allow_frozen, signed=signed, app=app)
                if needs_auth:
                    _check_role(ctx.caller, auth)
                kwargs: dict[str, Any] = {}
                body_data: Any = None
                if body is not None:
                    body_data = _parse_json_body(ctx.raw_body)
                    kwargs["body"] = parse_model(body, body_data)
                elif not raw and ctx.raw_body.strip() and method.upper() in ("POST", "PUT", "PATCH"):
                    _parse_json_body(ctx.raw_body)  # a malformed body is a 400 even where none is needed
                if query is not None:
                    kwargs["query"] = parse_model(query, _query_dict(request))

                if idempotency != "none" and (ctx.idempotency_key or idempotency == "required"):
                    if not ctx.idempotency_key:
                        raise BadRequest("IDEMPOTENCY_KEY_REQUIRED", "此操作需要提供 Idempotency-Key 请求头")
                    payload = {
                        "params": path_params,
                        "query": ctx.query_string,
                        "body": body_data if body is not None else ctx.raw_body.decode("utf-8", "replace"),
                    }
                    resp = _run_idempotent(
                        spec,
                        ctx,
                        payload,
                        lambda: view(ctx, **path_params, **kwargs),
                        getattr(app, "lambda_context", None),
                    )
                else:
                    resp = _as_response(view(ctx, **path_params, **kwargs), status)
                resp.headers["X-Request-Id"] = request_id
                return resp
            except DomainError as err:
                if err.status >= 500:
                    logger.warning("request failed", extra={"code": err.code, "request_id": request_id})
                return error_response(err, request_id)
            except Exception:
                logger.exception("unhandled error", extra={"request_id": request_id, "route": path})
                return internal_error_response(request_id)

        def wrapped(**path_params: str) -> Response:
            return handle(bp.current_app if isinstance(bp, Blueprint) else bp, **path_params)

        wrapped.__name__ = view.__name__
        wrapped.__doc__ = view.__doc__
        wrapped.route_spec = spec  # type: ignore[attr-defined]  # lets the OpenAPI document find it
        HANDLERS[(spec.module, spec.method, path)] = (spec, handle)
        bp.route(path, methods=[method.upper()], content_types=list(content_types))(wrapped)
        return view

    return decorate


def resolve(module: str, method: str, path: str) -> tuple[RouteSpec, Callable[..., Response]]:
    """The spec and handler of a route declared in `module`, importing the module on first use."""
    key = (module, method, path)
    found = HANDLERS.get(key)
    if found is None:
        with _LOADING:  # first loads one at a time, so a failed one is forgotten before anyone retries it
            try:
                import_module(module)  # declares its routes
            except BaseException:
                _forget(module)  # Python drops a module that failed to import: so do we; the next request retries
                raise
        found = HANDLERS[key]
    return found


def _forget(module: str) -> None:
    """Drop what a module declared before its import failed, so no route is served from a half-run module."""
    for key in [k for k in HANDLERS if k[0] == module]:
        del HANDLERS[key]


def routes() -> list[RouteSpec]:
    """The spec of every route declared so far, by every module imported so far (`routing.load_all` for all)."""
    return [spec for spec, _ in HANDLERS.values()]


def route_spec(view_function: Any) -> RouteSpec | None:
    """The spec of a view registered through `route` (eagerly or mounted lazily), or None for a plain view."""
    lazy = getattr(view_function, "lazy_route", None)
    if lazy is not None:
        return resolve(*lazy)[0]
    spec = getattr(view_function, "route_spec", None)
    return spec if isinstance(spec, RouteSpec) else None


# ---------------------------------------------------------------- middleware

_CHALICE_ERRORS: dict[int, tuple[str, str]] = {
    400: ("BAD_REQUEST", "请求格式有误，请检查后重试"),
    403: ROUTE_NOT_FOUND,
    404: ROUTE_NOT_FOUND,
    405: ("METHOD_NOT_ALLOWED", "该接口不支持此请求方法"),
    413: ("PAYLOAD_TOO_LARGE", "请求体过大"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "请求的 Content-Type 不受支持，请使用 application/json"),
    500: ("INTERNAL_ERROR", "服务器开小差了，请稍后重试"),
}


def _is_chalice_error(response: Response) -> bool:
    """Chalice's own error answers (`{"Code", "Message"}`: 405, 415, unhandled 500s, ChaliceViewError)."""
    body = response.body
    if isinstance(body, dict) and set(body) == {"Code", "Message"}:
        return True
    # Never let a 5xx out that did not come from our error mapping (chalice's debug mode sends a traceback).
    return response.status_code >= 500 and "X-Request-Id" not in response.headers


def http_middleware(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Outermost layer: request-scoped logging keys, and Chalice's own errors rewritten into our shape."""
    request_id = _request_id(event)
    # Thread-safe keys: `chalice local` serves requests from threads, and one line must not name another's id.
    logger.thread_safe_append_keys(request_id=request_id)
    try:
        response = get_response(event)
    except Exception:
        logger.exception("unhandled error outside a route")
        return internal_error_response(request_id)
    finally:
        logger.thread_safe_remove_keys(["request_id"])
    if response.status_code >= 400 and _is_chalice_error(response):
        code, message = _CHALICE_ERRORS.get(response.status_code, ("ERROR", "请求失败"))
        headers = {k: v for k, v in response.headers.items() if k.lower() in ("allow", "retry-after")}
        return json_response(
            error_body(code, message, {}, request_id), response.status_code, {**headers, "X-Request-Id": request_id}
        )
    response.headers.setdefault("X-Request-Id", request_id)
    return response


def not_found(what: str = "资源") -> NotFound:
    return NotFound("NOT_FOUND", f"{what}不存在")
