"""First-task bonus: +10% of the reward (floor) on a worker's first accepted task, from `expense:promo`, once."""

from __future__ import annotations

from chalicelib.domain import growth as G
from chalicelib.domain import ledger as L
from chalicelib.services import promotions
from chalicelib.store import ledger as books
from chalicelib.store import promotions as promo_store
from tests.api.growth.conftest import promo_spent


def wallet_fen(user) -> int:
    return books.get_balances([L.wallet(user.id)])[L.wallet(user.id)].available


def test_first_task_bonus_is_exactly_ten_percent_once(api, people, h7_stream):
    worker = people.register("worker")
    h7_stream.drain()
    first = people.accept(worker, reward=1_234)
    start = h7_stream.drain()
    assert wallet_fen(worker) == 1_234 + 123 + 100  # reward, floor(10%), the unlocked coupon
    bonus = books.get_transfer(G.first_task_id(worker.id))
    assert (bonus.debit, bonus.amount, bonus.code, bonus.meta["claim_id"]) == (L.EXPENSE_PROMO, 123, "promo", first)
    marker = promo_store.first_task_marker(worker.id)
    assert (marker.claim_id, marker.bonus_fen, marker.unlocked_fen) == (first, 123, 100)

    h7_stream.replay(start)  # the stream redelivers the acceptance
    people.accept(worker, reward=2_000)  # and a second task is accepted
    h7_stream.drain()
    assert wallet_fen(worker) == 1_234 + 123 + 100 + 2_000
    assert promo_spent() == 100 + 123


def test_two_accepts_delivered_together_pay_one_bonus(api, people, h7_stream):
    worker = people.accounts.make("worker")
    people.accept(worker, task=people.task(reward=1_000))
    people.accept(worker, task=people.task(reward=3_000))
    h7_stream.drain()
    # Task A's bonus (the first acceptance the stream delivered) and the coupon (the account is new too).
    assert wallet_fen(worker) == 1_000 + 3_000 + 100 + 100
    assert promo_spent() == 100 + 100


def test_a_racing_second_first_task_is_stopped_by_the_marker_condition(api, people, monkeypatch):
    """Two deliveries that both read "no marker yet": the one that commits second fails the marker's condition
    in its own transaction (and then sees the marker), so the bonus is paid once."""
    worker = people.accounts.make("worker")
    assert promotions.first_task(worker.id, "clm_a", 1_000) == "paid"
    real = promo_store.first_task_marker
    stale = {"left": 1}

    def racing_read(worker_id: str):
        if stale["left"]:
            stale["left"] -= 1
            return None  # read before the other delivery committed
        return real(worker_id)

    monkeypatch.setattr(promo_store, "first_task_marker", racing_read)
    for claim_id, reward in (("clm_b", 5_000), ("clm_a", 1_000)):  # another claim, and the same one again
        stale["left"] = 1
        assert promotions.first_task(worker.id, claim_id, reward) == "duplicate"
    assert wallet_fen(worker) == 100
    assert promo_spent() == 100


def test_a_reward_below_ten_fen_earns_no_bonus_but_still_counts_as_the_first(api, people):
    worker = people.accounts.make("worker")
    assert promotions.first_task(worker.id, "clm_tiny", 9) == "paid"
    assert promo_store.first_task_marker(worker.id).bonus_fen == 0
    assert books.get_transfer(G.first_task_id(worker.id)) is None
    assert promotions.first_task(worker.id, "clm_next", 1_000) == "duplicate"
    assert promo_spent() == 0


def test_first_task_bonus_rate_is_a_stage_setting(api, people, monkeypatch):
    from chalicelib.config import reset_settings

    monkeypatch.setenv("FIRST_TASK_BONUS_BPS", "2500")
    reset_settings()
    worker = people.accounts.make("worker")
    assert promotions.first_task(worker.id, "clm_x", 999) == "paid"
    assert wallet_fen(worker) == 249


def test_promotion_spend_shows_in_the_finance_summary(api, people, h7_stream):
    officer = people.accounts.staff("finance")
    inviter = people.register("worker")
    code = api.get("/v1/me/invite", token=inviter.token).json["code"]
    invitee = people.register("worker", invite_code=code)
    h7_stream.drain()
    people.accept(invitee, reward=2_000)
    h7_stream.drain()  # the acceptance: bonus, unlock, referral
    h7_stream.drain()  # the transfers those wrote reach the finance rollup
    assert promo_spent() == 2 * 100 + 200 + 2 * 500
    reply = api.get("/v1/admin/finance/summary?period=day&from=2026-11-25&to=2026-11-25", token=officer.token)
    assert reply.status == 200, reply.body
    [row] = reply.json["items"]
    assert row["promo_spend_fen"] == promo_spent()  # the unlock moves locked money, it is not spent twice
