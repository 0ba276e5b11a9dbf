"""The route table app.py mounts (handlers/routing.py): current, complete, deployed alike, loaded on first use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from chalice import Chalice
from chalice.deploy.swagger import CFNSwaggerGenerator

from chalicelib.handlers import route_table, routing, web

ROOT = Path(__file__).resolve().parents[3]


def test_the_route_table_is_current():
    # Adding, moving or removing a route means regenerating it: `python -m scripts.route_table`.
    table = (ROOT / "chalicelib" / "handlers" / "route_table.py").read_text(encoding="utf-8")
    assert routing.render(routing.declared()) == table, "stale route table: run `python -m scripts.route_table`"


@pytest.fixture(scope="module")
def eager_app() -> Chalice:
    """What app.py did before the table: every handler module's blueprint registered at import (local stage).

    Built once per process: Chalice consumes a blueprint's route options as it registers them.
    """
    from importlib import import_module

    app = Chalice(app_name="taskhall", configure_logs=False)
    app.api.binary_types = []
    for module in dict.fromkeys(row[0] for row in route_table.ROUTES):
        app.register_blueprint(import_module(f"{routing.PACKAGE}.{module}").bp)
    return app


def _lazy_app(*, local: bool) -> Chalice:
    app = Chalice(app_name="taskhall", configure_logs=False)
    app.api.binary_types = []
    routing.mount(app, local=local)
    return app


def served(app: Chalice) -> list[tuple[str, str]]:
    """(METHOD, path) of every route `app` serves."""
    return sorted((method, path) for path, methods in app.routes.items() for method in methods)


def _without_docstrings(swagger: dict) -> dict:
    # Chalice copies a view's docstring into the operation's summary; a mounted view has not loaded its module yet.
    for operations in swagger["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.pop("summary", None)
                operation.pop("description", None)
    return swagger


def test_the_mounted_app_gives_api_gateway_the_same_api_as_registering_every_blueprint(eager_app):
    lazy = _lazy_app(local=True)
    assert served(lazy) == served(eager_app)
    for path, methods in eager_app.routes.items():
        for method, entry in methods.items():
            mounted = lazy.routes[path][method]
            assert (mounted.view_name, mounted.content_types, mounted.view_args) == (
                entry.view_name,
                entry.content_types,
                entry.view_args,
            )
    generate = CFNSwaggerGenerator().generate_swagger
    assert _without_docstrings(generate(lazy)) == _without_docstrings(generate(eager_app))


def test_the_local_stage_extras_are_mounted_only_locally():
    deployed, local = set(served(_lazy_app(local=False))), set(served(_lazy_app(local=True)))
    extras = local - deployed
    assert extras and deployed < local
    assert all(path.startswith("/v1/sandbox/") for _, path in extras)


def test_a_mounted_view_resolves_to_its_declared_spec():
    app = _lazy_app(local=True)
    view = app.routes["/v1/tasks/{task_id}/claims"]["POST"].view_function
    spec = web.route_spec(view)
    assert spec is not None and (spec.module, spec.method, spec.path) == (
        "chalicelib.handlers.claims",
        "POST",
        "/v1/tasks/{task_id}/claims",
    )


_FIRST_USE = """
import json, sys, threading, urllib.error, urllib.request
from devstack.api import ApiServer

server = ApiServer(port=0, stage="dev").start()  # chalice local's gateway: one thread per request
import app
features = {"chalicelib.handlers." + row[0] for row in app.routing.route_table.ROUTES}
before = sorted(m for m in sys.modules if m in features)
results = {}

def call(i):
    # Odd callers send a malformed device id (422 from the request's own headers), even ones none (401): a
    # request answered from another's headers would get the other status.
    headers = {"X-Device-Id": "bad device!"} if i % 2 else {}
    request = urllib.request.Request(server.url + "/v1/wallet", headers=headers)
    try:
        urllib.request.urlopen(request, timeout=60)
        results[i] = 200
    except urllib.error.HTTPError as err:
        results[i] = (err.code, json.loads(err.read())["error"]["code"])

threads = [threading.Thread(target=call, args=(i,)) for i in range(16)]
[t.start() for t in threads]
[t.join() for t in threads]
server.stop()
after = sorted(m for m in sys.modules if m in features)
print(json.dumps({"before": before, "after": after, "results": [results[i] for i in range(16)]}))
"""


def test_a_handler_module_loads_on_the_first_requests_to_its_routes_each_answered_from_its_own_request():
    env = {**os.environ, "STAGE": "dev", "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run(
        [sys.executable, "-c", _FIRST_USE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["before"] == []
    # Sixteen first requests at once, over the local gateway's threads: only the wallet module loads, and every
    # answer is the one its own request's headers call for.
    assert seen["after"] == ["chalicelib.handlers.wallet"]
    assert seen["results"] == [[422, "VALIDATION_FAILED"] if i % 2 else [401, "UNAUTHENTICATED"] for i in range(16)]


_BROKEN = """
from chalice import Blueprint

from chalicelib.handlers.web import PUBLIC, route

bp = Blueprint(__name__)


@route(bp, "/t/broken/first", summary="t", auth=PUBLIC)
def first(ctx):
    return {"ok": True}


raise RuntimeError("broken handler module")
"""


def test_a_handler_module_that_fails_to_import_leaves_no_route_behind(tmp_path, monkeypatch):
    (tmp_path / "broken_handlers_pkg").mkdir()
    (tmp_path / "broken_handlers_pkg" / "__init__.py").write_text("")
    (tmp_path / "broken_handlers_pkg" / "broken.py").write_text(_BROKEN)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = "broken_handlers_pkg.broken"
    for _ in range(2):  # the second request tries the import again and fails the same way
        with pytest.raises(RuntimeError, match="broken handler module"):
            web.resolve(module, "GET", "/t/broken/first")
        # The route declared before the failure is not kept: it would be served from a half-run module.
        assert not [key for key in web.HANDLERS if key[0] == module]
        assert not [spec for spec in web.routes() if spec.module == module]
        assert module not in sys.modules


def test_with_provisioned_concurrency_every_handler_module_loads_at_init():
    # AWS sets AWS_LAMBDA_INITIALIZATION_TYPE; with provisioned concurrency the init phase runs before traffic.
    probe = (
        "import json, sys\nimport app\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('chalicelib.handlers.'))))"
    )
    features = {f"{routing.PACKAGE}.{row[0]}" for row in route_table.ROUTES if row[0] not in routing.LOCAL_ONLY}
    for kind, expect_all in (("provisioned-concurrency", True), ("on-demand", False)):
        env = {**os.environ, "STAGE": "dev", "PYTHONDONTWRITEBYTECODE": "1", "AWS_LAMBDA_INITIALIZATION_TYPE": kind}
        run = subprocess.run(
            [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
        )
        loaded = set(json.loads(run.stdout.strip().splitlines()[-1]))
        assert (features <= loaded) is expect_all, kind
        assert not loaded & {f"{routing.PACKAGE}.{m}" for m in routing.LOCAL_ONLY}  # dev has no sandbox routes
