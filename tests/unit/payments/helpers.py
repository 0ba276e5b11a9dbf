"""Test-side "provider" helpers: key material, certificates, and fixtures signed the way Alipay/WeChat sign them."""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from chalicelib.adapters.payments.base import HttpRequest, HttpResponse

NOW = datetime(2026, 11, 25, 8, 0, 0, tzinfo=UTC)
APIV3_KEY = "0123456789abcdefghijklmnopqrstuv"  # 32 ASCII bytes, as WeChat issues them
ALIPAY_APP_ID = "2021000000000001"
MCHID = "1900000109"
WX_APPID = "wx8888888888888888"
PLATFORM_SERIAL_INT = 0x5157F09EFDC096DE15EBE81A47057A7232F1B8E1
PLATFORM_SERIAL = f"{PLATFORM_SERIAL_INT:X}"
PUB_KEY_ID = "PUB_KEY_ID_0114232134912410000000000000"


def fixed_now() -> datetime:
    return NOW


def sign_b64(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def pem_private(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def pem_public(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def name(cn: str, ou: str = "Certification Authority", o: str = "Ant Financial", c: str = "CN") -> x509.Name:
    # ASN.1 order C, O, OU, CN: its RFC 2253 rendering is "CN=…,OU=…,O=…,C=…", as on Alipay's certificates.
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, c),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, o),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def make_cert(
    subject_key: Any,
    issuer_key: Any,
    *,
    subject: x509.Name,
    issuer: x509.Name,
    serial: int,
    not_after: datetime = NOW + timedelta(days=365),
) -> str:
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(subject_key.public_key())
        .serial_number(serial)
        .not_valid_before(NOW - timedelta(days=30))
        .not_valid_after(not_after)
        .sign(issuer_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def ec_root_cert() -> str:
    """Stands in for the SM2 root in Alipay's bundle: a root not signed with RSA, which SN computation skips."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = name("Ant Financial Certification Authority E1")
    return make_cert(key, key, subject=subject, issuer=subject, serial=77)


# ---------------------------------------------------------------------------------------------- Alipay side


def alipay_notify_params(**overrides: str) -> dict[str, str]:
    params = {
        "app_id": ALIPAY_APP_ID,
        "auth_app_id": ALIPAY_APP_ID,
        "body": "余额充值",
        "buyer_id": "2088102116773037",
        "charset": "utf-8",
        "gmt_create": "2026-11-25 15:59:44",
        "gmt_payment": "2026-11-25 15:59:47",
        "notify_id": "4a91b7a78a503640467525113fb7d8bg8e",
        "notify_time": "2026-11-25 16:00:49",
        "notify_type": "trade_status_sync",
        "out_trade_no": "dep_01JTESTDEPOSIT0000000000",
        "seller_id": "2088102119685838",
        "subject": "Taskhall 余额充值",
        "total_amount": "12.34",
        "trade_no": "2026112522001456380542497258",
        "trade_status": "TRADE_SUCCESS",
        "version": "1.0",
        "fund_bill_list": '[{"amount":"12.34","fundChannel":"ALIPAYACCOUNT"}]',
    }
    params.update(overrides)
    return params


def alipay_sign_notify(params: dict[str, str], key: rsa.RSAPrivateKey) -> dict[str, str]:
    """Sign the way Alipay does, written independently of the adapter: sorted k=v of all but sign/sign_type."""
    content = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("sign", "sign_type") and v)
    return {**params, "sign_type": "RSA2", "sign": sign_b64(key, content.encode())}


def form(params: dict[str, str]) -> bytes:
    return urllib.parse.urlencode(params).encode()


def alipay_reply(method: str, payload: str, key: rsa.RSAPrivateKey | None, *, cert_sn: str | None = None) -> bytes:
    """A gateway reply: `payload` is the exact JSON text Alipay signs, placed verbatim in the envelope."""
    parts = [f'"{method.replace(".", "_")}_response":{payload}']
    if cert_sn is not None:
        parts.append(f'"alipay_cert_sn":"{cert_sn}"')
    if key is not None:
        parts.append(f'"sign":"{sign_b64(key, payload.encode())}"')
    return ("{" + ",".join(parts) + "}").encode()


# ---------------------------------------------------------------------------------------------- WeChat side


def wechat_transaction(**overrides: Any) -> dict[str, Any]:
    txn: dict[str, Any] = {
        "mchid": MCHID,
        "appid": WX_APPID,
        "out_trade_no": "dep_01JTESTDEPOSIT0000000000",
        "transaction_id": "4200000985202103031441826014",
        "trade_type": "APP",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "CMC",
        "success_time": "2026-11-25T16:00:00+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": 1234, "payer_total": 1234, "currency": "CNY", "payer_currency": "CNY"},
    }
    txn.update(overrides)
    return txn


def wechat_envelope(plaintext: bytes, *, key: str = APIV3_KEY, nonce: str = "fdasflkja484w", ad: str = "transaction"):
    ciphertext = AESGCM(key.encode()).encrypt(nonce.encode(), plaintext, ad.encode())
    return {
        "id": "EV-2018022511223320873",
        "create_time": "2026-11-25T16:00:01+08:00",
        "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS",
        "summary": "支付成功",
        "resource": {
            "original_type": "transaction",
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(ciphertext).decode(),
            "associated_data": ad,
            "nonce": nonce,
        },
    }


def wechat_body(txn: dict[str, Any] | None = None, **kw: Any) -> bytes:
    envelope = wechat_envelope(json.dumps(txn or wechat_transaction(), ensure_ascii=False).encode(), **kw)
    return json.dumps(envelope, ensure_ascii=False).encode()


def wechat_headers(
    body: bytes,
    key: rsa.RSAPrivateKey,
    *,
    serial: str = PLATFORM_SERIAL,
    timestamp: int | None = None,
    nonce: str = "c5ac7061fccab6bf3e254dcf98995b8c",
) -> dict[str, str]:
    ts = str(int(NOW.timestamp()) if timestamp is None else timestamp)
    message = ts.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n"
    return {
        "Wechatpay-Timestamp": ts,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature": sign_b64(key, message),
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }


def wechat_reply(status: int, payload: dict[str, Any] | None, key: rsa.RSAPrivateKey, **kw: Any) -> HttpResponse:
    body = json.dumps(payload, ensure_ascii=False).encode() if payload is not None else b""
    headers = {k.lower(): v for k, v in wechat_headers(body, key, **kw).items()}
    headers["content-type"] = "application/json"
    return HttpResponse(status, headers, body)


# ---------------------------------------------------------------------------------------------- transport


@dataclass
class FakeTransport:
    """Records requests; answers with `respond(request)`. Tests never touch the network."""

    respond: Callable[[HttpRequest], HttpResponse]
    requests: list[HttpRequest] = field(default_factory=list)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        return self.respond(request)
