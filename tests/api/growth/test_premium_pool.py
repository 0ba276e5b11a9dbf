"""Premium pool: listed to every worker, claimable only with credit ≥ 120 and a verified real name; the hall
says why it is locked, and a claim without both is a 403 PREMIUM_ONLY (docs/decisions/0123)."""

from __future__ import annotations

import pytest

from chalicelib.domain import tasks as T
from chalicelib.store import keys
from chalicelib.store.users import UserItem
from tests.api.money.conftest import credit_wallet, make_verified
from tests.api.tasks.conftest import Market, draft


@pytest.fixture
def market(api):
    from tests.api.identity.factory import AccountFactory

    return Market(api, AccountFactory(api), credit_wallet)


def with_credit(user, score: int) -> None:
    UserItem(*keys.user(user.id)).update(actions=[UserItem.credit_score.set(score)])


def hall_lock(api, worker, task_id: str) -> dict | None:
    reply = api.get("/v1/hall", token=worker.token)
    assert reply.status == 200, reply.body
    [item] = [i for i in reply.json["items"] if i["id"] == task_id]
    detail = api.get(f"/v1/hall/{task_id}", token=worker.token)
    assert detail.status == 200 and detail.json["locked_reason"] == item["locked_reason"], detail.body
    return item["locked_reason"]


def claim(api, worker, task_id: str):
    return api.post(f"/v1/tasks/{task_id}/claims", token=worker.token, headers={"X-Device-Id": f"dev-{worker.id}"})


def test_premium_task_is_locked_with_the_reason_for_workers_below_the_bar(api, market):
    m = market.merchant(100_000)
    premium = market.publish(m, draft(eligibility={"premium_pool": True}))
    unverified_high = market.accounts.make("worker")
    with_credit(unverified_high, 150)
    verified_low = make_verified(api, market.accounts)
    with_credit(verified_low, T.PREMIUM_MIN_CREDIT - 1)
    for worker in (market.accounts.make("worker"), unverified_high, verified_low):
        lock = hall_lock(api, worker, premium)
        assert lock == {"code": "PREMIUM_ONLY", "message": "优质任务池仅对信用分 ≥ 120 且已实名的用户开放"}
        refused = claim(api, worker, premium)
        assert refused.status == 403 and refused.code == "PREMIUM_ONLY", refused.body


def test_premium_task_is_open_and_claimable_with_credit_at_the_bar_and_a_real_name(api, market):
    m = market.merchant(100_000)
    premium = market.publish(m, draft(eligibility={"premium_pool": True}))
    worker = make_verified(api, market.accounts)
    with_credit(worker, T.PREMIUM_MIN_CREDIT)
    assert hall_lock(api, worker, premium) is None
    taken = claim(api, worker, premium)
    assert taken.status == 201, taken.body
