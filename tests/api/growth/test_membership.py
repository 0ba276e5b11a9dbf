"""Merchant membership through the API: purchase and extension from the wallet, idempotency, concurrent
purchases, insufficient balance, the 2% fee snapshotted at publish, hall priority, expiry, `/v1/me`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.adapters import clock as clock_adapter
from chalicelib.domain import ledger as L
from chalicelib.services import schedules
from chalicelib.store import ledger as books
from chalicelib.store import membership as store
from tests.api.claims.conftest import fresh
from tests.api.money.conftest import credit_wallet
from tests.api.tasks.conftest import accounts, draft, fund, market, relogin  # noqa: F401

PRICE = 9_900
MONTH = timedelta(days=30)


def buy(api, merchant, key: str = "k1", plan: str = "monthly"):
    return api.post("/v1/membership", {"plan": plan}, token=fresh(merchant), headers={"Idempotency-Key": key})


def wallet(user_id: str) -> int:
    return books.get_balances([L.wallet(user_id)])[L.wallet(user_id)].available


def revenue() -> int:
    return books.get_balances([L.REVENUE_MEMBERSHIP])[L.REVENUE_MEMBERSHIP].posted


@pytest.fixture
def merchant(users):
    m = users.approved_merchant()
    credit_wallet(m.id, 50_000)
    return m


def test_purchase_pays_from_the_wallet_and_activates_for_30_days(h7_no_stream, api, merchant):
    now = clock_adapter.now()
    reply = buy(api, merchant)
    assert reply.status == 201, reply.body
    body = reply.json
    assert body["status"] == "active" and body["plan"] == "monthly" and body["fee_bps"] == 200
    assert body["active_until"] == books.iso(now + MONTH)
    assert body["current"]["starts_at"] == books.iso(now) and body["current"]["amount_fen"] == PRICE
    assert [p["seq"] for p in body["history"]] == [1]
    assert wallet(merchant.id) == 50_000 - PRICE and revenue() == PRICE
    entries = api.get("/v1/wallet/entries", token=fresh(merchant)).json["items"]
    assert entries[0]["amount_fen"] == -PRICE and entries[0]["type"] == "membership"
    assert api.get("/v1/membership", token=fresh(merchant)).json == body


def test_same_idempotency_key_charges_once(h7_no_stream, api, merchant):
    first, again = buy(api, merchant, "same"), buy(api, merchant, "same")
    assert first.status == again.status == 201
    assert first.json == again.json
    assert wallet(merchant.id) == 50_000 - PRICE and revenue() == PRICE
    assert len(store.history(merchant.id, 10)) == 1


def test_idempotency_key_is_required(h7_no_stream, api, merchant):
    reply = api.post("/v1/membership", {"plan": "monthly"}, token=fresh(merchant))
    assert reply.status == 400 and reply.code == "IDEMPOTENCY_KEY_REQUIRED"
    assert wallet(merchant.id) == 50_000


def test_unknown_plan_is_refused(h7_no_stream, api, merchant):
    reply = buy(api, merchant, plan="yearly")
    assert reply.status == 422
    assert wallet(merchant.id) == 50_000


def test_renewal_while_active_extends_from_the_current_end(h7_no_stream, api, merchant):
    start = clock_adapter.now()
    buy(api, merchant, "a")
    clock_adapter.advance(10 * 86_400)
    body = buy(api, merchant, "b").json
    assert body["active_until"] == books.iso(start + 2 * MONTH)
    first, second = sorted(body["history"], key=lambda p: p["seq"])
    assert second["starts_at"] == first["ends_at"]
    assert body["current"]["seq"] == 1  # still in the first period
    assert wallet(merchant.id) == 50_000 - 2 * PRICE


def test_purchase_after_expiry_starts_now(h7_no_stream, api, merchant):
    buy(api, merchant, "a")
    clock_adapter.advance(45 * 86_400)
    assert api.get("/v1/membership", token=fresh(merchant)).json["status"] == "expired"
    now = clock_adapter.now()
    body = buy(api, merchant, "b").json
    assert body["status"] == "active" and body["active_until"] == books.iso(now + MONTH)


def test_concurrent_purchases_with_different_keys_each_extend_once(h7_no_stream, api, merchant, monkeypatch):
    """Two purchases read the same state; the first commits; the second collides on the period's transfer id,
    rereads and extends from the first one's end (a deterministic interleaving: in-process moto is not
    thread-safe)."""
    from chalicelib.services import membership

    start = clock_adapter.now()
    real_get = store.get
    stale = {"left": 0}

    def racing_get(merchant_id: str):
        if stale["left"]:
            stale["left"] -= 1
            assert buy(api, merchant, "first").status == 201  # lands between our read and our write
            return None  # what we read before it committed
        return real_get(merchant_id)

    monkeypatch.setattr(membership.store, "get", racing_get)
    stale["left"] = 1
    second = buy(api, merchant, "second")
    assert second.status == 201, second.body
    lines = sorted(store.history(merchant.id, 10), key=lambda p: int(p.seq))
    assert [int(p.seq) for p in lines] == [1, 2]
    assert lines[0].ends_at == lines[1].starts_at
    assert real_get(merchant.id).active_until == books.iso(start + 2 * MONTH)
    assert wallet(merchant.id) == 50_000 - 2 * PRICE and revenue() == 2 * PRICE
    assert buy(api, merchant, "third").status == 201
    assert real_get(merchant.id).active_until == books.iso(start + 3 * MONTH)


def test_insufficient_balance_is_409_and_writes_nothing(h7_no_stream, api, users):
    poor = users.approved_merchant()
    credit_wallet(poor.id, PRICE - 1)
    reply = buy(api, poor)
    assert reply.status == 409 and reply.code == "INSUFFICIENT_BALANCE"
    assert wallet(poor.id) == PRICE - 1 and revenue() == 0
    assert store.get(poor.id) is None and store.history(poor.id, 10) == []
    assert books.get_transfer(f"membership:{poor.id}:1") is None
    assert api.get("/v1/membership", token=fresh(poor)).json["status"] == "none"


def test_workers_cannot_buy_membership(h7_no_stream, api, users):
    worker = users.make("worker")
    reply = api.post("/v1/membership", {"plan": "monthly"}, token=worker.token, headers={"Idempotency-Key": "w"})
    assert reply.status == 403


def test_fee_drops_to_2_percent_for_tasks_published_while_active_and_not_for_older_ones(h7_no_stream, api, market):  # noqa: F811
    m = market.merchant(200_000)
    before = market.publish(m, draft(reward_fen=1_000, slots=2))
    assert buy(api, m).status == 201
    during = market.publish(m, draft(reward_fen=1_000, slots=2))
    old, new = market.task(m, before), market.task(m, during)
    assert (old["fee_bps"], old["unit_cost_fen"]) == (500, 1_050)
    assert (new["fee_bps"], new["unit_cost_fen"]) == (200, 1_020)
    clock_adapter.advance(31 * 86_400)
    relogin(m, market.desk())
    after = market.publish(m, draft(reward_fen=1_000, slots=2))
    assert market.task(m, after)["fee_bps"] == 500
    assert market.task(m, during)["fee_bps"] == 200  # the snapshot outlives the membership


def test_member_tasks_come_first_in_the_hall(h7_no_stream, api, market, users):  # noqa: F811
    plain = market.merchant(100_000)
    member = market.merchant(100_000)
    buy(api, member)
    mine = market.publish(member, draft(reward_fen=500))
    clock_adapter.advance(60)
    other = market.publish(plain, draft(reward_fen=500))  # newer, yet listed after the member's
    worker = users.make("worker")
    items = api.get("/v1/hall?sort=newest", token=fresh(worker)).json["items"]
    ids = [i["id"] for i in items]
    assert ids.index(mine) < ids.index(other)
    assert next(i for i in items if i["id"] == mine)["member"] is True


def test_expiry_job_marks_it_expired_and_tells_the_merchant(api, merchant, h7_own_stream):
    buy(api, merchant)
    end = store.get(merchant.id).active_until
    clock_adapter.advance(30 * 86_400 - 1)
    assert schedules.run("membership_expiry") is True
    assert store.get(merchant.id).status == "active"  # one second left
    clock_adapter.advance(301)
    schedules.run("membership_expiry")
    item = store.get(merchant.id)
    assert item.status == "expired" and item.active_until == end and item.GSI1PK is None
    h7_own_stream.drain()
    h7_own_stream.drain()
    got = api.get("/v1/notifications", token=fresh(merchant)).json["items"]
    assert [n["type"] for n in got].count("membership.expired") == 1


def test_me_shows_the_membership(h7_no_stream, api, merchant):
    assert api.get("/v1/me", token=fresh(merchant)).json["membership"] is None
    buy(api, merchant)
    shown = api.get("/v1/me", token=fresh(merchant)).json["membership"]
    assert shown == {"status": "active", "plan": "monthly", "active_until": store.get(merchant.id).active_until}
    clock_adapter.advance(31 * 86_400)
    assert api.get("/v1/me", token=fresh(merchant)).json["membership"]["status"] == "expired"
