"""New-worker coupon: credited locked at registration from `expense:promo`, unlocked by the first accepted task."""

from __future__ import annotations

from chalicelib.domain import growth as G
from chalicelib.domain import ledger as L
from chalicelib.services import promotions
from chalicelib.store import ledger as books
from tests.api.growth.conftest import promo_spent


def test_coupon_is_locked_until_the_first_task_is_accepted(api, people, h7_stream):
    worker = people.register("worker")
    merchant = people.register("merchant")
    h7_stream.drain()
    wallet = people.wallet(worker)
    assert (wallet["available_fen"], wallet["bonus_locked_fen"], wallet["frozen_fen"]) == (0, 100, 100)
    assert people.entries(worker) == []  # nothing spendable yet: a registering farm earns nothing
    assert people.wallet(merchant)["bonus_locked_fen"] == 0  # merchants get no worker coupon
    assert promo_spent() == 100

    people.accept(worker, reward=1_000)
    h7_stream.drain()
    wallet = people.wallet(worker)
    assert (wallet["available_fen"], wallet["bonus_locked_fen"], wallet["frozen_fen"]) == (1_000 + 100 + 100, 0, 0)
    lines = {e["type"]: (e["amount_fen"], e["description"]) for e in people.entries(worker)}
    assert lines["bonus_unlock"] == (100, "新人红包解锁")
    assert lines["promo"] == (100, "首单奖励")
    assert lines["reward"][0] == 1_000


def test_coupon_is_granted_once_when_the_registration_is_delivered_twice(api, people, h7_stream):
    worker = people.register("worker")
    start = h7_stream.drain()
    h7_stream.replay(start)
    assert promotions.grant_coupon(worker.id) == "duplicate"
    assert people.wallet(worker)["bonus_locked_fen"] == 100
    assert promo_spent() == 100


def test_coupon_landing_after_the_first_acceptance_is_unlocked_at_once(api, people):
    """The stream may deliver the first acceptance before the registration: the coupon then goes straight
    through to the wallet, and is still unlocked exactly once."""
    worker = people.accounts.make("worker")
    assert promotions.first_task(worker.id, "clm_first", 1_000) == "paid"
    assert promotions.grant_coupon(worker.id) == "granted_unlocked"
    assert promotions.grant_coupon(worker.id) == "duplicate"
    got = books.get_balances([L.wallet(worker.id), L.bonus(worker.id)])
    assert (got[L.wallet(worker.id)].available, got[L.bonus(worker.id)].available) == (100 + 100, 0)
    assert books.get_transfer(G.coupon_id(worker.id)).credit == L.wallet(worker.id)
    assert books.get_transfer(G.unlock_id(worker.id)) is None


def test_a_first_task_that_finds_no_coupon_cannot_miss_one_landing_meanwhile(api, people, monkeypatch):
    """The first-task transaction unlocks nothing only on the condition that the coupon does not exist: a coupon
    granted between its read and its write sends it round again, and the coupon is unlocked."""
    from chalicelib.store import ledger as store_ledger

    worker = people.accounts.make("worker")
    real = store_ledger.get_transfer_item
    calls = {"n": 0}

    def stale_coupon_read(transfer_id: str):
        if transfer_id == G.coupon_id(worker.id) and calls["n"] == 0:
            calls["n"] += 1
            assert promotions.grant_coupon(worker.id) == "granted"  # lands right after our read
            return None
        return real(transfer_id)

    monkeypatch.setattr(books, "get_transfer_item", stale_coupon_read)
    assert promotions.first_task(worker.id, "clm_first", 1_000) == "paid"
    got = books.get_balances([L.wallet(worker.id), L.bonus(worker.id)])
    assert (got[L.wallet(worker.id)].available, got[L.bonus(worker.id)].available) == (100 + 100, 0)


def test_coupon_amount_is_a_stage_setting(api, people, h7_stream, monkeypatch):
    from chalicelib.config import reset_settings

    monkeypatch.setenv("COUPON_FEN", "300")
    reset_settings()
    worker = people.register("worker")
    h7_stream.drain()
    assert people.wallet(worker)["bonus_locked_fen"] == 300
    monkeypatch.setenv("COUPON_FEN", "0")
    reset_settings()
    assert promotions.grant_coupon(people.accounts.make("worker").id) == "off"
