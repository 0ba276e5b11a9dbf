"""End-to-end fixtures: the whole local stack on free ports, started once per test session (per xdist worker).

What runs where:
- the locked moto server in a child process (`python -m devstack.moto_server`): moto's backends are
  process-global and the api tests' in-process `mock_aws` resets them, so the server cannot share this process;
- every resource of `infra/` for stage `local`, created from here over HTTP (`devstack.resources`);
- the API in a child process (`python -m devstack.api`), stage `local`, pointed at the moto server;
- the pump in this process, so a test can register consumers and job handlers and watch them run.
  It is not a background thread: a test calls `e2e.pump.drain()` to deliver everything that is due.

Reuse it from any test under tests/e2e/ (or import these fixtures into another conftest):

    def test_something(e2e):
        reply = e2e.http.post("/v1/...", {...}, token=...)   # real HTTP to the API; Reply as in tests/conftest.py
        e2e.pump.drain()                                      # stream records and queue messages delivered
        e2e.client("sqs").send_message(...)                   # boto3 against the moto server
        e2e.stack.refs["JobsQueue"]                           # resources by logical id, as in infra/template.py

`e2e` points this process at the stack for one test (STAGE=local, AWS_ENDPOINT_URL, table, clock file) and
restores everything afterwards, so tests elsewhere keep their in-process moto. Every test here is marked `e2e`.
"""

from __future__ import annotations

import collections
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import JsonClient, Reply, _reset_caches

REGION = "cn-north-1"
STAGE = "local"


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


class Http(JsonClient):
    """JSON over real HTTP to the local API (urllib: nothing that moto's in-process mocks could intercept)."""

    def __init__(self, base_url: str, timeout_s: float = 30) -> None:
        self.base_url = base_url
        self.timeout_s = timeout_s

    def _send(self, method: str, path: str, headers: dict[str, str], data: Any) -> Reply:
        if isinstance(data, str):
            data = data.encode("utf-8")
        req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return Reply(resp.status, dict(resp.headers), resp.read())
        except urllib.error.HTTPError as err:
            return Reply(err.code, dict(err.headers), err.read())


@dataclass
class LocalStackHandle:
    endpoint_url: str
    api_url: str
    stack: Any
    env: dict[str, str]  # what points a process at this stack (given to the API child, applied by `e2e`)
    pump: Any
    http: Http
    timings: dict[str, float] = field(default_factory=dict)
    logs: Any = None  # the children's last 500 log lines (a deque), for a failing test to show

    def errors(self, limit: int = 5) -> str:
        """The API child's last unhandled errors, for an assertion message."""
        lines = [line for line in (self.logs or ()) if "unhandled error" in line or "Traceback" in line]
        return "\n".join(lines[-limit:])

    def client(self, service: str) -> Any:
        import boto3

        return boto3.session.Session().client(service, region_name=REGION, endpoint_url=self.endpoint_url)


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackHandle]:
    """The running stack (moto server + resources + API + a pump), shared by every e2e test of the session."""
    from devstack.children import Child
    from devstack.pump import Pump
    from devstack.resources import create_stack

    workdir = tmp_path_factory.mktemp("local-stack")
    base_env = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "AWS_PROFILE")}
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    output: collections.deque[str] = collections.deque(maxlen=500)  # the children's logs, for debugging
    moto = Child("devstack.moto_server", ["--port", "0"], base_env, output.append)
    api: Child | None = None
    try:
        timings["moto_start_s"] = time.monotonic() - t0
        t1 = time.monotonic()
        stack = create_stack(STAGE, REGION, endpoint_url=moto.url)
        timings["stack_create_s"] = time.monotonic() - t1
        env = {
            "STAGE": STAGE,
            "AWS_ENDPOINT_URL": moto.url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "CLOCK_FILE": str(workdir / "clock_offset"),
            **stack.outputs,
        }
        t2 = time.monotonic()
        api_env = {**base_env, **env, "POWERTOOLS_LOG_LEVEL": "WARNING"}
        api = Child("devstack.api", ["--port", "0"], api_env, output.append)
        timings["api_start_s"] = time.monotonic() - t2
        from app import app

        pump = Pump.for_stack(stack, app=app, endpoint_url=moto.url, retry_delay_s=0, wait_s=0)
        yield LocalStackHandle(moto.url, api.url, stack, env, pump, Http(api.url), timings, output)
    finally:
        if api is not None:
            api.stop()
        moto.stop()


@pytest.fixture
def e2e(local_stack: LocalStackHandle) -> Iterator[LocalStackHandle]:
    """The running stack, with this process pointed at it for the duration of one test."""
    saved = {k: os.environ.get(k) for k in local_stack.env}
    os.environ.update(local_stack.env)
    _reset_caches()
    try:
        local_stack.pump.drain()  # start from a quiet stack: leftovers of earlier tests are not ours
        yield local_stack
        local_stack.pump.drain()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _reset_caches()
