"""The Alipay channel end to end through our routes: App pay order string, then a notification signed with
"Alipay's" key (generated here) credited once; answers exactly `success` / `fail`."""

from __future__ import annotations

import urllib.parse

import pytest

from chalicelib.adapters.payments import alipay
from chalicelib.adapters.payments.keys import generate_key_pair, load_private_key, load_public_key

APP_ID = "2021000000000001"
_KEYS: dict[str, tuple[str, str]] = {}


def keypair(name: str) -> tuple[str, str]:
    if name not in _KEYS:
        _KEYS[name] = generate_key_pair()
    return _KEYS[name]


@pytest.fixture
def alipay_configured(aws, sandbox_provider):
    from chalicelib.adapters import secrets

    app_private, _ = keypair("app")
    _, alipay_public = keypair("alipay")
    aws.put_provider_secrets(
        {
            "sandbox": sandbox_provider,
            "alipay": {"app_id": APP_ID, "app_private_key_pem": app_private, "alipay_public_key_pem": alipay_public},
        }
    )
    secrets.clear_cache()


def alipay_notify(deposit_id: str, total: str, *, app_id: str = APP_ID, status: str = "TRADE_SUCCESS") -> bytes:
    alipay_private, _ = keypair("alipay")
    params = {
        "gmt_create": "2026-11-25 16:00:00",
        "charset": "utf-8",
        "seller_email": "shop@example.com",
        "subject": "任务大厅余额充值",
        "buyer_id": "2088102177846880",
        "invoice_amount": total,
        "notify_id": "2026112500222160000000000000000001",
        "fund_bill_list": '[{"amount":"' + total + '","fundChannel":"ALIPAYACCOUNT"}]',
        "notify_type": "trade_status_sync",
        "trade_status": status,
        "receipt_amount": total,
        "app_id": app_id,
        "buyer_pay_amount": total,
        "sign_type": "RSA2",
        "seller_id": "2088102177649450",
        "gmt_payment": "2026-11-25 16:00:05",
        "notify_time": "2026-11-25 16:00:06",
        "version": "1.0",
        "out_trade_no": deposit_id,
        "total_amount": total,
        "trade_no": "2026112522001446881000000001",
        "auth_app_id": app_id,
        "buyer_logon_id": "159****5620",
        "point_amount": "0.00",
    }
    params["sign"] = alipay.sign_notification(params, load_private_key(alipay_private))
    return urllib.parse.urlencode(params).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def test_alipay_order_string_is_signed_by_our_app_key(api, accounts, alipay_configured):
    w = accounts.make("worker")
    dep = api.post(
        "/v1/deposits", {"amount_fen": 1_234, "channel": "alipay"}, token=w.token, headers={"Idempotency-Key": "a"}
    )
    assert dep.status == 201, dep.body
    params = dep.json["pay_params"]
    order = dict(urllib.parse.parse_qsl(params["order_string"]))
    assert order["app_id"] == APP_ID and order["method"] == "alipay.trade.app.pay"
    assert '"total_amount":"12.34"' in order["biz_content"] and dep.json["deposit_id"] in order["biz_content"]
    _, app_public = keypair("app")
    content = alipay.sign_content(order, exclude=frozenset({"sign"}))
    from chalicelib.adapters.payments.keys import rsa_verify

    assert rsa_verify(load_public_key(app_public), content.encode(), order["sign"])


def test_alipay_notification_credits_once_and_answers_success(api, accounts, alipay_configured):
    w = accounts.make("worker")
    dep = api.post(
        "/v1/deposits", {"amount_fen": 1_234, "channel": "alipay"}, token=w.token, headers={"Idempotency-Key": "a"}
    ).json
    body = alipay_notify(dep["deposit_id"], "12.34")
    for _ in range(2):
        reply = api.post("/v1/payments/alipay/notify", raw=body, headers=FORM)
        assert reply.status == 200 and reply.body == b"success"
    assert api.get("/v1/wallet", token=w.token).json["available_fen"] == 1_234
    assert api.get("/v1/wallet/entries", token=w.token).json["items"][0]["description"] == "支付宝充值"


def test_alipay_notification_for_another_app_is_refused(api, accounts, alipay_configured):
    w = accounts.make("worker")
    dep = api.post(
        "/v1/deposits", {"amount_fen": 1_234, "channel": "alipay"}, token=w.token, headers={"Idempotency-Key": "a"}
    ).json
    reply = api.post(
        "/v1/payments/alipay/notify", raw=alipay_notify(dep["deposit_id"], "12.34", app_id="2021999"), headers=FORM
    )
    assert reply.body == b"fail"
    assert api.get("/v1/wallet", token=w.token).json["available_fen"] == 0


def test_sandbox_notify_cannot_credit_an_alipay_order(api, accounts, alipay_configured, sandbox_provider):
    from chalicelib.adapters.payments import providers

    w = accounts.make("worker")
    dep = api.post(
        "/v1/deposits", {"amount_fen": 1_234, "channel": "alipay"}, token=w.token, headers={"Idempotency-Key": "a"}
    ).json
    body, ctype = providers.sandbox_provider().build_notification(dep["deposit_id"], 1_234)
    assert api.post("/v1/payments/sandbox/notify", raw=body, headers={"Content-Type": ctype}).body == b"fail"
    assert api.get("/v1/wallet", token=w.token).json["available_fen"] == 0
