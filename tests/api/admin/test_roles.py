"""Roles inside the desk: every /v1/admin route declares who may call it, and everyone else gets 403.

The table below is the desk's role map. A new /v1/admin route fails here until its area is in the map and its
`auth=` matches it, so an admin route can never ship open to every signed-in user by accident.
"""

from __future__ import annotations

import re

import pytest

import app as _app
from chalicelib.domain.roles import ADMIN_ROLES, ALL_ROLES
from chalicelib.handlers.web import PUBLIC, USER, route_spec

# Area (path prefix under /v1/admin/) → the roles that may call it. `admin` may do everything.
ROLE_MAP: dict[str, frozenset[str]] = {
    "tasks": frozenset({"admin", "reviewer"}),
    "merchants": frozenset({"admin", "reviewer"}),
    "finance": frozenset({"admin", "finance"}),
    "reports": frozenset({"admin", "finance"}),
    "users": frozenset({"admin"}),
    "audit-log": frozenset({"admin"}),
    "analytics": frozenset({"admin"}),
    "settings": frozenset({"admin"}),
    "risk": frozenset({"admin"}),
    "disputes": frozenset({"admin"}),
}


def _admin_routes() -> list[tuple[str, str, object]]:
    out = []
    for path, methods in _app.app.routes.items():
        if path.startswith("/v1/admin"):
            for method, entry in methods.items():
                out.append((method, path, entry.view_function))
    return sorted(out, key=lambda r: (r[1], r[0]))


ADMIN_ROUTES = _admin_routes()


def _effective(auth: str | tuple[str, ...]) -> frozenset[str]:
    """Who `web._check_role` lets through for an `auth=` value."""
    allowed = set(auth if isinstance(auth, tuple) else (auth,))
    if allowed & set(ADMIN_ROLES):
        allowed.add("admin")
    return frozenset(allowed)


def test_the_desk_has_routes_to_check():
    assert len(ADMIN_ROUTES) >= 12


@pytest.mark.parametrize(("method", "path", "view"), ADMIN_ROUTES, ids=[f"{m} {p}" for m, p, _ in ADMIN_ROUTES])
def test_every_admin_route_declares_the_roles_of_its_area(method, path, view):
    spec = route_spec(view)
    assert spec is not None, f"{method} {path} is not declared through web.route, so nothing checks its role"
    assert spec.auth not in (PUBLIC, USER), f"{method} {path} is open to every signed-in user"
    area = path.removeprefix("/v1/admin/").split("/")[0]
    assert area in ROLE_MAP, f"{method} {path}: new desk area {area!r} — add its roles to ROLE_MAP"
    assert _effective(spec.auth) == ROLE_MAP[area], (method, path, spec.auth)
    assert _effective(spec.auth) <= set(ADMIN_ROLES), "only desk roles may call /v1/admin routes"


@pytest.mark.parametrize(("method", "path", "view"), ADMIN_ROUTES, ids=[f"{m} {p}" for m, p, _ in ADMIN_ROUTES])
def test_every_admin_route_refuses_roles_outside_its_area(api, users, method, path, view):
    area = path.removeprefix("/v1/admin/").split("/")[0]
    allowed = ROLE_MAP.get(area, frozenset())
    concrete = re.sub(r"{[^}]+}", "x_missing", path)
    for role in ALL_ROLES:
        if role in allowed:
            continue
        who = users.make(role)
        body = {} if method in ("POST", "PUT", "PATCH") else None
        reply = api.request(method, concrete, body, token=who.token)
        assert reply.status == 403 and reply.code == "ROLE_FORBIDDEN", (role, reply.status, reply.body)
    anonymous = api.request(method, concrete, {} if method != "GET" else None)
    assert anonymous.status == 401


LISTINGS = [(m, p, v) for m, p, v in ADMIN_ROUTES if m == "GET" and "{" not in p]


@pytest.mark.parametrize(("method", "path", "view"), LISTINGS, ids=[f"{m} {p}" for m, p, _ in LISTINGS])
def test_every_role_of_an_area_gets_past_the_role_check(api, users, method, path, view):
    """The review queues open to reviewers, the finance views to finance, everything to admins."""
    area = path.removeprefix("/v1/admin/").split("/")[0]
    for role in sorted(ROLE_MAP[area]):
        who = users.make(role)
        reply = api.get(path, token=who.token)
        assert reply.status != 403 and reply.status < 500, (role, reply.status, reply.body)
