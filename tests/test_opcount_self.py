"""The operation counter itself, and the budgets no single feature's tests hold (issue 10 item 1):

- a Scan deliberately added to a route is seen, and the no-Scan budget fails on it;
- every list route (GET without a path parameter), called by each role, issues no Scan;
- the hall: a page on the main filter paths (each sort; all tasks or one category) is at most 2 Queries with
  read amplification at most 1.5; the reward-range paths are held by tests/api/tasks/test_hall_reads.py.
"""

from __future__ import annotations

import pytest

from tests.opcount import OpCount, count_ops

STAFF = ("admin", "reviewer", "finance")


def assert_no_scan(ops: OpCount, what: str) -> None:
    assert ops.ops["Scan"] == 0, f"{what} scanned the table: {ops.summary()}"


def test_a_route_that_scans_is_counted_and_fails_the_no_scan_budget(api, users, monkeypatch):
    from chalicelib.config import settings
    from chalicelib.services import wallet
    from chalicelib.store.base import table_client

    real = wallet.wallet

    def scanning_wallet(user_id: str):
        table_client().scan(TableName=settings().table_name, Limit=5)  # the mistake the budget exists to catch
        return real(user_id)

    monkeypatch.setattr(wallet, "wallet", scanning_wallet)
    worker = users.make("worker")
    with count_ops() as ops:
        reply = api.get("/v1/wallet", token=worker.token)
    assert reply.status == 200
    assert ops.ops["Scan"] == 1 and ops.items_read >= ops.items_returned
    with pytest.raises(AssertionError, match="scanned the table"):
        assert_no_scan(ops, "GET /v1/wallet")

    monkeypatch.setattr(wallet, "wallet", real)
    with count_ops() as clean:
        api.get("/v1/wallet", token=worker.token)
    assert_no_scan(clean, "GET /v1/wallet")


def test_the_counter_sees_every_client_and_asks_for_consumed_capacity(api, users):
    worker = users.make("worker")
    api.get("/v1/wallet", token=worker.token)
    with count_ops() as ops:
        reply = api.get("/v1/wallet", token=worker.token)
    assert reply.status == 200
    assert ops.reads >= 1 and ops.capacity > 0, ops.summary()  # ReturnConsumedCapacity=TOTAL was requested


def _role(auth) -> str | None:
    if auth == "public":
        return None
    if isinstance(auth, tuple):
        for role in ("worker", "merchant", *STAFF):
            if role in auth:
                return role
    return "worker"


def test_no_list_route_scans_for_any_role(api, users):
    from app import app
    from chalicelib.handlers.openapi import registered

    tokens: dict[str, str] = {}
    checked = []
    for path, spec in registered(app):
        if spec.method != "GET" or "{" in path:
            continue
        role = _role(spec.auth)
        if role is not None and role not in tokens:
            tokens[role] = users.make(role).token
        with count_ops() as ops:
            reply = api.get(path, token=tokens.get(role) if role else None)
        assert reply.status < 500, (path, reply.status, reply.body[:300])
        assert_no_scan(ops, f"GET {path} as {role}")
        checked.append(path)
    assert len(checked) >= 10, checked


def test_a_hall_page_on_the_main_paths_is_at_most_two_queries_and_reads_at_most_one_and_a_half(api, users, clock):
    from tests.api.tasks import hall_seed as S

    worker = users.make("worker")  # before seeding: in-process moto copies the whole table per transaction
    api.get("/v1/wallet", token=worker.token)  # warm: the caller's session state cached
    with S.partition_queries():
        S.seed(200)
        for sort in ("newest", "reward", "ending"):
            for category, pages in ((None, 2), ("survey", 1)):
                path = S.hall_path(sort, category, (None, None))
                cursor = None
                for _ in range(pages):
                    with count_ops() as ops:
                        reply = api.get(path + (f"&cursor={cursor}" if cursor else ""), token=worker.token)
                    assert reply.status == 200, reply.body
                    items = reply.json["items"]
                    assert len(items) == 20, path
                    assert ops.ops["Query"] <= 2, (path, ops.summary())
                    assert ops.query_read / len(items) <= 1.5, (path, ops.summary())
                    assert_no_scan(ops, path)
                    cursor = reply.json["next_cursor"]
