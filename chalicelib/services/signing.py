"""Merchant server API: register an RSA public key, and authenticate signed requests as that merchant.

A signed request costs two GetItems (the key, the user's status) and one conditional put (the nonce). Every
refusal is the same 401 `BAD_SIGNATURE`, so a caller learns nothing about which part failed; the reason is
logged (in English, without the signature) for the operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.adapters import clock
from chalicelib.adapters.log import logger
from chalicelib.domain import signing
from chalicelib.domain.errors import NotFound, Unauthorized
from chalicelib.domain.roles import Caller
from chalicelib.services import audit
from chalicelib.store import merchant_keys, nonces
from chalicelib.store import users as user_store

if TYPE_CHECKING:
    from chalicelib.handlers.web import RequestContext


@dataclass(frozen=True)
class KeyView:
    fingerprint: str
    bits: int
    created_at: str


def bad_signature() -> Unauthorized:
    return Unauthorized("BAD_SIGNATURE", "商户签名无效，请检查签名算法、时间戳与随机串后重试")


def _iso_now() -> str:
    return clock.now().isoformat(timespec="seconds").replace("+00:00", "Z")


# ---------------------------------------------------------------- key management (token callers)


def register_key(caller: Caller, public_key_pem: str, *, request_id: str | None = None) -> KeyView:
    """Register or replace the caller's key. Merchants need not be approved: the task routes check that."""
    pem = public_key_pem.strip() + "\n"
    fingerprint, bits = signing.check_public_key(pem)
    before = merchant_keys.get(caller.id)
    item = merchant_keys.put(caller.id, pem, fingerprint, bits, _iso_now())
    audit.record(
        caller,
        "merchant.api_key.put",
        "user",
        caller.id,
        before={"fingerprint": before.fingerprint} if before else None,
        after={"fingerprint": fingerprint, "bits": bits},
        request_id=request_id,
    )
    return KeyView(fingerprint=item.fingerprint, bits=int(item.bits), created_at=item.created_at)


def current_key(caller: Caller) -> KeyView:
    item = merchant_keys.get(caller.id)
    if item is None:
        raise NotFound("API_KEY_NOT_FOUND", "尚未登记接口公钥")
    return KeyView(fingerprint=item.fingerprint, bits=int(item.bits), created_at=item.created_at)


def revoke_key(caller: Caller, *, request_id: str | None = None) -> None:
    item = merchant_keys.get(caller.id)
    if item is None or not merchant_keys.delete(caller.id):
        raise NotFound("API_KEY_NOT_FOUND", "尚未登记接口公钥")
    audit.record(
        caller,
        "merchant.api_key.revoke",
        "user",
        caller.id,
        before={"fingerprint": item.fingerprint},
        request_id=request_id,
    )


# ---------------------------------------------------------------- signed requests


class _Refused(Exception):
    """Why a signature was refused: logged, never shown to the caller."""


def authenticate(ctx: RequestContext) -> Caller:
    """The merchant behind a signed request, or 401 BAD_SIGNATURE. Frozen callers are returned as such."""
    merchant = ctx.headers.get(signing.HEADER_MERCHANT, "")[:80]
    try:
        return _verify(ctx)
    except _Refused as why:
        logger.info("signed request refused", extra={"reason": str(why), "merchant_id": merchant})
        raise bad_signature() from None


def _verify(ctx: RequestContext) -> Caller:
    signed = signing.parse_headers(ctx.headers)
    if signed is None:
        raise _Refused("malformed headers")
    now = clock.now_ts()
    if not signing.timestamp_fresh(signed.timestamp, now):
        raise _Refused("timestamp outside the window")
    key = merchant_keys.get(signed.merchant_id)
    if key is None:
        raise _Refused("no key registered")
    message = signing.canonical(
        ctx.method,
        signing.path_and_query(ctx.path, ctx.query_string),
        signed.timestamp,
        signed.nonce,
        ctx.raw_body,
    )
    if not signing.verify(key.public_key_pem, message, signed.signature):
        raise _Refused("signature does not verify")
    user = user_store.get_user(signed.merchant_id)
    if user is None or user.role != "merchant":
        raise _Refused("not a merchant")
    # The nonce is spent only by a request that verified: garbage cannot burn a merchant's nonces.
    if not nonces.use_once(
        signed.merchant_id, signed.nonce, expires_at=signing.nonce_expires_at(signed.timestamp), now=now
    ):
        raise _Refused("nonce reused")
    return Caller(id=signed.merchant_id, role="merchant", status=user.status, via="signature")
