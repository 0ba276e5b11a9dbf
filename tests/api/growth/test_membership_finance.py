"""The growth money of H7 in the desk's finance summary: membership and promotion income, contest prizes as
promo spend (issue #9 acceptance: promo spend appears in the finance summary)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.adapters import clock as clock_adapter
from chalicelib.domain import ledger as L
from chalicelib.services import contest, events, finance
from chalicelib.store import contest as contest_store
from chalicelib.store import ledger as books
from tests.api.claims.conftest import fresh, publish_task
from tests.api.money.conftest import credit_wallet

NEXT_MONDAY = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)


def test_membership_promotion_and_prizes_appear_in_the_finance_summary(api, users, h7_own_stream):
    merchant = users.approved_merchant()
    credit_wallet(merchant.id, 50_000)
    bought = api.post(
        "/v1/membership", {"plan": "monthly"}, token=fresh(merchant), headers={"Idempotency-Key": "fin-member"}
    )
    assert bought.status == 201, bought.body
    task_id = publish_task(merchant.id, slots=1)
    pinned = api.post(f"/v1/tasks/{task_id}/promotion", token=fresh(merchant), headers={"Idempotency-Key": "fin-pin"})
    assert pinned.status == 201, pinned.body
    for i, worker in enumerate(("usr_fin_a", "usr_fin_b")):
        at = books.iso(clock_adapter.now() + timedelta(seconds=i))
        contest_store.count_accept("2026-11-23", worker, f"clm_fin_{i}", at, "138****0000")
    clock_adapter.pin(NEXT_MONDAY + timedelta(seconds=5))
    assert contest.close("2026-11-23") is True

    for record in h7_own_stream.drain():  # the finance consumer gets the transfers, as the stream delivers them
        change = events.decode(record)
        if change.kind == "transfer":
            finance.on_transfer(change)
    admin = users.staff("admin")
    reply = api.get("/v1/admin/finance/summary?period=week&from=2026-11-23&to=2026-11-30", token=admin.token)
    assert reply.status == 200, reply.body
    rows = {r["bucket"]: r for r in reply.json["items"]}
    week, closing = rows["2026-W48"], rows["2026-W49"]
    assert week["membership_fen"] == 9_900
    assert week["promotion_fen"] == 2_000
    # The prizes are spent when the week closes, Monday 2026-11-30 00:00 Shanghai: the next ISO week's row.
    assert (week["promo_spend_fen"], closing["promo_spend_fen"]) == (0, 5_000 + 3_000)  # first and second prize
    assert books.get_balances([L.EXPENSE_PROMO])[L.EXPENSE_PROMO].posted == -8_000
