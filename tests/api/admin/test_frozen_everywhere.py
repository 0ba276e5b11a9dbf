"""A frozen account gets 403 ACCOUNT_FROZEN on every signed-in route except the few a frozen person needs.

Walks the app's routes, so a new route is covered the day it is added; a new route that lets frozen accounts
through fails here until it is added to the allowlist below with a reason.
"""

from __future__ import annotations

import re

import pytest

import app as _app
from chalicelib.handlers.web import PUBLIC, route_spec

# What a frozen person may still do, and why.
FROZEN_ALLOWED = {
    ("GET", "/v1/me"),  # see their own status and the freeze
    ("GET", "/v1/me/credit"),  # see their own credit record
    ("POST", "/v1/auth/logout"),  # sign out
    ("GET", "/v1/notifications"),  # read the freeze notice
    ("POST", "/v1/notifications/read"),
    ("POST", "/v1/disputes"),  # appeal (the service refuses every other kind of case from a frozen account)
    ("GET", "/v1/disputes"),
    ("GET", "/v1/disputes/{dispute_id}"),
    ("POST", "/v1/disputes/{dispute_id}/messages"),
}

SIGNED_IN_ROUTES = sorted(
    (method, path)
    for path, methods in _app.app.routes.items()
    for method, entry in methods.items()
    if (spec := route_spec(entry.view_function)) is not None and spec.auth != PUBLIC
)


@pytest.fixture
def frozen(api, users):
    admin = users.staff("admin")
    out = {}
    for role in ("worker", "merchant"):
        person = users.make(role)
        reply = api.post(f"/v1/admin/users/{person.id}/freeze", {"reason": "冻结测试"}, token=admin.token)
        assert reply.status == 200, reply.body
        out[role] = person
    return out


def test_frozen_accounts_are_refused_on_every_route_but_the_allowlist(api, frozen):
    assert len(SIGNED_IN_ROUTES) > 40
    leaks = []
    for method, path in SIGNED_IN_ROUTES:
        if (method, path) in FROZEN_ALLOWED:
            continue
        concrete = re.sub(r"{[^}]+}", "x_missing", path)
        for person in frozen.values():
            reply = api.request(
                method, concrete, {} if method in ("POST", "PUT", "PATCH") else None, token=person.token
            )
            if reply.status != 403 or reply.code != "ACCOUNT_FROZEN":
                leaks.append((method, path, person.role, reply.status, reply.code))
    assert not leaks, leaks


def test_the_allowlist_names_real_routes_and_me_answers_a_frozen_account(api, frozen):
    assert FROZEN_ALLOWED <= set(SIGNED_IN_ROUTES)
    me = api.get("/v1/me", token=frozen["worker"].token)
    assert me.status == 200 and me.json["status"] == "frozen"
