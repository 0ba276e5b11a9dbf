"""Broken object-level authorization matrix: every route with a path id, tried by the wrong people.

Routes come from the app (`app.app.routes`, mounted from the route table), so a new route with a `{param}` and
no case in `tests/api/bola/` fails here until its feature says who may touch its objects (see
tests/api/bola/__init__.py).
"""

from __future__ import annotations

import re

import pytest

import app as _app
from tests.api.bola import Case, World, all_cases

CASES = all_cases()
# The real app's routes (test modules register throwaway routes of their own through web.route).
ID_ROUTES = sorted({(m, path) for path, methods in _app.app.routes.items() if "{" in path for m in methods})


def _call(world: World, method: str, path: str, params: dict[str, str], case: Case, token: str):
    concrete = re.sub(r"{([^}]+)}", lambda m: params[m.group(1)], path)
    body = (case.body or {}) if method in ("POST", "PUT", "PATCH") else None
    return world.api.request(method, concrete, body, token=token, headers=case.headers)


@pytest.mark.parametrize(("method", "path"), ID_ROUTES, ids=[f"{m} {p}" for m, p in ID_ROUTES])
def test_route_with_a_path_id_refuses_other_users(api, users, method, path):
    case = CASES.get((method, path))
    if case is None:
        pytest.fail(
            f"{method} {path} takes a path id but has no BOLA case: add one to tests/api/bola/<feature>.py "
            "(who owns the object, who must get 404/403)"
        )
    if case.exempt:
        assert len(case.exempt) > 10, "say why the path parameter is not an object id"
        return
    assert case.make is not None
    world = World(api, users)
    made = case.make(world)
    for role in case.wrong_roles:
        stranger = users.make(role)
        reply = _call(world, method, path, made.params, case, stranger.token)
        assert reply.status in (403, 404), (role, reply.status, reply.body)
    if case.intruder == "same":
        intruder = users.make(made.owner.role)
        reply = _call(world, method, path, made.params, case, intruder.token)
        assert reply.status == 404, (reply.status, reply.body)
    else:
        role = case.intruder.removeprefix("staff:")
        staff = users.make(role)
        reply = _call(world, method, path, made.params, case, staff.token)
        assert reply.status < 400, (role, reply.status, reply.body)
    owner_reply = _call(world, method, path, made.params, case, made.owner.token)
    if case.owner_ok:
        assert owner_reply.status < 400, (owner_reply.status, owner_reply.body)
    else:
        assert owner_reply.status == 403, (owner_reply.status, owner_reply.body)


def test_matrix_has_no_cases_for_routes_that_do_not_exist():
    stale = set(CASES) - set(ID_ROUTES)
    assert not stale, f"BOLA cases for routes that no longer exist: {sorted(stale)}"
