"""The provider factory: adapters configured from the providers secret's JSON layout."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.adapters import secrets as secrets_adapter
from chalicelib.adapters.payments import providers
from chalicelib.adapters.payments.alipay import AlipayPayouts, AlipayProvider
from chalicelib.adapters.payments.base import ProviderConfigError
from chalicelib.adapters.payments.sandbox import MemorySandboxPayoutStore, SandboxPayouts, generate_sandbox_keys
from chalicelib.adapters.payments.wechat import WechatPayouts, WechatPayProvider
from tests.unit.payments import helpers as h


@pytest.fixture
def secret(keys, alipay_certs, platform_cert) -> dict[str, Any]:
    return {
        "sandbox": {
            "provider_private_key_pem": h.pem_private(keys.sandbox),
            "provider_public_key_pem": h.pem_public(keys.sandbox),
        },
        "alipay": {
            "app_id": h.ALIPAY_APP_ID,
            "app_private_key_pem": h.pem_private(keys.app),
            "app_public_cert_pem": alipay_certs.app_cert,
            "alipay_public_cert_pem": alipay_certs.alipay_cert,
            "alipay_root_cert_pem": alipay_certs.root_bundle,
        },
        "wechat": {
            "mchid": h.MCHID,
            "appid": h.WX_APPID,
            "apiv3_key": h.APIV3_KEY,
            "merchant_serial": "444F4864EA9B34415C8E5B5A1E6B1A6D4C3B2A10",
            "merchant_private_key_pem": h.pem_private(keys.merchant),
            "platform_certs": {h.PLATFORM_SERIAL: platform_cert},
        },
    }


@pytest.fixture
def stored(monkeypatch, secret) -> Iterator[dict[str, Any]]:
    monkeypatch.setattr(secrets_adapter, "provider_secrets", lambda: secret)
    providers.clear_cache()
    yield secret
    providers.clear_cache()


def test_each_channel_gets_its_adapter_from_the_secret(stored) -> None:
    assert isinstance(providers.provider("alipay", now=h.fixed_now), AlipayProvider)
    assert isinstance(providers.provider("wechat", now=h.fixed_now), WechatPayProvider)
    assert providers.provider("sandbox", now=h.fixed_now).channel == "sandbox"
    assert isinstance(providers.payout_provider("alipay"), AlipayPayouts)
    assert isinstance(providers.payout_provider("wechat"), WechatPayouts)
    assert isinstance(providers.payout_provider("sandbox", sandbox_store=MemorySandboxPayoutStore()), SandboxPayouts)


def test_sandbox_notification_built_from_the_secret_verifies_through_the_factory(stored) -> None:
    body, _ = providers.sandbox_provider(now=h.fixed_now).build_notification("dep_x", 700)
    assert providers.provider("sandbox", now=h.fixed_now).verify_notification(body, {}).amount_fen == 700


def test_missing_channel_section_is_a_config_error(monkeypatch) -> None:
    monkeypatch.setattr(secrets_adapter, "provider_secrets", lambda: {})
    with pytest.raises(ProviderConfigError):
        providers.provider("alipay")


def test_unknown_channel_is_refused(stored) -> None:
    with pytest.raises(ValueError):
        providers.provider("paypal")


def test_sandbox_payouts_need_a_state_store(stored) -> None:
    with pytest.raises(ValueError):
        providers.payout_provider("sandbox")


def test_local_stack_secret_layout_round_trips_through_secrets_manager(aws) -> None:
    aws.put_provider_secrets({"sandbox": generate_sandbox_keys()})
    sandbox = providers.sandbox_provider(now=h.fixed_now)
    body, _ = sandbox.build_notification("dep_y", 100, result="fail")
    assert providers.provider("sandbox", now=h.fixed_now).verify_notification(body, {}).status == "failed"
