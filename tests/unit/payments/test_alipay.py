"""Alipay adapter: App-pay order strings, async notifications, certificate SNs, signed replies, transfers."""

from __future__ import annotations

import json
import urllib.parse
from datetime import timedelta
from typing import Any

import pytest
from alipay import AliPay, DCAliPay

from chalicelib.adapters.payments.alipay import (
    AlipayConfig,
    AlipayPayouts,
    AlipayProvider,
    cert_sn,
    root_cert_sn,
    top_level_members,
    verify_response,
)
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
from tests.unit.payments import helpers as h

TRANSFER = "alipay.fund.trans.uni.transfer"
QUERY = "alipay.fund.trans.common.query"


def _public_key_secret(keys: Any) -> dict[str, str]:
    return {
        "app_id": h.ALIPAY_APP_ID,
        "app_private_key_pem": h.pem_private(keys.app),
        "alipay_public_key_pem": h.pem_public(keys.alipay),
    }


def _cert_secret(keys: Any, certs: Any) -> dict[str, str]:
    return {
        "app_id": h.ALIPAY_APP_ID,
        "app_private_key_pem": h.pem_private(keys.app),
        "app_public_cert_pem": certs.app_cert,
        "alipay_public_cert_pem": certs.alipay_cert,
        "alipay_root_cert_pem": certs.root_bundle,
    }


@pytest.fixture
def provider(keys: Any) -> AlipayProvider:
    return AlipayProvider(AlipayConfig.from_secret(_public_key_secret(keys)), now=h.fixed_now)


def make_intent(**overrides: Any) -> PayIntent:
    fields: dict[str, Any] = {
        "deposit_id": "dep_01JTESTDEPOSIT0000000000",
        "amount_fen": 1234,
        "subject": "Taskhall 余额充值",
        "notify_url": "https://api.example.cn/v1/payments/alipay/notify",
    }
    fields.update(overrides)
    return PayIntent(**fields)


def sdk(private_key: Any, public_key_of: Any) -> AliPay:
    """python-alipay-sdk, offline: it only loads the keys until a network call is made."""
    return AliPay(
        appid=h.ALIPAY_APP_ID,
        app_private_key_string=h.pem_private(private_key),
        alipay_public_key_string=h.pem_public(public_key_of),
        sign_type="RSA2",
    )


# ---------------------------------------------------------------------------------------------- order string


def test_order_string_is_signed_over_sorted_unescaped_params_with_the_app_key(provider, keys) -> None:
    intent = make_intent(expires_at=h.NOW + timedelta(minutes=30))
    params = dict(urllib.parse.parse_qsl(provider.pay_params(intent).params["order_string"]))

    assert params["method"] == "alipay.trade.app.pay"
    assert params["app_id"] == h.ALIPAY_APP_ID
    assert (params["charset"], params["sign_type"], params["version"]) == ("utf-8", "RSA2", "1.0")
    assert params["timestamp"] == "2026-11-25 16:00:00"  # 08:00Z in Asia/Shanghai
    assert params["notify_url"] == intent.notify_url
    assert json.loads(params["biz_content"]) == {
        "out_trade_no": intent.deposit_id,
        "total_amount": "12.34",
        "subject": "Taskhall 余额充值",
        "product_code": "QUICK_MSECURITY_PAY",
        "time_expire": "2026-11-25 16:30:00",
    }
    content = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign")
    assert h.sign_b64(keys.app, content.encode()) == params["sign"]  # PKCS#1 v1.5 is deterministic


def test_order_string_signature_equals_python_alipay_sdk_signature(provider, keys) -> None:
    params = dict(urllib.parse.parse_qsl(provider.pay_params(make_intent()).params["order_string"]))
    signature = params.pop("sign")
    client = sdk(keys.app, keys.alipay)
    unsigned = "&".join(f"{k}={v}" for k, v in client._ordered_data(dict(params)))
    assert client._sign(unsigned) == signature


def test_order_string_in_certificate_mode_carries_both_certificate_sns(keys, alipay_certs) -> None:
    config = AlipayConfig.from_secret(_cert_secret(keys, alipay_certs))
    order = AlipayProvider(config, now=h.fixed_now).pay_params(make_intent()).params["order_string"]
    params = dict(urllib.parse.parse_qsl(order))
    assert params["app_cert_sn"] == cert_sn(alipay_certs.app_cert)
    assert params["alipay_root_cert_sn"] == root_cert_sn(alipay_certs.root_bundle)


# ---------------------------------------------------------------------------------------------- notifications


def test_correctly_signed_notification_verifies(provider, keys) -> None:
    body = h.form(h.alipay_sign_notify(h.alipay_notify_params(), keys.alipay))
    note = provider.verify_notification(body, {})
    assert note.channel == "alipay"
    assert note.out_trade_no == "dep_01JTESTDEPOSIT0000000000"
    assert note.provider_trade_no == "2026112522001456380542497258"
    assert note.amount_fen == 1234
    assert note.status == "success"
    assert note.raw["notify_id"] == "4a91b7a78a503640467525113fb7d8bg8e"


def test_notification_signed_by_python_alipay_sdk_verifies(provider, keys) -> None:
    params = h.alipay_notify_params()
    alipay_side = sdk(keys.alipay, keys.alipay)
    params["sign"] = alipay_side._sign("&".join(f"{k}={v}" for k, v in alipay_side._ordered_data(dict(params))))
    params["sign_type"] = "RSA2"
    assert provider.verify_notification(h.form(params), {}).amount_fen == 1234


def test_notification_we_accept_also_verifies_with_python_alipay_sdk(provider, keys) -> None:
    params = h.alipay_sign_notify(h.alipay_notify_params(), keys.alipay)
    provider.verify_notification(h.form(params), {})
    data = dict(params)
    signature = data.pop("sign")
    assert sdk(keys.app, keys.alipay).verify(data, signature) is True


def test_notification_signed_with_another_key_is_rejected_as_bad_signature(provider, keys) -> None:
    body = h.form(h.alipay_sign_notify(h.alipay_notify_params(), keys.other))
    with pytest.raises(BadSignature) as err:
        provider.verify_notification(body, {})
    assert err.value.reason == "invalid_signature"


def test_notification_with_amount_changed_after_signing_is_rejected(provider, keys) -> None:
    params = h.alipay_sign_notify(h.alipay_notify_params(), keys.alipay)
    params["total_amount"] = "1234.00"
    with pytest.raises(BadSignature):
        provider.verify_notification(h.form(params), {})


def test_notification_for_another_app_is_rejected_even_when_signed(provider, keys) -> None:
    body = h.form(h.alipay_sign_notify(h.alipay_notify_params(app_id="2021009999999999"), keys.alipay))
    with pytest.raises(NotifyRejected) as err:
        provider.verify_notification(body, {})
    assert err.value.reason == "app_id_mismatch"
    assert not isinstance(err.value, BadSignature)


@pytest.mark.parametrize(
    ("trade_status", "status"),
    [
        ("TRADE_SUCCESS", "success"),
        ("TRADE_FINISHED", "success"),
        ("TRADE_CLOSED", "failed"),
        ("WAIT_BUYER_PAY", "pending"),
    ],
)
def test_trade_status_maps_to_notification_status(provider, keys, trade_status: str, status: str) -> None:
    body = h.form(h.alipay_sign_notify(h.alipay_notify_params(trade_status=trade_status), keys.alipay))
    assert provider.verify_notification(body, {}).status == status


def test_unknown_trade_status_is_rejected(provider, keys) -> None:
    body = h.form(h.alipay_sign_notify(h.alipay_notify_params(trade_status="TRADE_PENDING"), keys.alipay))
    with pytest.raises(NotifyRejected) as err:
        provider.verify_notification(body, {})
    assert err.value.reason == "unknown_trade_status"


@pytest.mark.parametrize("amount", ["12.345", "-12.34", "abc", ""])
def test_signed_notification_with_inexact_amount_is_rejected(provider, keys, amount: str) -> None:
    body = h.form(h.alipay_sign_notify(h.alipay_notify_params(total_amount=amount), keys.alipay))
    with pytest.raises(NotifyRejected) as err:
        provider.verify_notification(body, {})
    assert err.value.reason == "bad_amount"


def test_unsigned_notification_is_rejected(provider) -> None:
    with pytest.raises(BadSignature) as err:
        provider.verify_notification(h.form(h.alipay_notify_params()), {})
    assert err.value.reason == "missing_signature"


def test_rsa1_sign_type_is_refused(provider, keys) -> None:
    params = {**h.alipay_sign_notify(h.alipay_notify_params(), keys.alipay), "sign_type": "RSA"}
    with pytest.raises(BadSignature) as err:
        provider.verify_notification(h.form(params), {})
    assert err.value.reason == "unsupported_sign_type"


def test_repeated_field_is_rejected_as_ambiguous(provider, keys) -> None:
    body = h.form(h.alipay_sign_notify(h.alipay_notify_params(), keys.alipay)) + b"&total_amount=0.01"
    with pytest.raises(NotifyRejected) as err:
        provider.verify_notification(body, {})
    assert err.value.reason == "malformed"


def test_body_that_is_not_utf8_form_data_is_rejected(provider) -> None:
    with pytest.raises(NotifyRejected):
        provider.verify_notification(b"\xff\xfe=1", {})


def test_values_with_reserved_characters_verify_over_their_unescaped_form(provider, keys) -> None:
    params = h.alipay_notify_params(subject="充值 A&B+C=D%", body="")  # empty values are left out of the signature
    assert provider.verify_notification(h.form(h.alipay_sign_notify(params, keys.alipay)), {}).amount_fen == 1234


def test_replayed_notification_still_verifies_dedup_is_the_callers_job(provider, keys) -> None:
    body = h.form(h.alipay_sign_notify(h.alipay_notify_params(), keys.alipay))
    assert provider.verify_notification(body, {}) == provider.verify_notification(body, {})


def test_alipay_answers_are_exact_success_and_fail_text(provider) -> None:
    assert provider.ack().body == b"success" and provider.ack().status_code == 200
    assert provider.nack().body == b"fail"
    assert provider.ack().content_type.startswith("text/plain")


# ---------------------------------------------------------------------------------------------- certificates


def test_certificate_sn_matches_python_alipay_sdk(alipay_certs) -> None:
    assert cert_sn(alipay_certs.app_cert) == DCAliPay.get_cert_sn(alipay_certs.app_cert)
    assert cert_sn(alipay_certs.alipay_cert) == DCAliPay.get_cert_sn(alipay_certs.alipay_cert)


def test_root_certificate_sn_joins_rsa_roots_and_skips_others_like_python_alipay_sdk(alipay_certs) -> None:
    ours = root_cert_sn(alipay_certs.root_bundle)
    assert ours == DCAliPay.get_root_cert_sn(alipay_certs.root_bundle)
    assert len(ours.split("_")) == 2


def test_partial_certificate_configuration_is_refused(keys, alipay_certs) -> None:
    secret = _cert_secret(keys, alipay_certs)
    del secret["alipay_root_cert_pem"]
    with pytest.raises(ProviderConfigError):
        AlipayConfig.from_secret(secret)


def test_transfers_refuse_public_key_mode(keys) -> None:
    config = AlipayConfig.from_secret(_public_key_secret(keys))
    with pytest.raises(ProviderConfigError):
        AlipayPayouts(config, transport=h.FakeTransport(lambda r: HttpResponse(500, {}, b"")), now=h.fixed_now)


# ---------------------------------------------------------------------------------------------- replies


def test_reply_signature_covers_the_exact_member_text_even_with_escaped_slashes(keys) -> None:
    payload = '{"code":"10000","msg":"Success","qr_code":"https:\\/\\/qr.alipay.com\\/bax","subject":"充值 {x}"}'
    body = h.alipay_reply("alipay.trade.precreate", payload, keys.alipay)
    assert verify_response(body, "alipay.trade.precreate", keys.alipay.public_key())["qr_code"] == (
        "https://qr.alipay.com/bax"
    )
    # python-alipay-sdk locates the signed text its own way and agrees.
    assert (
        sdk(keys.app, keys.alipay)._verify_and_return_sync_response(body.decode(), "alipay_trade_precreate_response")[
            "code"
        ]
        == "10000"
    )


def test_tampered_reply_is_a_provider_error_not_a_result(keys) -> None:
    body = h.alipay_reply(TRANSFER, '{"code":"10000","status":"SUCCESS"}', keys.alipay).replace(
        b"SUCCESS", b"FAIL\x20\x20\x20"
    )
    with pytest.raises(ProviderError) as err:
        verify_response(body, TRANSFER, keys.alipay.public_key())
    assert err.value.code == "BAD_RESPONSE_SIGNATURE"


def test_unsigned_reply_is_a_provider_error(keys) -> None:
    body = h.alipay_reply(TRANSFER, '{"code":"40004","sub_code":"PAYEE_NOT_EXIST"}', None)
    with pytest.raises(ProviderError) as err:
        verify_response(body, TRANSFER, keys.alipay.public_key())
    assert err.value.code == "UNSIGNED_RESPONSE"


def test_reply_signed_under_another_certificate_sn_is_refused(keys) -> None:
    body = h.alipay_reply(TRANSFER, '{"code":"10000"}', keys.alipay, cert_sn="0" * 32)
    with pytest.raises(ProviderError) as err:
        verify_response(body, TRANSFER, keys.alipay.public_key(), expected_cert_sn="f" * 32)
    assert err.value.code == "ALIPAY_CERT_SN_MISMATCH"


def test_signed_error_response_member_is_returned(keys) -> None:
    payload = '{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id"}'
    body = f'{{"error_response":{payload},"sign":"{h.sign_b64(keys.alipay, payload.encode())}"}}'.encode()
    assert verify_response(body, TRANSFER, keys.alipay.public_key())["sub_code"] == "isv.invalid-app-id"


def test_top_level_members_keeps_exact_source_text_of_each_member() -> None:
    text = '{ "a" : {"k":"}{ \\"b\\"", "n": [1, 2]} , "b":"x" }'
    members = top_level_members(text)
    assert members["a"][1] == '{"k":"}{ \\"b\\"", "n": [1, 2]}'
    assert members["b"] == ("x", '"x"')


# ---------------------------------------------------------------------------------------------- transfers


@pytest.fixture
def cert_config(keys, alipay_certs) -> AlipayConfig:
    return AlipayConfig.from_secret(_cert_secret(keys, alipay_certs))


def make_payout(**overrides: Any) -> PayoutRequest:
    fields: dict[str, Any] = {
        "withdrawal_id": "wdr_01JTESTWITHDRAWAL00000000",
        "amount_fen": 100,
        "account": "13800000000",
        "real_name": "张三",
    }
    fields.update(overrides)
    return PayoutRequest(**fields)


def payouts_replying(config: AlipayConfig, keys: Any, certs: Any, method: str, payload: str, status: int = 200):
    reply = h.alipay_reply(method, payload, keys.alipay, cert_sn=cert_sn(certs.alipay_cert))
    transport = h.FakeTransport(lambda _r: HttpResponse(status, {"content-type": "text/html;charset=utf-8"}, reply))
    return AlipayPayouts(config, transport=transport, now=h.fixed_now), transport


def _form(request: HttpRequest) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(request.body.decode()))


def test_transfer_request_is_signed_in_certificate_mode_with_exact_yuan(cert_config, keys, alipay_certs) -> None:
    payload = '{"code":"10000","msg":"Success","order_id":"2019","pay_fund_order_id":"20191115","status":"SUCCESS"}'
    payouts, transport = payouts_replying(cert_config, keys, alipay_certs, TRANSFER, payload)
    payouts.submit(make_payout(amount_fen=12345))

    request = transport.requests[0]
    assert request.method == "POST" and request.url == "https://openapi.alipay.com/gateway.do?charset=utf-8"
    params = _form(request)
    assert params["method"] == TRANSFER
    assert params["app_cert_sn"] == cert_sn(alipay_certs.app_cert)
    assert params["alipay_root_cert_sn"] == root_cert_sn(alipay_certs.root_bundle)
    biz = json.loads(params["biz_content"])
    assert biz["out_biz_no"] == "wdr_01JTESTWITHDRAWAL00000000"
    assert biz["trans_amount"] == "123.45"
    assert (biz["product_code"], biz["biz_scene"]) == ("TRANS_ACCOUNT_NO_PWD", "DIRECT_TRANSFER")
    assert biz["payee_info"] == {"identity": "13800000000", "identity_type": "ALIPAY_LOGON_ID", "name": "张三"}
    content = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign")
    assert h.sign_b64(keys.app, content.encode()) == params["sign"]


def test_transfer_success_reply_means_paid(cert_config, keys, alipay_certs) -> None:
    payload = '{"code":"10000","msg":"Success","order_id":"2019","pay_fund_order_id":"20191115","status":"SUCCESS"}'
    payouts, _ = payouts_replying(cert_config, keys, alipay_certs, TRANSFER, payload)
    result = payouts.submit(make_payout())
    assert (result.status, result.provider_ref) == ("paid", "20191115")


def test_transfer_business_refusal_means_failed_with_the_sub_code(cert_config, keys, alipay_certs) -> None:
    payload = '{"code":"40004","msg":"Business Failed","sub_code":"PAYEE_USER_INFO_ERROR","sub_msg":"姓名不符"}'
    payouts, _ = payouts_replying(cert_config, keys, alipay_certs, TRANSFER, payload)
    result = payouts.submit(make_payout())
    assert (result.status, result.reason) == ("failed", "PAYEE_USER_INFO_ERROR")


@pytest.mark.parametrize(
    "payload",
    [
        '{"code":"40004","msg":"Business Failed","sub_code":"SYSTEM_ERROR"}',
        '{"code":"20000","msg":"Service Unavailable"}',
    ],
)
def test_transfer_with_unknown_outcome_raises_retryable_provider_error(
    cert_config, keys, alipay_certs, payload
) -> None:
    payouts, _ = payouts_replying(cert_config, keys, alipay_certs, TRANSFER, payload)
    with pytest.raises(ProviderError) as err:
        payouts.submit(make_payout())
    assert err.value.retryable


def test_transfer_gateway_http_error_is_retryable(cert_config, keys, alipay_certs) -> None:
    payouts, _ = payouts_replying(cert_config, keys, alipay_certs, TRANSFER, "{}", status=502)
    with pytest.raises(ProviderError) as err:
        payouts.submit(make_payout())
    assert err.value.retryable


def test_forged_transfer_failure_never_reads_as_failed(cert_config, keys, alipay_certs) -> None:
    payload = '{"code":"40004","sub_code":"PAYEE_NOT_EXIST"}'
    reply = h.alipay_reply(TRANSFER, payload, keys.other, cert_sn=cert_sn(alipay_certs.alipay_cert))
    transport = h.FakeTransport(lambda _r: HttpResponse(200, {}, reply))
    with pytest.raises(ProviderError):
        AlipayPayouts(cert_config, transport=transport, now=h.fixed_now).submit(make_payout())


@pytest.mark.parametrize(
    ("payload", "status", "reason"),
    [
        ('{"code":"10000","status":"SUCCESS","trans_amount":"1.00","pay_fund_order_id":"F1"}', "paid", None),
        ('{"code":"10000","status":"DEALING","trans_amount":"1.00"}', "accepted", None),
        (
            '{"code":"10000","status":"FAIL","error_code":"PAYEE_ACCOUNT_STATUS_ERROR"}',
            "failed",
            "PAYEE_ACCOUNT_STATUS_ERROR",
        ),
        ('{"code":"40004","sub_code":"ORDER_NOT_EXIST","sub_msg":"转账订单不存在"}', "not_found", "ORDER_NOT_EXIST"),
    ],
)
def test_transfer_query_maps_alipay_status(cert_config, keys, alipay_certs, payload, status, reason) -> None:
    payouts, transport = payouts_replying(cert_config, keys, alipay_certs, QUERY, payload)
    result = payouts.query("wdr_01JTESTWITHDRAWAL00000000")
    assert (result.status, result.reason) == (status, reason)
    biz = json.loads(_form(transport.requests[0])["biz_content"])
    assert biz == {
        "out_biz_no": "wdr_01JTESTWITHDRAWAL00000000",
        "product_code": "TRANS_ACCOUNT_NO_PWD",
        "biz_scene": "DIRECT_TRANSFER",
    }


def test_transfer_query_reports_the_amount_alipay_paid(cert_config, keys, alipay_certs) -> None:
    payload = '{"code":"10000","status":"SUCCESS","trans_amount":"1.00","pay_fund_order_id":"F1"}'
    payouts, _ = payouts_replying(cert_config, keys, alipay_certs, QUERY, payload)
    assert payouts.query("wdr_x").amount_fen == 100


def test_transfer_query_other_business_error_is_a_provider_error(cert_config, keys, alipay_certs) -> None:
    payouts, _ = payouts_replying(cert_config, keys, alipay_certs, QUERY, '{"code":"40004","sub_code":"X"}')
    with pytest.raises(ProviderError):
        payouts.query("wdr_x")
