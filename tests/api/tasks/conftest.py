"""Task tests: approved merchants with money, valid drafts from a small factory, tasks walked to any status
through the API, the table stream delivered on demand, and a counter of DynamoDB calls."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.adapters import clock as clock_adapter
from chalicelib.domain import ledger as L
from chalicelib.store import ledger as books
from tests.api.identity.factory import Account, AccountFactory
from tests.api.money.conftest import fund  # noqa: F401

_n = itertools.count(1)


@pytest.fixture
def accounts(api):
    return AccountFactory(api)


def draft(**overrides: Any) -> dict[str, Any]:
    """A valid task body (a survey); override any field."""
    body: dict[str, Any] = {
        "title": f"手机使用习惯问卷 {next(_n)}",
        "description": "请如实填写一份约 5 分钟的手机使用习惯问卷，完成后截图提交结果页。",
        "category": "survey",
        "steps": ["打开问卷链接", "如实作答全部题目", "截图结果页"],
        "proof": {"images_min": 1},
        "reward_fen": 200,
        "slots": 10,
        "claim_ttl_s": 3600,
        "review_ttl_s": 86400,
        "ends_at": books.iso(clock_adapter.now() + timedelta(days=7)),
        "eligibility": {},
    }
    body.update(overrides)
    return body


def promotion(**overrides: Any) -> dict[str, Any]:
    """A 地推 task with a GPS check-in at 上海人民广场."""
    body = {
        "title": f"人民广场门店地推扫码 {next(_n)}",
        "description": "到人民广场门店向路人介绍新品并引导扫码关注门店小程序，拍照打卡。",
        "category": "promotion",
        "steps": ["到店签到", "介绍新品", "拍照打卡"],
        "proof": {"images_min": 1, "gps": {"lat": 31.2304, "lng": 121.4737, "radius_m": 500}},
    }
    return draft(**{**body, **overrides})


def relogin(*people: Account) -> None:
    """New access tokens after the stage clock moved past their 10-minute life."""
    from chalicelib.services import sessions
    from chalicelib.store import users

    for person in people:
        person.token = sessions.start_session(users.get_user(person.id, consistent=True)).access_token


def balance(account: str) -> int:
    return books.get_balances([account])[account].available


def balances(*accounts: str) -> list[int]:
    got = books.get_balances(list(accounts))
    return [got[a].available for a in accounts]


@dataclass
class Market:
    """Drives tasks through the API as a merchant and a reviewer would."""

    api: Any
    accounts: AccountFactory
    fund_fn: Any
    reviewer: Account | None = None
    merchants: list[Account] = field(default_factory=list)

    def merchant(self, fen: int = 0) -> Account:
        m = self.accounts.approved_merchant()
        if fen:
            self.fund_fn(m.id, fen)
        self.merchants.append(m)
        return m

    def desk(self) -> Account:
        if self.reviewer is None:
            self.reviewer = self.accounts.staff("reviewer")
        return self.reviewer

    def create(self, merchant: Account, body: dict[str, Any] | None = None) -> str:
        reply = self.api.post("/v1/tasks", body or draft(), token=merchant.token)
        assert reply.status == 201, reply.body
        return str(reply.json["id"])

    def submit(self, merchant: Account, task_id: str) -> Any:
        return self.api.post(f"/v1/tasks/{task_id}/submit", token=merchant.token)

    def approve(self, task_id: str) -> Any:
        return self.api.post(f"/v1/admin/tasks/{task_id}/approve", token=self.desk().token)

    def publish(self, merchant: Account, body: dict[str, Any] | None = None) -> str:
        task_id = self.create(merchant, body)
        sent = self.submit(merchant, task_id)
        assert sent.status == 200, sent.body
        done = self.approve(task_id)
        assert done.status == 200 and done.json["funded"], done.body
        return task_id

    def task(self, merchant: Account, task_id: str) -> dict[str, Any]:
        reply = self.api.get(f"/v1/tasks/{task_id}", token=merchant.token)
        assert reply.status == 200, reply.body
        return dict(reply.json)


@pytest.fixture
def market(api, accounts, fund):  # noqa: F811
    return Market(api, accounts, fund)


@pytest.fixture
def pump(aws, chalice_app, monkeypatch):
    """The table stream delivered to the app's consumers on demand (`pump.drain()`), as the local pump does."""
    from devstack.pump import Pump

    # botocore sends DescribeStream to `<account>.streams-ddb…` endpoints, which in-process moto does not route.
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    p = Pump.for_stack(aws, app=chalice_app, retry_delay_s=0, wait_s=0)
    p.drain()  # what setting the stack up wrote
    return p


@pytest.fixture
def partition_queries():
    """moto reads one partition per base-table Query instead of sorting the whole table (see hall_seed)."""
    from tests.api.tasks.hall_seed import partition_queries as patched

    with patched():
        yield


class CallCounter:
    """DynamoDB calls made through pynamodb's client, with the items each Query read."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def __call__(self, http_response: Any, parsed: Any, model: Any, **_: Any) -> None:
        self.calls.append((model.name, int(parsed.get("ScannedCount", parsed.get("Count", 0)) or 0)))

    def reset(self) -> None:
        self.calls.clear()

    def count(self, op: str) -> int:
        return sum(1 for name, _ in self.calls if name == op)

    def read(self, op: str = "Query") -> int:
        return sum(n for name, n in self.calls if name == op)


@pytest.fixture
def ddb_calls(aws) -> Iterator[CallCounter]:
    """Every model class keeps its own pynamodb connection (and botocore client): hook them all."""
    from chalicelib.store.base import Item, _all_subclasses

    counter = CallCounter()
    clients = {}
    for model in [Item, *_all_subclasses(Item)]:
        client = model._get_connection().connection.client
        clients[id(client)] = client
    for client in clients.values():
        client.meta.events.register("after-call.dynamodb.*", counter)
    yield counter
    for client in clients.values():
        client.meta.events.unregister("after-call.dynamodb.*", counter)


__all__ = ["L", "balance", "balances", "draft", "promotion"]
