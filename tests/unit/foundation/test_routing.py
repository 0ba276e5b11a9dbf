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
    assert routing.served(lazy) == routing.served(eager_app)
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
    deployed, local = set(routing.served(_lazy_app(local=False))), set(routing.served(_lazy_app(local=True)))
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
import json, sys, threading
import app
from chalice.test import Client

before = sorted(m for m in sys.modules if m.startswith("chalicelib.handlers.") and m.count(".") == 2)
statuses = []
with Client(app.app) as client:
    def call():
        statuses.append(client.http.get("/v1/wallet").status_code)
    threads = [threading.Thread(target=call) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
after = sorted(m for m in sys.modules if m.startswith("chalicelib.handlers.") and m.count(".") == 2)
print(json.dumps({"before": before, "after": after, "statuses": statuses}))
"""


def test_a_handler_module_loads_on_the_first_request_to_one_of_its_routes():
    env = {**os.environ, "STAGE": "dev", "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run(
        [sys.executable, "-c", _FIRST_USE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert "chalicelib.handlers.wallet" not in seen["before"]
    # Eight first requests at once (chalice local serves from threads): each is answered by the module's own
    # route, signed-out here, and only that module is loaded.
    assert seen["statuses"] == [401] * 8
    features = {f"{routing.PACKAGE}.{row[0]}" for row in route_table.ROUTES}
    assert (set(seen["after"]) - set(seen["before"])) & features == {"chalicelib.handlers.wallet"}
