"""Contention over real HTTP against the locked moto server (small numbers; `make bench` runs them at full size):
concurrent withdrawals from one wallet, and a merchant's accept racing their own reject of one claim."""

from __future__ import annotations

import uuid
from collections import Counter

from tests.api.identity.factory import PASSWORD, new_phone
from tests.api.money.conftest import id_number
from tests.e2e.conftest import Http
from tests.e2e.races import race as _race

WITHDRAWALS = 16


def _signed_up(role: str):
    from chalicelib.services import auth, sessions

    user = auth.create_account(new_phone(), PASSWORD, role)
    return user.user_id, sessions.start_session(user).access_token


def _deposit(user_id: str, amount: int) -> None:
    from chalicelib.domain import ledger as L
    from chalicelib.store import ledger as books

    transfer = L.Transfer(
        id=f"deposit:contention-{user_id}",
        debit=L.clearing("sandbox"),
        credit=L.wallet(user_id),
        amount=amount,
        code=L.Code.DEPOSIT,
    )
    books.post([transfer])


def test_sixteen_concurrent_withdrawals_over_http_never_overdraw_and_add_up(e2e):
    """16 × 100 fen at once from a 300 fen wallet: exactly 3 are held, 13 refused, nothing goes negative."""
    from chalicelib.domain import ledger as L
    from chalicelib.store import ledger as books

    user_id, token = _signed_up("worker")
    http = Http(e2e.api_url, timeout_s=120)
    named = http.post("/v1/me/real-name", {"name": "韩梅梅", "id_number": id_number()}, token=token)
    assert named.status in (200, 201), named.body
    _deposit(user_id, 300)
    body = {"amount_fen": 100, "channel": "sandbox", "account": {"number": "hmm@example.com", "holder_name": "韩梅梅"}}

    replies = _race(
        WITHDRAWALS,
        lambda _: http.post("/v1/withdrawals", body, token=token, headers={"Idempotency-Key": uuid.uuid4().hex}),
    )

    outcome = Counter((getattr(r, "status", repr(r)), getattr(r, "code", None)) for r in replies)
    assert outcome == Counter({(201, None): 3, (409, "INSUFFICIENT_BALANCE"): WITHDRAWALS - 3}), outcome
    bal = books.get_balances([L.wallet(user_id)])[L.wallet(user_id)]
    assert (bal.available, bal.debits_pending) == (0, 300)
    listed = http.get("/v1/withdrawals", token=token).json["items"]
    assert sorted(w["amount_fen"] for w in listed) == [100, 100, 100]
    assert http.get("/v1/wallet", token=token).json["withdrawing_fen"] == 300


def test_accept_racing_reject_of_one_claim_over_http_exactly_one_wins(e2e):
    """Five submitted claims, each accepted and rejected at the same instant: one 200, one 409, never a 5xx,
    and the money follows the winner (reward paid only where accept won; escrow covers the rest)."""
    from chalicelib.domain import ledger as L
    from chalicelib.domain import tasks as T
    from chalicelib.store import ledger as books
    from tests.api.claims.conftest import publish_task

    merchant_id, merchant_token = _signed_up("merchant")
    task_id = publish_task(merchant_id, slots=5, reward=300, fee_bps=500)
    http = Http(e2e.api_url, timeout_s=120)
    winners: Counter = Counter()
    paid_workers = []
    for _ in range(5):
        worker_id, worker_token = _signed_up("worker")
        claimed = http.post(f"/v1/tasks/{task_id}/claims", token=worker_token)
        assert claimed.status == 201, claimed.body
        cid = claimed.json["id"]
        proved = http.post(f"/v1/claims/{cid}/proof", {"text": "万达广场店"}, token=worker_token)
        assert proved.status == 200, proved.body
        calls = (
            lambda: http.post(f"/v1/claims/{cid}/accept", {"rating": 5}, token=merchant_token),
            lambda: http.post(f"/v1/claims/{cid}/reject", {"reason": "截图与要求不符"}, token=merchant_token),
        )
        accept, reject = _race(2, lambda i, calls=calls: calls[i]())
        statuses = sorted([accept.status, reject.status])
        assert statuses == [200, 409], (accept.status, accept.body, reject.status, reject.body)
        loser = accept if accept.status == 409 else reject
        assert loser.code == "CLAIM_STATE_CONFLICT", loser.body
        won = "accepted" if accept.status == 200 else "rejected"
        winners[won] += 1
        assert http.get(f"/v1/claims/{cid}", token=worker_token).json["status"] == won
        if won == "accepted":
            paid_workers.append(worker_id)

    wallets = books.get_balances([L.wallet(w) for w in paid_workers])
    assert all(b.available == 300 for b in wallets.values())
    unit = T.unit_cost_fen(300, 500)
    escrow = books.get_balances([L.escrow(task_id)])[L.escrow(task_id)].available
    # Rejected claims keep their slot's money in escrow until the appeal window closes; accepted ones left.
    assert escrow == (5 - winners["accepted"]) * unit, (winners, escrow)
