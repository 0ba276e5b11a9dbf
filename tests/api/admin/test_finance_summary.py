"""The desk's finance summary agrees with the ledger for seeded days, and reads only rollups."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.domain import ledger as L
from chalicelib.store import ledger as books
from tests.conftest import feed_stream
from tests.opcount import count_ops


def _post(*transfers: L.Transfer) -> None:
    books.post(list(transfers))


def _seed_day(tag: str, merchant: str, worker: str) -> None:
    """A day of every kind of money the platform moves, posted through the ledger as the services do."""
    _post(L.Transfer(f"dep:{tag}:m", L.clearing("sandbox"), L.wallet(merchant), 50_000, L.Code.DEPOSIT))
    _post(L.Transfer(f"dep:{tag}:w", L.clearing("alipay"), L.wallet(worker), 1_000, L.Code.DEPOSIT))
    task = f"tsk_{tag}"
    _post(L.Transfer(f"fund:{tag}", L.wallet(merchant), L.escrow(task), 21_000, L.Code.ESCROW_FUND))
    for i in range(3):  # three settled claims: reward to the worker, fee to a revenue shard
        _post(
            L.Transfer(f"rew:{tag}:{i}", L.escrow(task), L.wallet(worker), 2_000, L.Code.REWARD),
            L.Transfer(f"fee:{tag}:{i}", L.escrow(task), L.fee_revenue(f"fee:{tag}:{i}"), 100, L.Code.FEE),
        )
    _post(L.Transfer(f"refund:{tag}", L.escrow(task), L.wallet(merchant), 4_200, L.Code.ESCROW_REFUND))
    _post(L.Transfer(f"mem:{tag}", L.wallet(merchant), L.REVENUE_MEMBERSHIP, 3_000, L.Code.MEMBERSHIP))
    _post(L.Transfer(f"promo:{tag}", L.wallet(merchant), L.REVENUE_PROMOTION, 1_500, L.Code.PROMOTION))
    _post(L.Transfer(f"bonus:{tag}", L.EXPENSE_PROMO, L.wallet(worker), 500, L.Code.PROMO))
    _post(L.Transfer(f"lock:{tag}", L.wallet(merchant), L.guarantee(merchant), 10_000, L.Code.GUARANTEE_LOCK))
    _post(L.Transfer(f"pen:{tag}", L.guarantee(merchant), L.REVENUE_PENALTY, 800, L.Code.PENALTY))
    hold = L.Transfer(f"wd:{tag}", L.wallet(worker), L.payout("sandbox"), 3_000, L.Code.WITHDRAWAL, L.Phase.PENDING)
    _post(hold)
    _post(
        L.Transfer(
            f"wd:{tag}:post",
            L.wallet(worker),
            L.payout("sandbox"),
            3_000,
            L.Code.WITHDRAWAL,
            L.Phase.POST_PENDING,
            pending_id=hold.id,
            pending_amount=3_000,
        )
    )
    # A withdrawal that failed: held, then voided — no money left the platform.
    failed = L.Transfer(f"wdf:{tag}", L.wallet(worker), L.payout("sandbox"), 700, L.Code.WITHDRAWAL, L.Phase.PENDING)
    _post(failed)
    _post(
        L.Transfer(
            f"wdf:{tag}:void",
            L.wallet(worker),
            L.payout("sandbox"),
            0,
            L.Code.WITHDRAWAL,
            L.Phase.VOID_PENDING,
            pending_id=failed.id,
            pending_amount=700,
        )
    )


def _ledger_view(tasks: list[str]) -> dict[str, int]:
    """The same figures, read from the account balances (what the rollups must agree with)."""
    fee_accounts = L.fee_revenue_shards()
    named = [
        L.clearing("sandbox"),
        L.clearing("alipay"),
        L.payout("sandbox"),
        L.REVENUE_MEMBERSHIP,
        L.REVENUE_PROMOTION,
        L.REVENUE_PENALTY,
        L.EXPENSE_PROMO,
    ]
    b = books.get_balances(named + fee_accounts + [L.escrow(t) for t in tasks])
    zero = L.Balance(account="-")
    get = lambda a: b.get(a, zero)  # noqa: E731
    return {
        "deposits_fen": get(L.clearing("sandbox")).debits_posted + get(L.clearing("alipay")).debits_posted,
        "withdrawals_fen": get(L.payout("sandbox")).credits_posted,
        "fees_fen": sum(get(a).posted for a in fee_accounts),
        "membership_fen": get(L.REVENUE_MEMBERSHIP).posted,
        "promotion_fen": get(L.REVENUE_PROMOTION).posted,
        "penalty_fen": get(L.REVENUE_PENALTY).posted,
        "promo_spend_fen": -get(L.EXPENSE_PROMO).posted,
        "escrow_outstanding_fen": sum(get(L.escrow(t)).posted for t in tasks),
    }


def test_summary_for_a_seeded_day_agrees_with_the_ledger_and_reads_two_queries(api, users, clock):
    finance_officer = users.staff("finance")
    merchant, worker = users.make("merchant"), users.make("worker")
    _seed_day("d1", merchant.id, worker.id)
    assert feed_stream() == {"batchItemFailures": []}
    assert feed_stream() == {"batchItemFailures": []}  # redelivered: the markers make it a no-op
    expected = _ledger_view(["tsk_d1"])

    with count_ops() as ops:
        reply = api.get(
            "/v1/admin/finance/summary?period=day&from=2026-11-25&to=2026-11-25", token=finance_officer.token
        )
    assert reply.status == 200, reply.body
    assert "Scan" not in ops.ops and ops.ops["Query"] == 2 and ops.ops.get("GetItem", 0) <= 1
    [row] = reply.json["items"]
    assert row["bucket"] == "2026-11-25"
    assert {k: row[k] for k in expected} == expected
    # Sign-up bonuses of the growth programme also come out of expense:promo; the ledger view counts them too.
    assert expected["promo_spend_fen"] >= 500
    assert {k: v for k, v in expected.items() if k != "promo_spend_fen"} == {
        "deposits_fen": 51_000,
        "withdrawals_fen": 3_000,
        "fees_fen": 300,
        "membership_fen": 3_000,
        "promotion_fen": 1_500,
        "penalty_fen": 800,
        "escrow_outstanding_fen": 21_000 - 6_300 - 4_200,
    }
    assert (row["deposits_count"], row["withdrawals_count"]) == (2, 1)
    assert (row["escrow_in_fen"], row["escrow_out_fen"]) == (21_000, 10_500)


def test_days_weeks_and_months_split_by_beijing_calendar_with_escrow_outstanding_at_each_end(api, users, clock):
    merchant, worker = users.make("merchant"), users.make("worker")
    _seed_day("d1", merchant.id, worker.id)  # 2026-11-25 16:00 Beijing
    clock.pin(datetime(2026, 11, 25, 17, 30, tzinfo=UTC))  # 2026-11-26 01:30 Beijing: the next day
    _seed_day("d2", merchant.id, worker.id)
    assert feed_stream() == {"batchItemFailures": []}
    finance_officer = users.staff("finance")

    days = api.get("/v1/admin/finance/summary?period=day&from=2026-11-24&to=2026-11-26", token=finance_officer.token)
    assert [r["bucket"] for r in days.json["items"]] == ["2026-11-25", "2026-11-26"]
    d1, d2 = days.json["items"]
    assert d1["deposits_fen"] == d2["deposits_fen"] == 51_000
    assert (d1["escrow_outstanding_fen"], d2["escrow_outstanding_fen"]) == (10_500, 21_000)
    assert d2["escrow_outstanding_fen"] == _ledger_view(["tsk_d1", "tsk_d2"])["escrow_outstanding_fen"]
    # Asking for the first day alone still knows what was held at its end.
    only = api.get("/v1/admin/finance/summary?period=day&from=2026-11-25&to=2026-11-25", token=finance_officer.token)
    assert only.json["items"][0]["escrow_outstanding_fen"] == 10_500

    week = api.get("/v1/admin/finance/summary?period=week&from=2026-11-25&to=2026-11-26", token=finance_officer.token)
    [w] = week.json["items"]
    assert w["bucket"] == "2026-W48" and w["fees_fen"] == 600 and w["escrow_outstanding_fen"] == 21_000
    month = api.get("/v1/admin/finance/summary?period=month&from=2026-11-01&to=2026-11-30", token=finance_officer.token)
    assert month.json["items"][0]["bucket"] == "2026-11" and month.json["items"][0]["penalty_fen"] == 1_600
