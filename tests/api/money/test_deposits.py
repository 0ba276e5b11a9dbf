"""Deposits end to end through the HTTP API: order → signed notification → wallet, and every way it can go wrong."""

from __future__ import annotations

import urllib.parse

import pytest

from chalicelib.adapters.payments import alipay
from chalicelib.adapters.payments.keys import generate_key_pair, load_private_key
from chalicelib.store import deposits as deposit_store
from chalicelib.store.flags import FlagItem

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def create(api, user, amount=5_000, key="k1", channel="sandbox"):
    return api.post(
        "/v1/deposits", {"amount_fen": amount, "channel": channel}, token=user.token, headers={"Idempotency-Key": key}
    )


def signed_form(private_pem: str, **overrides) -> bytes:
    params = {
        "app_id": "sandbox",
        "charset": "utf-8",
        "notify_id": "n1",
        "notify_time": "2026-11-25 16:00:00",
        "notify_type": "trade_status_sync",
        "trade_no": "SBX1",
        "trade_status": "TRADE_SUCCESS",
        "version": "1.0",
        "sign_type": "RSA2",
        **overrides,
    }
    params["sign"] = alipay.sign_notification(params, load_private_key(private_pem))
    return urllib.parse.urlencode(params).encode()


def notify(api, body: bytes):
    return api.post("/v1/payments/sandbox/notify", raw=body, headers=FORM)


def balance(api, user) -> int:
    return api.get("/v1/wallet", token=user.token).json["available_fen"]


def flags(rule_id: str) -> list[FlagItem]:
    from chalicelib.store import keys

    return [f for f in FlagItem.gsi3.query(keys.flags_by_status("open")) if f.rule_id == rule_id]


def test_deposit_needs_an_idempotency_key(api, accounts):
    w = accounts.make("worker")
    reply = api.post("/v1/deposits", {"amount_fen": 100, "channel": "sandbox"}, token=w.token)
    assert reply.status == 400 and reply.code == "IDEMPOTENCY_KEY_REQUIRED"


def test_deposit_amount_outside_limits_is_422(api, accounts):
    w = accounts.make("worker")
    assert create(api, w, amount=99).code == "AMOUNT_OUT_OF_RANGE"
    assert create(api, w, amount=5_000_001, key="k2").code == "AMOUNT_OUT_OF_RANGE"


def test_sandbox_deposit_is_paid_through_the_signed_notify_and_credited(api, accounts):
    w = accounts.make("worker")
    order = create(api, w)
    assert order.status == 201
    dep = order.json
    assert dep["status"] == "pending" and dep["pay_params"]["out_trade_no"] == dep["deposit_id"]
    assert create(api, w).json == dep  # same key, same body: the first response
    paid = api.post(f"/v1/sandbox/deposits/{dep['deposit_id']}/pay", token=w.token)
    assert paid.status == 200 and paid.json == {"provider_status": 200, "provider_answer": "success"}
    assert balance(api, w) == 5_000
    detail = api.get(f"/v1/deposits/{dep['deposit_id']}", token=w.token).json
    assert detail["status"] == "paid" and detail["paid_at"]
    history = api.get("/v1/deposits", token=w.token).json
    assert [d["deposit_id"] for d in history["items"]] == [dep["deposit_id"]]


def test_duplicate_notifications_credit_once(api, accounts, sandbox_provider):
    w = accounts.make("worker")
    dep = create(api, w).json
    body = signed_form(
        sandbox_provider["provider_private_key_pem"], out_trade_no=dep["deposit_id"], total_amount="50.00"
    )
    for _ in range(3):
        reply = notify(api, body)
        assert reply.status == 200 and reply.body == b"success"
    assert balance(api, w) == 5_000
    entries = api.get("/v1/wallet/entries", token=w.token).json["items"]
    assert len(entries) == 1 and entries[0]["description"] == "沙箱支付充值"


def test_forged_notification_credits_nothing_answers_fail_and_flags(api, accounts):
    w = accounts.make("worker")
    dep = create(api, w).json
    forger_key, _ = generate_key_pair()
    reply = notify(api, signed_form(forger_key, out_trade_no=dep["deposit_id"], total_amount="50.00"))
    assert reply.status == 200 and reply.body == b"fail"
    assert balance(api, w) == 0
    assert flags("PAY-FORGED-NOTIFY")


def test_tampered_amount_breaks_the_signature(api, accounts, sandbox_provider):
    w = accounts.make("worker")
    dep = create(api, w).json
    body = signed_form(
        sandbox_provider["provider_private_key_pem"], out_trade_no=dep["deposit_id"], total_amount="50.00"
    )
    tampered = body.replace(b"total_amount=50.00", b"total_amount=5000.00")
    assert notify(api, tampered).body == b"fail"
    assert balance(api, w) == 0


def test_validly_signed_wrong_amount_credits_nothing_and_raises_a_flag(api, accounts, sandbox_provider):
    w = accounts.make("worker")
    dep = create(api, w).json
    body = signed_form(
        sandbox_provider["provider_private_key_pem"], out_trade_no=dep["deposit_id"], total_amount="0.01"
    )
    reply = notify(api, body)
    assert reply.body == b"success"  # acknowledged: resending would not change the amount
    assert balance(api, w) == 0
    [flag] = flags("PAY-AMOUNT-MISMATCH")
    assert flag.subject == w.id and flag.evidence["expected_fen"] == 5_000 and flag.evidence["notified_fen"] == 1
    assert deposit_store.get(dep["deposit_id"]).status == "pending"


def test_unknown_order_is_refused(api, sandbox_provider):
    body = signed_form(sandbox_provider["provider_private_key_pem"], out_trade_no="dep_NOSUCH", total_amount="1.00")
    assert notify(api, body).body == b"fail"


def test_failed_payment_marks_the_deposit_failed_and_a_late_success_still_credits(api, accounts):
    w = accounts.make("worker")
    dep = create(api, w).json
    api.post(f"/v1/sandbox/deposits/{dep['deposit_id']}/pay?result=fail", token=w.token)
    assert api.get(f"/v1/deposits/{dep['deposit_id']}", token=w.token).json["status"] == "failed"
    assert balance(api, w) == 0
    api.post(f"/v1/sandbox/deposits/{dep['deposit_id']}/pay", token=w.token)
    assert balance(api, w) == 5_000


def test_another_users_deposit_is_404(api, accounts):
    a, b = accounts.make("worker"), accounts.make("worker")
    dep = create(api, a).json
    assert api.get(f"/v1/deposits/{dep['deposit_id']}", token=b.token).status == 404
    assert api.post(f"/v1/sandbox/deposits/{dep['deposit_id']}/pay", token=b.token).status == 404


def test_crash_before_the_ledger_write_loses_nothing_and_the_retry_credits(
    api, accounts, sandbox_provider, monkeypatch
):
    from chalicelib.store import ledger as books

    w = accounts.make("worker")
    dep = create(api, w).json
    body = signed_form(
        sandbox_provider["provider_private_key_pem"], out_trade_no=dep["deposit_id"], total_amount="50.00"
    )
    real_post = books.post

    def crash(*args, **kwargs):
        raise RuntimeError("lambda died between verification and the ledger write")

    monkeypatch.setattr(books, "post", crash)
    assert notify(api, body).status == 500  # the provider will resend
    assert balance(api, w) == 0
    monkeypatch.setattr(books, "post", real_post)
    assert notify(api, body).body == b"success"
    assert balance(api, w) == 5_000


def test_crash_after_the_ledger_write_credits_once_on_retry(api, accounts, sandbox_provider, monkeypatch):
    from chalicelib.adapters.payments.sandbox import SandboxProvider

    w = accounts.make("worker")
    dep = create(api, w).json
    body = signed_form(
        sandbox_provider["provider_private_key_pem"], out_trade_no=dep["deposit_id"], total_amount="50.00"
    )
    real_ack = SandboxProvider.ack
    calls = {"n": 0}

    def ack_crashing_once(self):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("lambda died after the ledger write, before answering")
        return real_ack(self)

    monkeypatch.setattr(SandboxProvider, "ack", ack_crashing_once)
    assert notify(api, body).status == 500
    assert balance(api, w) == 5_000  # the money is in; the provider did not hear so
    assert notify(api, body).body == b"success"
    assert balance(api, w) == 5_000


@pytest.mark.parametrize("channel", ["alipay", "wechat"])
def test_unconfigured_real_channel_is_a_clear_503(api, accounts, channel):
    w = accounts.make("worker")
    reply = create(api, w, channel=channel)
    assert reply.status == 503 and reply.code == "CHANNEL_UNAVAILABLE"
