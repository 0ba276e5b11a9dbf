"""Promoted (置顶) tasks through the API: payment to `revenue:promotion`, the pin at the top of the category's
first page for 24 h, extension, idempotency, who may promote what, and pagination without repeats."""

from __future__ import annotations

import pytest

from chalicelib.adapters import clock as clock_adapter
from chalicelib.domain import ledger as L
from chalicelib.store import ledger as books
from chalicelib.store import promoted as store
from tests.api.claims.conftest import fresh
from tests.api.money.conftest import credit_wallet
from tests.api.tasks.conftest import accounts, draft, fund, market  # noqa: F401

PRICE = 2_000
DAY = 86_400


pytestmark = pytest.mark.usefixtures("h7_no_stream")


def promote(api, merchant, task_id: str, key: str = "p1"):
    return api.post(f"/v1/tasks/{task_id}/promotion", token=fresh(merchant), headers={"Idempotency-Key": key})


def hall(api, worker, query: str) -> list[dict]:
    reply = api.get(f"/v1/hall{query}", token=fresh(worker))
    assert reply.status == 200, reply.body
    return list(reply.json["items"])


def revenue() -> int:
    return books.get_balances([L.REVENUE_PROMOTION])[L.REVENUE_PROMOTION].posted


def wallet(user_id: str) -> int:
    return books.get_balances([L.wallet(user_id)])[L.wallet(user_id)].available


@pytest.fixture
def shelf(api, market, users):  # noqa: F811
    """One merchant's older survey task and three newer surveys of another merchant, and a worker."""
    m = market.merchant(100_000)
    old = market.publish(m, draft(reward_fen=300))
    other = market.merchant(100_000)
    newer = []
    for _ in range(3):
        clock_adapter.advance(60)
        newer.append(market.publish(other, draft(reward_fen=300)))
    return m, old, newer, users.make("worker")


def test_promotion_pays_the_price_and_pins_for_24_hours(api, shelf):
    m, old, _, _ = shelf
    before = wallet(m.id)
    now = clock_adapter.now()
    reply = promote(api, m, old)
    assert reply.status == 201, reply.body
    body = reply.json
    assert body["pinned_from"] == books.iso(now) and body["price_fen"] == PRICE and body["times"] == 1
    assert body["pinned_until"] == books.iso(now.replace(day=now.day + 1))
    assert wallet(m.id) == before - PRICE and revenue() == PRICE
    lines = api.get("/v1/wallet/entries", token=fresh(m)).json["items"]
    assert lines[0]["type"] == "promotion" and lines[0]["amount_fen"] == -PRICE


def test_pinned_task_heads_its_category_and_not_the_whole_hall(api, shelf):
    m, old, newer, worker = shelf
    promote(api, m, old)
    in_category = hall(api, worker, "?category=survey")
    assert [i["id"] for i in in_category] == [old, *reversed(newer)]
    assert in_category[0]["pinned"] is True and not any(i["pinned"] for i in in_category[1:])
    everything = hall(api, worker, "")
    assert [i["id"] for i in everything] == [*reversed(newer), old]
    assert not any(i["pinned"] for i in everything)


def test_the_pin_ends_after_24_hours(api, shelf):
    m, old, newer, worker = shelf
    promote(api, m, old)
    clock_adapter.advance(DAY - 120)
    assert hall(api, worker, "?category=survey")[0]["id"] == old
    clock_adapter.advance(121)
    assert [i["id"] for i in hall(api, worker, "?category=survey")] == [*reversed(newer), old]


def test_same_idempotency_key_pays_once(api, shelf):
    m, old, _, _ = shelf
    first, again = promote(api, m, old, "same"), promote(api, m, old, "same")
    assert first.status == again.status == 201 and first.json == again.json
    assert revenue() == PRICE and int(store.get(old).seq) == 1


def test_paying_again_while_pinned_extends_from_the_current_end(api, shelf):
    m, old, _, _ = shelf
    first = promote(api, m, old, "a").json
    clock_adapter.advance(3600)
    second = promote(api, m, old, "b").json
    assert second["pinned_from"] == first["pinned_until"] and second["times"] == 2
    assert revenue() == 2 * PRICE


def test_pages_after_the_first_do_not_repeat_the_pinned_task(api, shelf):
    m, old, newer, worker = shelf
    promote(api, m, old)
    first = api.get("/v1/hall?category=survey&limit=2", token=fresh(worker)).json
    assert [i["id"] for i in first["items"]] == [old, newer[2]]
    rest = api.get(f"/v1/hall?category=survey&limit=2&cursor={first['next_cursor']}", token=fresh(worker)).json
    seen = [i["id"] for i in rest["items"]]
    while rest["next_cursor"]:
        rest = api.get(f"/v1/hall?category=survey&limit=2&cursor={rest['next_cursor']}", token=fresh(worker)).json
        seen += [i["id"] for i in rest["items"]]
    assert seen == [newer[1], newer[0]]


def test_only_the_owner_may_promote(api, shelf, users):
    _, old, _, _ = shelf
    stranger = users.approved_merchant()
    credit_wallet(stranger.id, 10_000)
    assert promote(api, stranger, old).status == 404
    worker = users.make("worker")
    reply = api.post(f"/v1/tasks/{old}/promotion", token=worker.token, headers={"Idempotency-Key": "w"})
    assert reply.status == 403
    assert revenue() == 0


def test_a_task_not_listed_cannot_be_promoted(api, market):  # noqa: F811
    m = market.merchant(100_000)
    draft_id = market.create(m)
    reply = promote(api, m, draft_id)
    assert reply.status == 409 and reply.code == "TASK_NOT_LISTED"
    live = market.publish(m)
    assert api.post(f"/v1/tasks/{live}/pause", token=fresh(m)).status == 200
    assert promote(api, m, live, "p2").code == "TASK_NOT_LISTED"
    assert revenue() == 0


def test_insufficient_balance_is_409_and_writes_nothing(api, market):  # noqa: F811
    m = market.merchant(0)
    credit_wallet(m.id, 2 * 1_050)
    task_id = market.publish(m, draft(reward_fen=1_000, slots=2))
    assert wallet(m.id) == 0
    reply = promote(api, m, task_id)
    assert reply.status == 409 and reply.code == "INSUFFICIENT_BALANCE"
    assert store.get(task_id) is None and revenue() == 0


def test_a_full_category_still_lets_a_pinned_task_extend(api, shelf, monkeypatch):
    from chalicelib.services import promoted

    m, old, _, _ = shelf
    monkeypatch.setattr(promoted, "MAX_PINS_PER_CATEGORY", 1)
    assert promote(api, m, old).status == 201
    assert promote(api, m, old, "again").status == 201
    assert revenue() == 2 * PRICE


def test_a_second_task_cannot_take_a_full_category(api, market, monkeypatch):  # noqa: F811
    from chalicelib.services import promoted

    monkeypatch.setattr(promoted, "MAX_PINS_PER_CATEGORY", 1)
    m = market.merchant(100_000)
    first, second = market.publish(m), market.publish(m)
    assert promote(api, m, first).status == 201
    full = promote(api, m, second, "p2")
    assert full.status == 409 and full.code == "PROMOTION_SLOTS_FULL"
    assert revenue() == PRICE


def test_idempotency_key_is_required(api, shelf):
    m, old, _, _ = shelf
    reply = api.post(f"/v1/tasks/{old}/promotion", token=fresh(m))
    assert reply.status == 400 and reply.code == "IDEMPOTENCY_KEY_REQUIRED"
