"""Withdrawals through the API and the payout poll: holds, caps, real-name rules, paid and failed outcomes."""

from __future__ import annotations

from chalicelib.domain import ledger as L
from chalicelib.services import schedules, withdrawals
from chalicelib.store import ledger as books


def ask(api, user, amount=300, key="w1", holder="张三", number="13800001111"):
    body = {"amount_fen": amount, "channel": "sandbox", "account": {"number": number, "holder_name": holder}}
    return api.post("/v1/withdrawals", body, token=user.token, headers={"Idempotency-Key": key, "X-Device-Id": "dev-1"})


def wallet(api, user) -> dict:
    return api.get("/v1/wallet", token=user.token).json


def test_withdrawal_holds_then_the_poll_pays_it(api, verified, fund, clock):
    w = verified()
    fund(w.id, 1_000)
    reply = ask(api, w)
    assert reply.status == 201, reply.body
    wd = reply.json
    assert wd["status"] == "pending" and wd["account_masked"] == "138****1111"
    assert wallet(api, w) == {
        "available_fen": 700,
        "frozen_fen": 0,
        "guarantee_fen": 0,
        "withdrawing_fen": 300,
        "bonus_locked_fen": 0,
    }
    assert withdrawals.poll_payouts() == {"submitted": 1, "paid": 1, "failed": 0, "waiting": 0, "errors": 0}
    assert wallet(api, w) == {
        "available_fen": 700,
        "frozen_fen": 0,
        "guarantee_fen": 0,
        "withdrawing_fen": 0,
        "bonus_locked_fen": 0,
    }
    detail = api.get(f"/v1/withdrawals/{wd['withdrawal_id']}", token=w.token).json
    assert detail["status"] == "paid" and detail["settled_at"]
    assert books.get_balances([L.payout("sandbox")])[L.payout("sandbox")].posted == 300
    assert withdrawals.poll_payouts()["paid"] == 0  # nothing left pending


def test_failed_payout_returns_the_money(api, verified, fund):
    w = verified()
    fund(w.id, 1_000)
    wd = ask(api, w).json
    assert api.post(f"/v1/sandbox/withdrawals/{wd['withdrawal_id']}/fail", token=w.token).json["will_fail"] is True
    assert withdrawals.poll_payouts()["failed"] == 1
    assert wallet(api, w)["available_fen"] == 1_000
    assert api.get(f"/v1/withdrawals/{wd['withdrawal_id']}", token=w.token).json["status"] == "failed"
    lines = api.get("/v1/wallet/entries", token=w.token).json["items"]
    assert [(e["amount_fen"], e["balance_after_fen"]) for e in lines][:2] == [(300, 1_000), (-300, 700)]


def test_schedule_runs_the_poll_on_the_stage_clock(api, verified, fund, clock):
    w = verified()
    fund(w.id, 1_000)
    ask(api, w)
    clock.advance(60)
    assert "payout_poll" in schedules.run_due()
    assert wallet(api, w)["withdrawing_fen"] == 0


def test_withdrawal_requires_real_name(api, accounts, fund):
    w = accounts.make("worker")
    fund(w.id, 1_000)
    reply = ask(api, w)
    assert reply.status == 403 and reply.code == "REAL_NAME_REQUIRED"


def test_holder_name_must_equal_the_real_name(api, verified, fund):
    w = verified()
    fund(w.id, 1_000)
    reply = ask(api, w, holder="李四")
    assert reply.status == 422 and reply.code == "HOLDER_NAME_MISMATCH"
    assert "account.holder_name" in reply.json["error"]["details"]["fields"]
    assert wallet(api, w)["available_fen"] == 1_000


def test_minimum_and_insufficient_balance(api, verified, fund):
    w = verified()
    fund(w.id, 150)
    assert ask(api, w, amount=99).code == "AMOUNT_TOO_SMALL"
    reply = ask(api, w, amount=200, key="w2")
    assert reply.status == 409 and reply.code == "INSUFFICIENT_BALANCE"
    assert api.get("/v1/withdrawals", token=w.token).json["items"] == []


def test_daily_count_cap_is_429_with_retry_after(api, verified, fund, monkeypatch):
    from chalicelib.config import reset_settings

    monkeypatch.setenv("WITHDRAW_DAILY_COUNT", "2")
    reset_settings()
    w = verified()
    fund(w.id, 1_000)
    assert ask(api, w, amount=100, key="a").status == 201
    assert ask(api, w, amount=100, key="b").status == 201
    third = ask(api, w, amount=100, key="c")
    assert third.status == 429 and third.code == "WITHDRAWAL_DAILY_LIMIT"
    assert int(third.headers["Retry-After"]) > 0
    assert wallet(api, w)["available_fen"] == 800


def test_one_payout_account_belongs_to_one_user(api, verified, fund):
    a, b = verified(), verified()
    fund(a.id, 1_000)
    fund(b.id, 1_000)
    assert ask(api, a, number="zhangsan@example.com").status == 201
    reply = ask(api, b, number="zhangsan@example.com")
    assert reply.status == 409 and reply.code == "PAYOUT_ACCOUNT_IN_USE"
    assert wallet(api, b)["available_fen"] == 1_000


def test_same_idempotency_key_replays_and_holds_once(api, verified, fund):
    w = verified()
    fund(w.id, 1_000)
    first = ask(api, w)
    again = ask(api, w)
    assert again.status == 201 and again.json == first.json
    assert wallet(api, w)["withdrawing_fen"] == 300


def test_another_users_withdrawal_is_404(api, verified, fund):
    a, b = verified(), verified()
    fund(a.id, 1_000)
    wd = ask(api, a).json
    assert api.get(f"/v1/withdrawals/{wd['withdrawal_id']}", token=b.token).status == 404
    assert api.post(f"/v1/sandbox/withdrawals/{wd['withdrawal_id']}/fail", token=b.token).status == 404


def test_payout_account_is_encrypted_at_rest(api, verified, fund, aws):
    import json

    from tests.api.ledger.test_ledger_properties import _scan_all

    w = verified()
    fund(w.id, 1_000)
    ask(api, w, number="13912345678")
    raw = json.dumps(_scan_all(), ensure_ascii=False)
    assert "13912345678" not in raw
    assert "139****5678" in raw


def test_crash_after_payout_before_ledger_post_is_finished_by_the_next_poll(api, verified, fund, monkeypatch):
    w = verified()
    fund(w.id, 1_000)
    ask(api, w)
    real_settle = withdrawals.settle

    def crash(*args, **kwargs):
        raise RuntimeError("lambda died after the provider paid, before the ledger post")

    monkeypatch.setattr(withdrawals, "settle", crash)
    try:
        withdrawals.poll_payouts()
    except RuntimeError:
        pass
    assert wallet(api, w)["withdrawing_fen"] == 300  # still held, not lost, not returned
    monkeypatch.setattr(withdrawals, "settle", real_settle)
    assert withdrawals.poll_payouts()["paid"] == 1
    assert wallet(api, w) == {
        "available_fen": 700,
        "frozen_fen": 0,
        "guarantee_fen": 0,
        "withdrawing_fen": 0,
        "bonus_locked_fen": 0,
    }


def lock(api, user, amount, key):
    return api.post(
        "/v1/merchant/guarantee", {"amount_fen": amount}, token=user.token, headers={"Idempotency-Key": key}
    )


def test_guarantee_locks_within_range_and_releases_when_nothing_is_open(api, accounts, fund):
    m = accounts.make("merchant")
    fund(m.id, 300_000)
    assert lock(api, m, 10_000, "g0").code == "GUARANTEE_OUT_OF_RANGE"  # below 500 yuan in total
    assert lock(api, m, 50_000, "g1").json == {"guarantee_fen": 50_000}
    assert lock(api, m, 160_000, "g2").code == "GUARANTEE_OUT_OF_RANGE"  # above 2000 yuan in total
    assert wallet(api, m)["guarantee_fen"] == 50_000 and wallet(api, m)["available_fen"] == 250_000
    released = api.post("/v1/merchant/guarantee/release", token=m.token, headers={"Idempotency-Key": "r1"})
    assert released.json == {"released_fen": 50_000}
    assert wallet(api, m)["guarantee_fen"] == 0 and wallet(api, m)["available_fen"] == 300_000


def test_guarantee_is_for_merchants_and_needs_funds(api, accounts, fund):
    w = accounts.make("worker")
    assert lock(api, w, 50_000, "g").status == 403
    m = accounts.make("merchant")
    fund(m.id, 10_000)
    assert lock(api, m, 50_000, "g").code == "INSUFFICIENT_BALANCE"


def test_guarantee_release_refused_while_a_task_is_open_or_held(api, accounts, fund):
    from chalicelib.store import keys
    from chalicelib.store.base import Item
    from chalicelib.store.guarantee import GuaranteeHold

    m = accounts.make("merchant")
    fund(m.id, 100_000)
    lock(api, m, 50_000, "g1")
    hold_pk, hold_sk = keys.guarantee_hold(m.id)
    GuaranteeHold(PK=hold_pk, SK=hold_sk, reason="mass rejection", created_at="2026-11-25T08:00:00Z").save()
    held = api.post("/v1/merchant/guarantee/release", token=m.token, headers={"Idempotency-Key": "r1"})
    assert held.code == "GUARANTEE_HELD"
    GuaranteeHold(PK=hold_pk, SK=hold_sk).delete()

    class OpenTask(Item, discriminator="test_open_task"):
        pass

    OpenTask(PK="TASK#tsk_x", SK="META", GSI1PK=keys.merchant_tasks(m.id), GSI1SK="published#2026#tsk_x").save()
    busy = api.post("/v1/merchant/guarantee/release", token=m.token, headers={"Idempotency-Key": "r2"})
    assert busy.code == "GUARANTEE_IN_USE"
    assert wallet(api, m)["guarantee_fen"] == 50_000


def test_payout_outcomes_notify_the_user_once(api, verified, fund):
    from tests.conftest import feed_stream

    w = verified()
    fund(w.id, 1_000)
    ok = ask(api, w, amount=300, key="n1").json
    bad = ask(api, w, amount=200, key="n2").json
    api.post(f"/v1/sandbox/withdrawals/{bad['withdrawal_id']}/fail", token=w.token)
    withdrawals.poll_payouts()
    assert feed_stream()["batchItemFailures"] == []
    assert feed_stream()["batchItemFailures"] == []  # redelivered: still one notification each
    items = api.get("/v1/notifications", token=w.token).json["items"]
    by_ref = {n["ref"]: n for n in items}
    assert by_ref[ok["withdrawal_id"]]["title"] == "提现已到账"
    assert by_ref[bad["withdrawal_id"]]["title"] == "提现失败，资金已退回"
    assert "2.00 元" in by_ref[bad["withdrawal_id"]]["body"]
    assert len([n for n in items if n["type"].startswith("withdrawal.")]) == 2
    marked = api.post("/v1/notifications/read", {"ids": [by_ref[ok["withdrawal_id"]]["id"]]}, token=w.token)
    assert marked.json == {"marked": 1}
    again = {n["ref"]: n for n in api.get("/v1/notifications", token=w.token).json["items"]}
    assert again[ok["withdrawal_id"]]["read"] is True and again[bad["withdrawal_id"]]["read"] is False
