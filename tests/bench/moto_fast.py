"""The locked moto server for `make bench` and `make load`, with moto's own costs taken out of the figures:

- a base-table Query is handed its one partition (moto 5.2.5 sorts every item of the table first, seconds a
  call at the bench's ~275,000 items; DynamoDB reads only the partition): `hall_seed.partition_queries`;
- no stream records: the bench runs no stream consumer, and moto builds (and JSON-sizes) a record per write;
- a bulk loader, `POST /__bench/load` `{"table", "region", "items": [DynamoDB JSON]}`, that puts new items
  straight into moto's table (no condition, no validation: they are ours) under the server's DynamoDB lock.
  The bench's seed of ~275,000 items, built by our store classes and serialised by pynamodb, skips per-request
  signing and parsing (the role DynamoDB's import from S3 plays for a real table). Requests of the API under
  test never use it.

    python -m tests.bench.moto_fast --port 0        # prints READY <endpoint>, serves until SIGTERM
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from devstack import moto_server
from tests.api.tasks.hall_seed import partition_queries

LOAD_PATH = "/__bench/load"


def _no_stream_records() -> None:
    from moto.dynamodb.models.table import StreamShard

    def add(self: Any, old: Any, new: Any) -> None:
        return None

    StreamShard.add = add  # type: ignore[method-assign]


class BulkLoader:
    """WSGI middleware: `POST /__bench/load` puts items into moto's table; anything else goes to `app`."""

    def __init__(self, app: Any, lock: threading.Lock) -> None:
        self.app = app
        self.lock = lock

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != LOAD_PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends
        from moto.dynamodb.models.dynamo_type import DynamoType, Item

        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(size))
        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][body["region"]].get_table(body["table"])
        # Straight into the table, as `Table.put_item` ends: no condition to parse, the items are ours and new.
        built = []
        for attrs in body["items"]:
            pk, sk = DynamoType(attrs[table.hash_key_attr]), DynamoType(attrs[table.range_key_attr])
            built.append((pk, sk, Item(pk, sk, attrs)))
        with self.lock:
            for pk, sk, item in built:
                table.items[pk][sk] = item
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"loaded": len(body["items"])}).encode()]


class BenchMotoServer(moto_server.LockedMotoServer):
    def _server_entry(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        app = moto_server.AtomicDynamoDB(DomainDispatcherApplication(create_backend_app), self.lock)
        app = BulkLoader(app, self.lock)
        try:
            self._server = make_server(
                self._ip_address, self._port, app, True, request_handler=moto_server._QuietHandler
            )
        except BaseException as exc:
            self._start_error = exc
            self._server_ready_event.set()
            return
        self._server_ready_event.set()
        self._server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    _no_stream_records()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with partition_queries(), BenchMotoServer(port=args.port) as server:
        print(f"READY {server.endpoint_url}", flush=True)
        stop.wait()


if __name__ == "__main__":
    main(sys.argv[1:])
