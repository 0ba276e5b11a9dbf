"""Factories: a configured payment or payout adapter per channel, from the providers secret.

The secret is read through `adapters.secrets.provider_secrets()` (cached there); parsed configurations are cached
here by content, so key parsing happens once per secret version, not per request. Layout: docs/decisions/0034.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from chalicelib.adapters.payments.alipay import AlipayConfig, AlipayPayouts, AlipayProvider
from chalicelib.adapters.payments.base import (
    Now,
    PaymentProvider,
    PayoutProvider,
    ProviderConfigError,
    Transport,
    urllib_transport,
)
from chalicelib.adapters.payments.sandbox import SandboxPayouts, SandboxPayoutStore, SandboxProvider
from chalicelib.adapters.payments.wechat import WechatConfig, WechatPayouts, WechatPayProvider

CHANNELS = ("alipay", "wechat", "sandbox")


def _section(channel: str) -> dict[str, Any]:
    from chalicelib.adapters import secrets

    if channel not in CHANNELS:
        raise ValueError(f"unknown payment channel {channel!r}")
    section = secrets.provider_secrets().get(channel)
    if not isinstance(section, dict) or not section:
        raise ProviderConfigError(f"the providers secret has no {channel!r} section")
    return section


@lru_cache(maxsize=8)
def _alipay_config(blob: str) -> AlipayConfig:
    return AlipayConfig.from_secret(json.loads(blob))


@lru_cache(maxsize=8)
def _wechat_config(blob: str) -> WechatConfig:
    return WechatConfig.from_secret(json.loads(blob))


def _blob(section: dict[str, Any]) -> str:
    return json.dumps(section, sort_keys=True)


def _now(now: Now | None) -> Now:
    if now is not None:
        return now
    from chalicelib.adapters import clock

    return clock.now


def sandbox_provider(*, now: Now | None = None) -> SandboxProvider:
    """The sandbox deposit provider, able to build signed notifications when the secret holds its private key."""
    section = _section("sandbox")
    try:
        public_pem = str(section["provider_public_key_pem"])
    except KeyError as exc:
        raise ProviderConfigError("sandbox: missing provider_public_key_pem") from exc
    return SandboxProvider(
        provider_public_key_pem=public_pem,
        provider_private_key_pem=section.get("provider_private_key_pem"),
        now=_now(now),
    )


def provider(channel: str, *, transport: Transport | None = None, now: Now | None = None) -> PaymentProvider:
    """The deposit adapter for `channel` ("alipay" | "wechat" | "sandbox")."""
    if channel == "sandbox":
        return sandbox_provider(now=now)
    if channel == "alipay":
        return AlipayProvider(_alipay_config(_blob(_section("alipay"))), now=_now(now))
    if channel == "wechat":
        return WechatPayProvider(
            _wechat_config(_blob(_section("wechat"))), transport=transport or urllib_transport(), now=_now(now)
        )
    raise ValueError(f"unknown payment channel {channel!r}")


def payout_provider(
    channel: str,
    *,
    transport: Transport | None = None,
    now: Now | None = None,
    sandbox_store: SandboxPayoutStore | None = None,
) -> PayoutProvider:
    """The payout adapter for `channel`; the sandbox one needs the caller's state store."""
    if channel == "sandbox":
        if sandbox_store is None:
            raise ValueError("the sandbox payout provider needs a sandbox_store")
        return SandboxPayouts(sandbox_store)
    if channel == "alipay":
        return AlipayPayouts(
            _alipay_config(_blob(_section("alipay"))), transport=transport or urllib_transport(), now=_now(now)
        )
    if channel == "wechat":
        return WechatPayouts(
            _wechat_config(_blob(_section("wechat"))), transport=transport or urllib_transport(), now=_now(now)
        )
    raise ValueError(f"unknown payment channel {channel!r}")


def clear_cache() -> None:
    _alipay_config.cache_clear()
    _wechat_config.cache_clear()
