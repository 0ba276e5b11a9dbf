"""moto's server on loopback, with every DynamoDB request made atomic the way DynamoDB makes it.

moto serialises request *dispatch* but not the work a request does, so two conditional updates on one item
can both read the old value and both succeed. DynamoDB never allows that, and our concurrency guarantees
(slot counters, ledger balances, one-claim-per-worker) are conditions that assume it never happens. So the
WSGI app is wrapped: a request whose `X-Amz-Target` names DynamoDB or DynamoDB Streams runs start to finish
(response body included) under one process-wide lock. Other services (SQS long polls, S3 uploads) stay
concurrent. See docs/decisions/0012-local-stack.md.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

LOCKED_TARGET_PREFIXES = ("DynamoDB_", "DynamoDBStreams_")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class AtomicDynamoDB:
    """WSGI middleware: DynamoDB requests run one at a time, everything else passes straight through."""

    def __init__(self, app: WsgiApp, lock: threading.Lock | None = None) -> None:
        self.app = app
        self.lock = lock or threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith(LOCKED_TARGET_PREFIXES):
            return self.app(environ, start_response)
        with self.lock:
            result = self.app(environ, start_response)
            try:
                # Materialise the body inside the lock: a lazy iterable would do its work after release.
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        return [body]


class _QuietHandler(MotoRequestHandler):
    """No access log line per AWS call: the local stack's output is for the API and the pump."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class LockedMotoServer(ThreadedMotoServer):
    """`ThreadedMotoServer` on 127.0.0.1 (port 0 = any free port) whose DynamoDB requests are atomic."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        super().__init__(ip_address=host, port=port, verbose=False)
        self.lock = threading.Lock()
        from devstack import moto_patches

        moto_patches.install()  # transactions back up only the items they touch (docs/decisions/0004)

        self._start_error: BaseException | None = None

    def _server_entry(self) -> None:
        app = AtomicDynamoDB(DomainDispatcherApplication(create_backend_app), self.lock)
        try:
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=_QuietHandler)
        except BaseException as exc:  # e.g. port in use: report it to start() instead of hanging it
            self._start_error = exc
            self._server_ready_event.set()
            return
        self._server_ready_event.set()
        self._server.serve_forever()

    def start(self) -> None:
        super().start()
        if self._start_error is not None:
            self._thread.join()  # type: ignore[union-attr]
            raise self._start_error

    @property
    def endpoint_url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"

    def __enter__(self) -> LockedMotoServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """`python -m devstack.moto_server --port N`: serve until SIGINT/SIGTERM. Prints `READY <endpoint>` first.

    Tests run the server in a child process because moto's backends are process-global: an in-process
    `mock_aws` (the api tests) resets them, and would wipe a server sharing the process.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with LockedMotoServer(port=args.port) as server:
        print(f"READY {server.endpoint_url}", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
