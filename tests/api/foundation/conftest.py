"""Helpers for the request-machinery tests: test-only apps, a stand-in identity, captured log lines.

Test routes live on their own Chalice app built here, never on the real one, so they cannot leak into the
product or its OpenAPI document. The app is chalice's `LocalChalice` (a thread-local `current_request`, as
`chalice local` serves), so tests can send concurrent requests through it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from chalice import Blueprint
from chalice.local import LocalChalice
from chalice.test import Client
from moto import mock_aws

from chalicelib.domain.errors import Unauthorized
from chalicelib.domain.roles import Caller
from chalicelib.handlers import openapi, web
from tests.conftest import Api, _reset_caches
from tests.unit.foundation.logcapture import log_lines

__all__ = ["bearer", "log_lines", "make_app"]


def make_app(*blueprints: Blueprint) -> LocalChalice:
    """An app wired like app.py (the same middleware), holding only the given blueprints.

    Its routes are taken back out of `web.HANDLERS`, the registry of the product's routes (`web.routes()`):
    every test module is imported at collection, so test routes would otherwise show up there in every worker.
    """
    app = LocalChalice(app_name="taskhall", configure_logs=False)
    app.register_middleware(web.http_middleware, "http")
    for bp in blueprints:
        app.register_blueprint(bp)
    ours = {id(spec) for _, spec in openapi.registered(app)}
    for key in [key for key, (spec, _) in web.HANDLERS.items() if id(spec) in ours]:
        del web.HANDLERS[key]
    return app


@pytest.fixture
def serve(clock: Any) -> Callable[[LocalChalice], Api]:
    """`serve(app)` → the JSON test client over a test-only app, on the pinned clock.

    It brings no AWS: tests whose routes touch the table ask for the `aws` fixture as well.
    """

    def _serve(app: LocalChalice) -> Api:
        return Api(Client(app, stage_name="test"))

    return _serve


@pytest.fixture(scope="module")
def shared_aws() -> Iterator[Any]:
    """One moto account with the stage's resources for a whole test module.

    For modules whose tests only add items under keys of their own, so they need not pay for a fresh
    account each (creating one is ~0.4 s); anything that deletes or breaks resources uses `aws` instead.
    """
    from devstack.resources import create_stack

    with mock_aws():
        _reset_caches()
        yield create_stack("test", os.environ["AWS_DEFAULT_REGION"])
    _reset_caches()


def bearer(user_id: str, role: str = "worker", status: str = "active") -> str:
    """A token the stand-in identity accepts (see `identity`)."""
    return f"test:{user_id}:{role}:{status}"


@pytest.fixture
def identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand-in for `services.sessions.authenticate`: `Bearer test:<user>:<role>:<status>` → Caller.

    The request machinery is tested on its own here; the identity feature tests real tokens.
    """
    from chalicelib.services import sessions

    def authenticate(ctx: web.RequestContext) -> Caller:
        value = ctx.headers.get("authorization", "")
        parts = value.removeprefix("Bearer ").split(":")
        if len(parts) != 4 or parts[0] != "test":
            raise Unauthorized()
        return Caller(id=parts[1], role=parts[2], status=parts[3])

    monkeypatch.setattr(sessions, "authenticate", authenticate)
