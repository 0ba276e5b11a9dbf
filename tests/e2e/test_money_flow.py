"""Money against the locked moto server: the whole flow over HTTP, and the races that must not create money."""

from __future__ import annotations

from collections import Counter

from tests.api.identity.factory import PASSWORD, new_phone
from tests.api.money.conftest import id_number
from tests.e2e.races import race as _race


def _register(http, role: str = "worker") -> dict:
    phone = new_phone()
    code = http.post("/v1/auth/otp", {"phone": phone, "purpose": "register"}).json["dev_code"]
    reply = http.post("/v1/auth/register", {"phone": phone, "password": PASSWORD, "otp": code, "role": role})
    assert reply.status == 201, reply.body
    return reply.json


def test_sandbox_deposit_then_withdrawal_paid_over_http(e2e):
    http = e2e.http
    user = _register(http)
    token = user["access_token"]
    named = http.post("/v1/me/real-name", {"name": "王小明", "id_number": id_number()}, token=token)
    assert named.status in (200, 201), named.body
    dep = http.post(
        "/v1/deposits", {"amount_fen": 5_000, "channel": "sandbox"}, token=token, headers={"Idempotency-Key": "d1"}
    )
    assert dep.status == 201, dep.body
    paid = http.post(f"/v1/sandbox/deposits/{dep.json['deposit_id']}/pay", token=token)
    assert paid.json["provider_answer"] == "success"
    assert http.get("/v1/wallet", token=token).json["available_fen"] == 5_000
    body = {
        "amount_fen": 1_200,
        "channel": "sandbox",
        "account": {"number": "wxm@example.com", "holder_name": "王小明"},
    }
    wd = http.post("/v1/withdrawals", body, token=token, headers={"Idempotency-Key": "w1"})
    assert wd.status == 201, wd.body
    wallet = http.get("/v1/wallet", token=token).json
    # A worker's new-user coupon is locked (frozen) until their first accepted task, whenever the pump grants it.
    assert wallet == {
        "available_fen": 3_800,
        "frozen_fen": wallet["bonus_locked_fen"],
        "guarantee_fen": 0,
        "withdrawing_fen": 1_200,
        "bonus_locked_fen": wallet["bonus_locked_fen"],
    }
    assert wallet["bonus_locked_fen"] in (0, 100)
    tick = http.post("/v1/sandbox/clock", {"advance_s": 60})
    assert tick.status == 200 and "payout_poll" in tick.json["ran"], tick.body
    assert http.get(f"/v1/withdrawals/{wd.json['withdrawal_id']}", token=token).json["status"] == "paid"
    assert http.get("/v1/wallet", token=token).json["withdrawing_fen"] == 0


def test_twenty_concurrent_replays_of_one_notification_credit_once(e2e):
    from chalicelib.adapters.payments import providers

    http = e2e.http
    token = _register(http)["access_token"]
    dep = http.post(
        "/v1/deposits", {"amount_fen": 2_500, "channel": "sandbox"}, token=token, headers={"Idempotency-Key": "d"}
    )
    body, content_type = providers.sandbox_provider().build_notification(dep.json["deposit_id"], 2_500)
    replies = _race(
        20, lambda _: http.post("/v1/payments/sandbox/notify", raw=body, headers={"Content-Type": content_type})
    )
    assert Counter((r.status, r.body) for r in replies) == Counter({(200, b"success"): 20})
    assert http.get("/v1/wallet", token=token).json["available_fen"] == 2_500
    assert len(http.get("/v1/wallet/entries", token=token).json["items"]) == 1


def test_thirty_two_concurrent_withdrawals_never_overdraw(e2e, monkeypatch):
    """32 threads × 100 fen from a 1,000 fen wallet: exactly 10 succeed, the balance ends at 0."""
    from chalicelib.config import reset_settings
    from chalicelib.domain import ledger as L
    from chalicelib.domain.roles import Caller
    from chalicelib.services import accounts, auth, withdrawals
    from chalicelib.store import ledger as books

    monkeypatch.setenv("WITHDRAW_DAILY_COUNT", "100")
    monkeypatch.setenv("WITHDRAW_DAILY_FEN", "1000000")
    reset_settings()
    user = auth.create_account(new_phone(), PASSWORD, "worker")
    accounts.verify_real_name(Caller(user.user_id, "worker"), "李雷", id_number())
    books.post(
        [
            L.Transfer(
                id=f"deposit:race-{user.user_id}",
                debit=L.clearing("sandbox"),
                credit=L.wallet(user.user_id),
                amount=1_000,
                code=L.Code.DEPOSIT,
            )
        ]
    )
    results = _race(32, lambda i: withdrawals.request(user.user_id, 100, "sandbox", "lilei@example.com", "李雷"))
    ok = [r for r in results if isinstance(r, withdrawals.WithdrawalView)]
    refused = Counter(getattr(r, "code", repr(r)) for r in results if not isinstance(r, withdrawals.WithdrawalView))
    assert len(ok) == 10, refused
    assert refused == Counter({"INSUFFICIENT_BALANCE": 22})
    bal = books.get_balances([L.wallet(user.user_id)])[L.wallet(user.user_id)]
    assert (bal.available, bal.debits_pending) == (0, 1_000)
