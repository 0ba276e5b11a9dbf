"""Chalice's local HTTP server for `app.app`, behaving like our API Gateway where Chalice's own differs.

`chalice local` answers an unknown route (or a method a path does not have) with API Gateway's default
`403 {"message": "Missing Authentication Token"}`. Our deployed API replaces that with gateway responses
(`infra.template.gateway_responses`) that answer 404 in the API's error shape; this gateway does the same
here, so clients see one behaviour in every stage. Like API Gateway, it gives each request an id
(`requestContext.requestId`, which the app uses as its request id) and returns it as `x-amzn-RequestId`.

Run it as a process (`python -m devstack.api --port 8000`, what `make run` starts) or in a thread
(`ApiServer(port=0).start()` … `.stop()`).
"""

from __future__ import annotations

import argparse
import functools
import json
import signal
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from chalice import local

ROOT = Path(__file__).resolve().parent.parent
JSON_CT = "application/json; charset=utf-8"


def not_found_body(request_id: str) -> bytes:
    """The body of `infra.template.gateway_responses()`, with `$context.requestId` filled in."""
    from chalicelib.handlers.web import route_not_found_body

    return json.dumps(route_not_found_body(request_id), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class RouteNotFound(local.LocalGatewayException):
    CODE = 404

    def __init__(self, request_id: str) -> None:
        super().__init__({"Content-Type": JSON_CT, "x-amzn-RequestId": request_id}, not_found_body(request_id))


class ApiGateway(local.LocalGateway):
    """LocalGateway with our gateway responses and an API-Gateway-style request id per request."""

    _request_id = ""

    def handle_request(self, method: str, path: str, headers: Any, body: bytes | None) -> dict[str, Any]:
        self._request_id = str(uuid.uuid4())  # one gateway per connection; its requests come one at a time
        response: dict[str, Any] = super().handle_request(method, path, headers, body)
        response["headers"] = {**response.get("headers", {}), "x-amzn-RequestId": self._request_id}
        return response

    def _generate_lambda_event(self, method: str, path: str, headers: Any, body: bytes | None) -> dict[str, Any]:
        request_id = self._request_id or str(uuid.uuid4())
        try:
            event = super()._generate_lambda_event(method, path, headers, body)
        except ValueError:  # no route matches the path
            raise RouteNotFound(request_id) from None
        resource = event["requestContext"]["resourcePath"]
        methods = self._app_object.routes[resource]
        if method != "OPTIONS" and method not in methods:
            # API Gateway has no method there either: MISSING_AUTHENTICATION_TOKEN, i.e. our 404.
            raise RouteNotFound(request_id)
        event["requestContext"]["requestId"] = request_id
        return event


class ApiRequestHandler(local.ChaliceRequestHandler):
    """Chalice's handler with our gateway and a one-line access log."""

    def __init__(self, request: Any, client_address: Any, server: Any, app_object: Any, config: Any) -> None:
        self.local_gateway = ApiGateway(app_object, config)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        code_value = getattr(code, "value", code)
        sys.stderr.write(f"{self.command} {self.path} -> {code_value}\n")


class _Server(local.ThreadedHTTPServer):
    # socketserver's default backlog is 5: a burst of concurrent clients (the e2e races) got connection resets.
    request_queue_size = 128


def load_app(stage: str, project_dir: Path = ROOT) -> tuple[Any, Any]:
    """The Chalice config and app for `stage`, loaded the way `chalice local` loads them (stage env applied)."""
    from chalice.cli.factory import CLIFactory
    from chalice.deploy.validate import validate_routes

    config = CLIFactory(str(project_dir)).create_config_obj(chalice_stage_name=stage)
    app_obj = config.chalice_app
    validate_routes(app_obj.routes)
    return config, app_obj


class ApiServer:
    """The local API on host:port (port 0 = any free port), served from a daemon thread; stop() from any thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, stage: str = "local") -> None:
        config, app_obj = load_app(stage)
        # What chalice.local.create_local_server does: a thread-local current_request, for concurrent requests.
        local.CustomLocalChalice.__bases__ = (local.LocalChalice, app_obj.__class__)
        app_obj.__class__ = local.CustomLocalChalice
        handler = functools.partial(ApiRequestHandler, app_object=app_obj, config=config)
        self.httpd = _Server((host, port), handler)
        self.host, self.port = self.httpd.server_address[:2]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="api", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self.httpd.shutdown()
            self._thread.join()
        self.httpd.server_close()


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGINT/SIGTERM. Prints `READY <url>` once the socket is listening."""
    parser = argparse.ArgumentParser(description="Taskhall's API on chalice local")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--stage", default="local")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = ApiServer(args.host, args.port, args.stage).start()
    print(f"READY {server.url}", flush=True)
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
