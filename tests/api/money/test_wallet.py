"""GET /v1/wallet, /v1/wallet/entries and the CSV statement."""

from __future__ import annotations

from chalicelib.domain import ledger as L
from chalicelib.store import ledger as books


def test_new_user_wallet_is_all_zero(api, accounts):
    w = accounts.make("worker")
    reply = api.get("/v1/wallet", token=w.token)
    assert reply.status == 200
    assert reply.json == {
        "available_fen": 0,
        "frozen_fen": 0,
        "guarantee_fen": 0,
        "withdrawing_fen": 0,
        "bonus_locked_fen": 0,
    }


def test_wallet_derives_every_figure_from_the_ledger(api, accounts, fund):
    m = accounts.make("merchant")
    fund(m.id, 10_000)
    books.post(
        [
            L.Transfer(
                id="fund:t1", debit=L.wallet(m.id), credit=L.escrow("tsk_1"), amount=3_000, code=L.Code.ESCROW_FUND
            )
        ],
        aux={L.wallet(m.id): {"escrowed": 3_000}},
    )
    books.post(
        [L.Transfer(id="g:1", debit=L.wallet(m.id), credit=L.guarantee(m.id), amount=2_000, code=L.Code.GUARANTEE_LOCK)]
    )
    books.post(
        [
            L.Transfer(
                id="wd:1",
                debit=L.wallet(m.id),
                credit=L.payout("sandbox"),
                amount=500,
                code=L.Code.WITHDRAWAL,
                phase=L.Phase.PENDING,
            )
        ]
    )
    reply = api.get("/v1/wallet", token=m.token)
    assert reply.json == {
        "available_fen": 4_500,
        "frozen_fen": 3_000,
        "guarantee_fen": 2_000,
        "withdrawing_fen": 500,
        "bonus_locked_fen": 0,
    }


def test_entries_page_newest_first_with_balance_after_and_a_sealed_cursor(api, accounts, fund, clock):
    w = accounts.make("worker")
    for amount in (100, 200, 300):
        fund(w.id, amount)
        clock.advance(1)
    first = api.get("/v1/wallet/entries?limit=2", token=w.token)
    assert first.status == 200
    assert [(e["amount_fen"], e["balance_after_fen"]) for e in first.json["items"]] == [(300, 600), (200, 300)]
    assert first.json["items"][0]["type"] == "deposit" and first.json["items"][0]["type_label"] == "充值"
    second = api.get(f"/v1/wallet/entries?limit=2&cursor={first.json['next_cursor']}", token=w.token)
    assert [e["amount_fen"] for e in second.json["items"]] == [100]
    assert second.json["next_cursor"] is None
    # Another user's session cannot use this cursor.
    other = accounts.make("worker")
    stolen = api.get(f"/v1/wallet/entries?limit=2&cursor={first.json['next_cursor']}", token=other.token)
    assert stolen.status == 400 and stolen.code == "INVALID_CURSOR"


def test_statement_csv_has_bom_shanghai_dates_and_yuan(api, accounts, fund, clock):
    w = accounts.make("worker")
    fund(w.id, 12_345)  # 2026-11-25 08:00Z = 16:00 in Shanghai
    reply = api.get("/v1/wallet/statement.csv?from=2026-11-25&to=2026-11-25", token=w.token)
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/csv")
    text = reply.body.decode("utf-8")
    assert text.startswith("\ufeff时间（北京时间）,类型,说明,金额（元）,余额（元）,交易编号")
    assert "2026-11-25 16:00:00,充值,测试充值,123.45,123.45," in text
    empty = api.get("/v1/wallet/statement.csv?from=2026-11-26&to=2026-11-27", token=w.token)
    assert empty.status == 422 or empty.body.decode("utf-8").count("\r\n") == 1


def test_statement_rejects_reversed_or_too_long_ranges(api, accounts):
    w = accounts.make("worker")
    assert api.get("/v1/wallet/statement.csv?from=2026-11-25&to=2026-11-01", token=w.token).code == "VALIDATION_FAILED"
    assert api.get("/v1/wallet/statement.csv?from=2024-01-01&to=2026-11-01", token=w.token).code == "VALIDATION_FAILED"
    assert api.get("/v1/wallet/statement.csv?from=nope&to=2026-11-01", token=w.token).status == 422


def test_wallet_needs_a_signed_in_user(api):
    assert api.get("/v1/wallet").status == 401
