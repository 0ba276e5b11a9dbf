"""Finance rollups: transfers reach the rollups through the stream, once, and the desk reads them."""

from __future__ import annotations

from chalicelib.domain import ledger as L
from chalicelib.store import ledger as books
from tests.conftest import feed_stream


def test_finance_summary_adds_up_the_days_money_once(api, accounts, fund, aws, clock):
    finance_officer = accounts.staff("finance")
    w = accounts.make("worker")
    fund(w.id, 10_000)
    fund(w.id, 2_500)
    books.post(
        [
            L.Transfer(
                id="wd:f1",
                debit=L.wallet(w.id),
                credit=L.payout("sandbox"),
                amount=3_000,
                code=L.Code.WITHDRAWAL,
                phase=L.Phase.PENDING,
            )
        ]
    )
    books.post(
        [
            L.Transfer(
                id="wd:f1:post",
                debit=L.wallet(w.id),
                credit=L.payout("sandbox"),
                amount=3_000,
                code=L.Code.WITHDRAWAL,
                phase=L.Phase.POST_PENDING,
                pending_id="wd:f1",
                pending_amount=3_000,
            )
        ]
    )
    books.post(
        [L.Transfer(id="fund:f", debit=L.wallet(w.id), credit=L.escrow("tsk_f"), amount=2_100, code=L.Code.ESCROW_FUND)]
    )
    books.post(
        [L.Transfer(id="fee:f", debit=L.escrow("tsk_f"), credit=L.fee_revenue("fee:f"), amount=100, code=L.Code.FEE)]
    )
    assert feed_stream() == {"batchItemFailures": []}
    assert feed_stream() == {"batchItemFailures": []}  # the same batch again: the markers make it a no-op
    reply = api.get("/v1/admin/finance/summary?period=day&from=2026-11-25&to=2026-11-25", token=finance_officer.token)
    assert reply.status == 200, reply.body
    [row] = reply.json["items"]
    assert row["bucket"] == "2026-11-25"
    assert (row["deposits_fen"], row["deposits_count"]) == (12_500, 2)
    assert (row["withdrawals_fen"], row["withdrawals_count"]) == (3_000, 1)
    assert row["fees_fen"] == 100
    assert (row["escrow_in_fen"], row["escrow_out_fen"]) == (2_100, 100)
    week = api.get("/v1/admin/finance/summary?period=week&from=2026-11-25&to=2026-11-25", token=finance_officer.token)
    assert week.json["items"][0]["bucket"] == "2026-W48" and week.json["items"][0]["deposits_fen"] == 12_500


def test_replayed_stream_record_adds_nothing(aws, clock):
    from chalicelib.services import finance
    from chalicelib.store import rollups

    t = {
        "transfer_id": "deposit:x",
        "code": "deposit",
        "phase": "posted",
        "amount": 700,
        "debit": "clearing:sandbox",
        "credit": "wallet:usr_x",
        "created_at": "2026-11-25T08:00:00Z",
    }
    from datetime import UTC, datetime

    at = datetime(2026, 11, 25, 8, tzinfo=UTC)
    assert rollups.add_once(finance.METRIC, "deposit:x", finance.buckets(at), finance.counters_for(t))
    assert not rollups.add_once(finance.METRIC, "deposit:x", finance.buckets(at), finance.counters_for(t))
    [row] = finance.summary("day", at.date(), at.date())
    assert row["deposits_fen"] == 700


def test_finance_views_are_for_the_finance_desk(api, accounts):
    path = "/v1/admin/finance/summary?period=day&from=2026-11-25&to=2026-11-25"
    assert api.get(path, token=accounts.make("worker").token).status == 403
    assert api.get(path, token=accounts.staff("reviewer").token).status == 403
    assert api.get(path, token=accounts.staff("admin").token).status == 200
