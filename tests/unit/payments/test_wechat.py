"""WeChat Pay v3 adapter: notification signature + AEAD, APP prepay and app sign, 商家转账 payouts."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from wechatpayv3 import utils as wx_utils
from wechatpayv3.core import Core

from chalicelib.adapters.payments.base import (
    BadSignature,
    HttpRequest,
    HttpResponse,
    NotifyRejected,
    PayIntent,
    PayoutRequest,
    ProviderConfigError,
    ProviderError,
)
from chalicelib.adapters.payments.wechat import WechatConfig, WechatPayouts, WechatPayProvider, out_bill_no
from tests.unit.payments import helpers as h

MERCHANT_SERIAL = "444F4864EA9B34415C8E5B5A1E6B1A6D4C3B2A10"


def wechat_secret(keys: Any, platform_cert: str, **overrides: Any) -> dict[str, Any]:
    secret: dict[str, Any] = {
        "mchid": h.MCHID,
        "appid": h.WX_APPID,
        "apiv3_key": h.APIV3_KEY,
        "merchant_serial": MERCHANT_SERIAL,
        "merchant_private_key_pem": h.pem_private(keys.merchant),
        "platform_certs": {h.PLATFORM_SERIAL: platform_cert},
    }
    secret.update(overrides)
    return secret


@pytest.fixture
def config(keys, platform_cert) -> WechatConfig:
    return WechatConfig.from_secret(wechat_secret(keys, platform_cert))


@pytest.fixture
def provider(config) -> WechatPayProvider:
    return WechatPayProvider(config, transport=None, now=h.fixed_now)


def signed(keys: Any, txn: dict[str, Any] | None = None, **header_kw: Any) -> tuple[bytes, dict[str, str]]:
    body = h.wechat_body(txn)
    return body, h.wechat_headers(body, keys.platform, **header_kw)


# ---------------------------------------------------------------------------------------------- notifications


def test_correctly_signed_and_encrypted_notification_verifies(provider, keys) -> None:
    body, headers = signed(keys)
    note = provider.verify_notification(body, headers)
    assert note.channel == "wechat"
    assert note.out_trade_no == "dep_01JTESTDEPOSIT0000000000"
    assert note.provider_trade_no == "4200000985202103031441826014"
    assert note.amount_fen == 1234
    assert note.status == "success"
    assert note.raw["trade_type"] == "APP"


def test_wechatpayv3_core_accepts_and_decrypts_the_same_notification(provider, keys) -> None:
    body, headers = signed(keys)
    core = Core(
        mchid=h.MCHID,
        cert_serial_no=MERCHANT_SERIAL,
        private_key=h.pem_private(keys.merchant),
        apiv3_key=h.APIV3_KEY,
        public_key=h.pem_public(keys.platform),
        public_key_id=h.PLATFORM_SERIAL,
    )
    theirs = core.callback(headers, body)
    assert theirs is not None
    assert theirs["resource"] == dict(provider.verify_notification(body, headers).raw)


def test_wechatpayv3_utils_agree_on_signature_and_decryption(keys) -> None:
    body, headers = signed(keys)
    assert wx_utils.rsa_verify(
        headers["Wechatpay-Timestamp"],
        headers["Wechatpay-Nonce"],
        body.decode(),
        headers["Wechatpay-Signature"],
        keys.platform.public_key(),
    )
    resource = json.loads(body)["resource"]
    plaintext = wx_utils.aes_decrypt(
        resource["nonce"], resource["ciphertext"], resource["associated_data"], h.APIV3_KEY
    )
    assert json.loads(plaintext) == h.wechat_transaction()


def test_notification_verified_with_a_wechat_pay_public_key_id(keys, platform_cert) -> None:
    secret = wechat_secret(
        keys, platform_cert, platform_certs={}, platform_public_keys={h.PUB_KEY_ID: h.pem_public(keys.platform)}
    )
    provider = WechatPayProvider(WechatConfig.from_secret(secret), transport=None, now=h.fixed_now)
    body, headers = signed(keys, serial=h.PUB_KEY_ID)
    assert provider.verify_notification(body, headers).amount_fen == 1234


def test_serial_is_compared_by_value_not_spelling(provider, keys) -> None:
    body, headers = signed(keys, serial="00" + h.PLATFORM_SERIAL.lower())
    assert provider.verify_notification(body, headers).status == "success"


def test_notification_signed_with_another_key_is_rejected(provider, keys) -> None:
    body = h.wechat_body()
    with pytest.raises(BadSignature) as err:
        provider.verify_notification(body, h.wechat_headers(body, keys.other))
    assert err.value.reason == "invalid_signature"


def test_notification_body_changed_after_signing_is_rejected(provider, keys) -> None:
    body, headers = signed(keys)
    tampered = body.replace("支付成功".encode(), "支付失败".encode())
    assert tampered != body
    with pytest.raises(BadSignature):
        provider.verify_notification(tampered, headers)


def test_notification_from_unknown_serial_is_rejected(provider, keys) -> None:
    body, headers = signed(keys, serial="7132D72A03E93CDDF8C03BBD1F37EEDF204A7B9B")
    with pytest.raises(BadSignature) as err:
        provider.verify_notification(body, headers)
    assert err.value.reason == "unknown_serial"


@pytest.mark.parametrize("offset_s", [-301, 301, -3600])
def test_notification_outside_five_minutes_is_rejected(provider, keys, offset_s: int) -> None:
    body, headers = signed(keys, timestamp=int(h.NOW.timestamp()) + offset_s)
    with pytest.raises(BadSignature) as err:
        provider.verify_notification(body, headers)
    assert err.value.reason == "stale_timestamp"


@pytest.mark.parametrize("offset_s", [-300, -299, 0, 299])
def test_notification_inside_five_minutes_is_accepted(provider, keys, offset_s: int) -> None:
    body, headers = signed(keys, timestamp=int(h.NOW.timestamp()) + offset_s)
    assert provider.verify_notification(body, headers).status == "success"


def test_replay_inside_the_window_verifies_again_dedup_is_the_callers_job(provider, keys) -> None:
    body, headers = signed(keys)
    assert provider.verify_notification(body, headers) == provider.verify_notification(body, headers)


def test_notification_without_signature_headers_is_rejected(provider, keys) -> None:
    body, headers = signed(keys)
    del headers["Wechatpay-Signature"]
    with pytest.raises(BadSignature) as err:
        provider.verify_notification(body, headers)
    assert err.value.reason == "missing_signature"


def test_wechat_signature_probe_is_rejected(provider, keys) -> None:
    body, headers = signed(keys)
    headers["Wechatpay-Signature"] = "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"]
    with pytest.raises(BadSignature):
        provider.verify_notification(body, headers)


def test_headers_are_matched_case_insensitively(provider, keys) -> None:
    body, headers = signed(keys)
    assert provider.verify_notification(body, {k.lower(): v for k, v in headers.items()}).amount_fen == 1234


def test_expired_platform_certificate_is_rejected(keys) -> None:
    subject = h.name("Tenpay.com Root CA", "Tenpay.com CA Center", "Tenpay.com")
    expired = h.make_cert(
        keys.platform,
        keys.platform,
        subject=subject,
        issuer=subject,
        serial=h.PLATFORM_SERIAL_INT,
        not_after=h.NOW - timedelta(days=1),
    )
    provider = WechatPayProvider(
        WechatConfig.from_secret(wechat_secret(keys, expired)), transport=None, now=h.fixed_now
    )
    body, headers = signed(keys)
    with pytest.raises(BadSignature) as err:
        provider.verify_notification(body, headers)
    assert err.value.reason == "expired_certificate"


def _resigned(keys: Any, envelope: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(envelope, ensure_ascii=False).encode()
    return body, h.wechat_headers(body, keys.platform)


def test_resource_with_bad_aead_tag_is_rejected(provider, keys) -> None:
    envelope = json.loads(h.wechat_body())
    raw = bytearray(base64.b64decode(envelope["resource"]["ciphertext"]))
    raw[-1] ^= 0x01
    envelope["resource"]["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(NotifyRejected) as err:
        provider.verify_notification(*_resigned(keys, envelope))
    assert err.value.reason == "decrypt_failed"


def test_resource_encrypted_under_another_apiv3_key_is_rejected(provider, keys) -> None:
    body = h.wechat_body(key="vutsrqponmlkjihgfedcba9876543210")
    with pytest.raises(NotifyRejected) as err:
        provider.verify_notification(body, h.wechat_headers(body, keys.platform))
    assert err.value.reason == "decrypt_failed"


def test_resource_with_changed_associated_data_is_rejected(provider, keys) -> None:
    envelope = json.loads(h.wechat_body())
    envelope["resource"]["associated_data"] = "refund"
    with pytest.raises(NotifyRejected) as err:
        provider.verify_notification(*_resigned(keys, envelope))
    assert err.value.reason == "decrypt_failed"


@pytest.mark.parametrize(("field", "reason"), [("mchid", "mchid_mismatch"), ("appid", "appid_mismatch")])
def test_transaction_for_another_merchant_or_app_is_rejected(provider, keys, field: str, reason: str) -> None:
    body, headers = signed(keys, h.wechat_transaction(**{field: "someone-else"}))
    with pytest.raises(NotifyRejected) as err:
        provider.verify_notification(body, headers)
    assert err.value.reason == reason


@pytest.mark.parametrize(
    ("trade_state", "status"),
    [
        ("SUCCESS", "success"),
        ("CLOSED", "failed"),
        ("PAYERROR", "failed"),
        ("REVOKED", "failed"),
        ("NOTPAY", "pending"),
        ("USERPAYING", "pending"),
    ],
)
def test_trade_state_maps_to_notification_status(provider, keys, trade_state: str, status: str) -> None:
    body, headers = signed(keys, h.wechat_transaction(trade_state=trade_state))
    assert provider.verify_notification(body, headers).status == status


@pytest.mark.parametrize(
    "amount", [{"total": "1234"}, {"total": -1}, {"total": True}, {"total": 1234, "currency": "USD"}, None]
)
def test_transaction_with_bad_amount_is_rejected(provider, keys, amount: Any) -> None:
    body, headers = signed(keys, h.wechat_transaction(amount=amount))
    with pytest.raises(NotifyRejected) as err:
        provider.verify_notification(body, headers)
    assert err.value.reason == "bad_amount"


def test_wechat_answers(provider) -> None:
    assert (provider.ack().status_code, provider.ack().body) == (204, b"")
    nack = provider.nack()
    assert nack.status_code == 500
    assert json.loads(nack.body) == {"code": "FAIL", "message": "失败"}
    assert provider.nack(retryable=False).status_code == 400


def test_apiv3_key_that_is_not_32_bytes_is_refused(keys, platform_cert) -> None:
    with pytest.raises(ProviderConfigError):
        WechatConfig.from_secret(wechat_secret(keys, platform_cert, apiv3_key="short"))


def test_platform_certificate_filed_under_the_wrong_serial_is_refused(keys, platform_cert) -> None:
    with pytest.raises(ProviderConfigError):
        WechatConfig.from_secret(wechat_secret(keys, platform_cert, platform_certs={"ABCDEF": platform_cert}))


def test_secret_without_any_platform_key_is_refused(keys, platform_cert) -> None:
    with pytest.raises(ProviderConfigError):
        WechatConfig.from_secret(wechat_secret(keys, platform_cert, platform_certs={}))


# ---------------------------------------------------------------------------------------------- APP pay


def make_intent(**overrides: Any) -> PayIntent:
    fields: dict[str, Any] = {
        "deposit_id": "dep_01JTESTDEPOSIT0000000000",
        "amount_fen": 1234,
        "subject": "Taskhall 余额充值",
        "notify_url": "https://api.example.cn/v1/payments/wechat/notify",
    }
    fields.update(overrides)
    return PayIntent(**fields)


def parse_authorization(value: str) -> dict[str, str]:
    scheme, _, rest = value.partition(" ")
    assert scheme == "WECHATPAY2-SHA256-RSA2048"
    return {k: v.strip('"') for k, v in (part.split("=", 1) for part in rest.split(","))}


def assert_signed_by_merchant(keys: Any, request: HttpRequest, path: str) -> dict[str, str]:
    auth = parse_authorization(request.headers["Authorization"])
    assert (auth["mchid"], auth["serial_no"]) == (h.MCHID, MERCHANT_SERIAL)
    message = f"{request.method}\n{path}\n{auth['timestamp']}\n{auth['nonce_str']}\n{request.body.decode()}\n"
    keys.merchant.public_key().verify(
        base64.b64decode(auth["signature"]), message.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return auth


PREPAY = "wx201410272009395522657a690389285100"


def test_app_pay_prepays_with_a_signed_request_and_returns_signed_app_params(config, keys) -> None:
    transport = h.FakeTransport(lambda _r: h.wechat_reply(200, {"prepay_id": PREPAY}, keys.platform))
    pay = WechatPayProvider(config, transport=transport, now=h.fixed_now)
    params = pay.pay_params(make_intent(expires_at=h.NOW + timedelta(minutes=30))).params

    request = transport.requests[0]
    assert (request.method, request.url) == ("POST", "https://api.mch.weixin.qq.com/v3/pay/transactions/app")
    assert json.loads(request.body) == {
        "appid": h.WX_APPID,
        "mchid": h.MCHID,
        "description": "Taskhall 余额充值",
        "out_trade_no": "dep_01JTESTDEPOSIT0000000000",
        "notify_url": "https://api.example.cn/v1/payments/wechat/notify",
        "amount": {"total": 1234, "currency": "CNY"},
        "time_expire": "2026-11-25T16:30:00+08:00",
    }
    auth = assert_signed_by_merchant(keys, request, "/v3/pay/transactions/app")
    assert auth["timestamp"] == str(int(h.NOW.timestamp()))

    assert {k: params[k] for k in ("appid", "partnerid", "prepayid", "package")} == {
        "appid": h.WX_APPID,
        "partnerid": h.MCHID,
        "prepayid": PREPAY,
        "package": "Sign=WXPay",
    }
    message = f"{h.WX_APPID}\n{params['timestamp']}\n{params['noncestr']}\n{PREPAY}\n"
    assert params["sign"] == h.sign_b64(keys.merchant, message.encode())


def test_app_sign_equals_wechatpayv3_core_sign(config, keys) -> None:
    pay = WechatPayProvider(config, transport=None, now=h.fixed_now)
    params = pay.app_params(PREPAY)
    core = Core(
        h.MCHID,
        MERCHANT_SERIAL,
        h.pem_private(keys.merchant),
        h.APIV3_KEY,
        public_key=h.pem_public(keys.platform),
        public_key_id=h.PLATFORM_SERIAL,
    )
    assert core.sign([h.WX_APPID, params["timestamp"], params["noncestr"], PREPAY]) == params["sign"]


def test_authorization_header_equals_wechatpayv3_build_authorization(config, keys, monkeypatch) -> None:
    transport = h.FakeTransport(lambda _r: h.wechat_reply(200, {"prepay_id": PREPAY}, keys.platform))
    WechatPayProvider(config, transport=transport, now=h.fixed_now).pay_params(make_intent())
    request = transport.requests[0]
    ours = parse_authorization(request.headers["Authorization"])
    monkeypatch.setattr(wx_utils.time, "time", lambda: h.NOW.timestamp())
    theirs = wx_utils.build_authorization(
        "/v3/pay/transactions/app",
        "POST",
        h.MCHID,
        MERCHANT_SERIAL,
        keys.merchant,
        data=request.body.decode(),
        nonce_str=ours["nonce_str"],
    )
    assert request.headers["Authorization"] == theirs


@pytest.mark.parametrize(
    ("reply", "code", "retryable"),
    [
        ("unsigned", "UNSIGNED_RESPONSE", False),
        ("forged", "BAD_RESPONSE_SIGNATURE", False),
        ("param_error", "PARAM_ERROR", False),
        ("system_error", "SYSTEM_ERROR", True),
    ],
)
def test_prepay_failures_raise_provider_errors(config, keys, reply: str, code: str, retryable: bool) -> None:
    replies = {
        "unsigned": HttpResponse(200, {"content-type": "application/json"}, json.dumps({"prepay_id": PREPAY}).encode()),
        "forged": h.wechat_reply(200, {"prepay_id": PREPAY}, keys.other),
        "param_error": h.wechat_reply(400, {"code": "PARAM_ERROR", "message": "参数错误"}, keys.platform),
        "system_error": h.wechat_reply(500, {"code": "SYSTEM_ERROR", "message": "系统错误"}, keys.platform),
    }
    pay = WechatPayProvider(config, transport=h.FakeTransport(lambda _r: replies[reply]), now=h.fixed_now)
    with pytest.raises(ProviderError) as err:
        pay.pay_params(make_intent())
    assert (err.value.code, err.value.retryable) == (code, retryable)


# ---------------------------------------------------------------------------------------------- payouts


def make_payout(**overrides: Any) -> PayoutRequest:
    fields: dict[str, Any] = {
        "withdrawal_id": "wdr_01JTESTWITHDRAWAL00000000",
        "amount_fen": 100,
        "account": "o-MYE42l80oelYMDE34nYD456Xoy",
        "real_name": "张三",
    }
    fields.update(overrides)
    return PayoutRequest(**fields)


def payouts_replying(config: WechatConfig, reply: HttpResponse) -> tuple[WechatPayouts, h.FakeTransport]:
    transport = h.FakeTransport(lambda _r: reply)
    return WechatPayouts(config, transport=transport, now=h.fixed_now), transport


def test_transfer_bill_is_signed_with_encrypted_real_name_and_scene_report(config, keys) -> None:
    reply = h.wechat_reply(
        200,
        {
            "out_bill_no": "wdr01JTESTWITHDRAWAL00000000",
            "transfer_bill_no": "1330000071100999991182020050700019480001",
            "create_time": "2026-11-25T16:00:00+08:00",
            "state": "WAIT_USER_CONFIRM",
            "package_info": "affffddafdfafddffda==",
        },
        keys.platform,
    )
    payouts, transport = payouts_replying(config, reply)
    result = payouts.submit(make_payout())

    request = transport.requests[0]
    path = "/v3/fund-app/mch-transfer/transfer-bills"
    assert (request.method, request.url) == ("POST", "https://api.mch.weixin.qq.com" + path)
    assert_signed_by_merchant(keys, request, path)
    assert request.headers["Wechatpay-Serial"] == h.PLATFORM_SERIAL
    bill = json.loads(request.body)
    assert bill["out_bill_no"] == "wdr01JTESTWITHDRAWAL00000000"
    assert (bill["appid"], bill["openid"], bill["transfer_amount"]) == (h.WX_APPID, "o-MYE42l80oelYMDE34nYD456Xoy", 100)
    assert bill["transfer_scene_id"] == "1005"
    assert [i["info_type"] for i in bill["transfer_scene_report_infos"]] == ["岗位类型", "报酬说明"]
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    assert keys.platform.decrypt(base64.b64decode(bill["user_name"]), oaep).decode() == "张三"

    assert result.status == "accepted"
    assert result.provider_ref == "1330000071100999991182020050700019480001"
    assert result.user_action == {"mchid": h.MCHID, "appid": h.WX_APPID, "package_info": "affffddafdfafddffda=="}


def test_encrypted_real_name_is_readable_by_wechatpayv3_rsa_decrypt(config, keys) -> None:
    payouts, transport = payouts_replying(config, h.wechat_reply(200, {"state": "ACCEPTED"}, keys.platform))
    payouts.submit(make_payout())
    encrypted = json.loads(transport.requests[0].body)["user_name"]
    assert wx_utils.rsa_decrypt(encrypted, keys.platform) == "张三"


def test_transfer_below_thirty_fen_sends_no_real_name(config, keys) -> None:
    payouts, transport = payouts_replying(config, h.wechat_reply(200, {"state": "ACCEPTED"}, keys.platform))
    payouts.submit(make_payout(amount_fen=29))
    assert "user_name" not in json.loads(transport.requests[0].body)
    assert "Wechatpay-Serial" not in transport.requests[0].headers


@pytest.mark.parametrize(
    ("payload", "status", "reason"),
    [
        ({"state": "SUCCESS", "transfer_bill_no": "B1", "transfer_amount": 100}, "paid", None),
        ({"state": "FAIL", "fail_reason": "NAME_NOT_CORRECT"}, "failed", "NAME_NOT_CORRECT"),
        ({"state": "CANCELLED"}, "failed", "CANCELLED"),
        ({"state": "PROCESSING"}, "accepted", None),
        ({"state": "TRANSFERING"}, "accepted", None),
    ],
)
def test_transfer_query_maps_bill_state(config, keys, payload, status, reason) -> None:
    payouts, transport = payouts_replying(config, h.wechat_reply(200, payload, keys.platform))
    result = payouts.query("wdr_01JTESTWITHDRAWAL00000000")
    assert (result.status, result.reason) == (status, reason)
    request = transport.requests[0]
    path = "/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/wdr01JTESTWITHDRAWAL00000000"
    assert (request.method, request.url, request.body) == ("GET", "https://api.mch.weixin.qq.com" + path, b"")
    assert_signed_by_merchant(keys, request, path)


def test_transfer_query_reports_the_amount_wechat_paid(config, keys) -> None:
    payouts, _ = payouts_replying(
        config, h.wechat_reply(200, {"state": "SUCCESS", "transfer_amount": 100}, keys.platform)
    )
    assert payouts.query("wdr_x").amount_fen == 100


def test_signed_not_found_means_the_bill_never_landed(config, keys) -> None:
    reply = h.wechat_reply(404, {"code": "NOT_FOUND", "message": "记录不存在"}, keys.platform)
    assert payouts_replying(config, reply)[0].query("wdr_x").status == "not_found"


def test_unsigned_not_found_is_not_trusted(config) -> None:
    reply = HttpResponse(404, {}, json.dumps({"code": "NOT_FOUND", "message": "记录不存在"}).encode())
    with pytest.raises(ProviderError):
        payouts_replying(config, reply)[0].query("wdr_x")


def test_rejected_transfer_request_is_a_provider_error_never_failed(config, keys) -> None:
    reply = h.wechat_reply(400, {"code": "PARAM_ERROR", "message": "openid与appid不匹配"}, keys.platform)
    with pytest.raises(ProviderError) as err:
        payouts_replying(config, reply)[0].submit(make_payout())
    assert (err.value.code, err.value.retryable) == ("PARAM_ERROR", False)


def test_out_bill_no_keeps_only_letters_and_digits() -> None:
    assert out_bill_no("wdr_01JTESTWITHDRAWAL00000000") == "wdr01JTESTWITHDRAWAL00000000"
