"""Alipay (open platform, RSA2): App-pay order strings, async-notification verification, single transfers to users.

Protocol rules followed (see docs/decisions/0031):
- request signing: every non-empty parameter except `sign`, sorted by key, joined `k=v` with `&` on the raw
  (unescaped) values, SHA256withRSA with the app private key, base64;
- notification verification: the same over the received (URL-decoded) form minus `sign` and `sign_type`,
  verified with the Alipay public key;
- synchronous responses: the signature covers the exact JSON text of the `<method>_response` member;
- `alipay.fund.trans.uni.transfer` only works in public-key-certificate mode, so payouts need the three certs.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.adapters.payments.amounts import InvalidAmount, fen_to_yuan, yuan_to_fen
from chalicelib.adapters.payments.base import (
    SHANGHAI,
    BadSignature,
    Channel,
    HttpRequest,
    Notification,
    NotifyAnswer,
    NotifyRejected,
    NotifyStatus,
    Now,
    PayIntent,
    PayoutRequest,
    PayoutResult,
    PayParams,
    ProviderConfigError,
    ProviderError,
    Transport,
)
from chalicelib.adapters.payments.keys import load_private_key, load_public_key, rsa_sign, rsa_verify

GATEWAY = "https://openapi.alipay.com/gateway.do"

_TRADE_STATUS: dict[str, NotifyStatus] = {
    "TRADE_SUCCESS": "success",
    "TRADE_FINISHED": "success",  # also sent after TRADE_SUCCESS once the refund window closes: a duplicate
    "TRADE_CLOSED": "failed",  # unpaid and timed out, or fully refunded later: callers apply it to pending only
    "WAIT_BUYER_PAY": "pending",
}

_TRANSFER_PRODUCT = "TRANS_ACCOUNT_NO_PWD"
_TRANSFER_SCENE = "DIRECT_TRANSFER"
# 40004 sub-codes that do not prove the transfer failed: poll the query API instead of giving money back.
_AMBIGUOUS_SUB_CODES = frozenset({"SYSTEM_ERROR", "PAYMENT_INFO_INCONSISTENCY"})


# ---------------------------------------------------------------------------------------------- signing


def sign_content(params: Mapping[str, str], *, exclude: frozenset[str]) -> str:
    """The string to sign: sorted `k=v` pairs joined with `&`, unescaped, empty values and `exclude` left out."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in exclude and params[k] != "")


REQUEST_EXCLUDE = frozenset({"sign"})
NOTIFY_EXCLUDE = frozenset({"sign", "sign_type"})


def sign_request(params: Mapping[str, str], key: rsa.RSAPrivateKey) -> str:
    return rsa_sign(key, sign_content(params, exclude=REQUEST_EXCLUDE).encode("utf-8"))


def sign_notification(params: Mapping[str, str], key: rsa.RSAPrivateKey) -> str:
    """How the provider signs an async notification (the sandbox provider uses this)."""
    return rsa_sign(key, sign_content(params, exclude=NOTIFY_EXCLUDE).encode("utf-8"))


def verify_notification_params(params: Mapping[str, str], key: rsa.RSAPublicKey) -> None:
    """Raise BadSignature unless `sign` is a valid RSA2 signature of the other parameters."""
    signature = params.get("sign")
    if not signature:
        raise BadSignature("missing_signature")
    sign_type = params.get("sign_type", "RSA2")
    if sign_type != "RSA2":
        raise BadSignature("unsupported_sign_type", sign_type)
    if not rsa_verify(key, sign_content(params, exclude=NOTIFY_EXCLUDE).encode("utf-8"), signature):
        raise BadSignature("invalid_signature")


def parse_form(body: bytes) -> dict[str, str]:
    """Decode an `application/x-www-form-urlencoded` UTF-8 body; a repeated key is refused (ambiguous)."""
    try:
        text = body.decode("utf-8")
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotifyRejected("malformed", "form body") from exc
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            raise NotifyRejected("malformed", f"repeated field {key}")
        params[key] = value
    return params


def shanghai_timestamp(at: datetime) -> str:
    """Alipay's `timestamp`/`time_expire` format: Beijing time, "YYYY-MM-DD HH:MM:SS"."""
    if at.tzinfo is None:
        raise ValueError("need an aware datetime")
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _biz_json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------- certificates


_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
_RSA_SIG_OID_PREFIX = "1.2.840.113549.1.1."


def _sn(cert: x509.Certificate) -> str:
    # Alipay's SDKs: md5(issuer DN in RFC 2253 order, i.e. "CN=…,OU=…,O=…,C=…", + decimal serial number).
    return hashlib.md5(
        (cert.issuer.rfc4514_string() + str(cert.serial_number)).encode(), usedforsecurity=False
    ).hexdigest()


def cert_sn(cert_pem: str) -> str:
    """`app_cert_sn` / `alipay_cert_sn` of one certificate."""
    try:
        return _sn(x509.load_pem_x509_certificate(cert_pem.encode()))
    except ValueError as exc:
        raise ProviderConfigError("unreadable certificate") from exc


def root_cert_sn(chain_pem: str) -> str:
    """`alipay_root_cert_sn`: the SNs of the RSA-signed certificates in the root bundle, joined with `_`."""
    sns = []
    for block in _PEM_CERT.findall(chain_pem):
        try:
            cert = x509.load_pem_x509_certificate(block.encode())
        except ValueError as exc:
            raise ProviderConfigError("unreadable root certificate") from exc
        # The bundle also holds an SM2 (national algorithm) root that Alipay's SDKs skip.
        if cert.signature_algorithm_oid.dotted_string.startswith(_RSA_SIG_OID_PREFIX):
            sns.append(_sn(cert))
    if not sns:
        raise ProviderConfigError("no RSA certificate in the Alipay root bundle")
    return "_".join(sns)


# ---------------------------------------------------------------------------------------------- responses


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def top_level_members(text: str) -> dict[str, tuple[Any, str]]:
    """Each top-level member of a JSON object as (decoded value, exact source text).

    Alipay signs the `xxx_response` member as it appears on the wire, so re-serialising it would not verify
    (key order, escaped slashes); this keeps the original slice.
    """
    decoder = json.JSONDecoder()
    members: dict[str, tuple[Any, str]] = {}
    i = _skip_ws(text, 0)
    if not text.startswith("{", i):
        raise ValueError("not a JSON object")
    i = _skip_ws(text, i + 1)
    if text.startswith("}", i):
        return members
    while True:
        key, i = decoder.raw_decode(text, i)
        if not isinstance(key, str):
            raise ValueError("object key is not a string")
        i = _skip_ws(text, i)
        if not text.startswith(":", i):
            raise ValueError("expected ':'")
        start = _skip_ws(text, i + 1)
        value, end = decoder.raw_decode(text, start)
        members[key] = (value, text[start:end])
        i = _skip_ws(text, end)
        if text.startswith(",", i):
            i = _skip_ws(text, i + 1)
            continue
        if text.startswith("}", i) and _skip_ws(text, i + 1) == len(text):
            return members
        raise ValueError("expected ',' or '}'")


def verify_response(
    body: bytes, method: str, key: rsa.RSAPublicKey, *, expected_cert_sn: str | None = None
) -> dict[str, Any]:
    """The verified `<method>_response` (or `error_response`) object of a gateway reply.

    Raises ProviderError when the reply is unreadable, unsigned, signed by another certificate or forged:
    in every such case the outcome of the call is unknown, never "failed".
    """
    try:
        members = top_level_members(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProviderError("MALFORMED_RESPONSE", "unreadable gateway reply", retryable=True) from exc
    name = method.replace(".", "_") + "_response"
    if name not in members:
        name = "error_response"
    if name not in members or not isinstance(members[name][0], dict):
        raise ProviderError("MALFORMED_RESPONSE", "no response member", retryable=True)
    signature = members.get("sign", (None, ""))[0]
    if not isinstance(signature, str) or not signature:
        raise ProviderError("UNSIGNED_RESPONSE", str(members[name][0].get("sub_code", "")), retryable=False)
    if expected_cert_sn is not None and "alipay_cert_sn" in members:
        if members["alipay_cert_sn"][0] != expected_cert_sn:
            # Alipay rotated its certificate: operators must install the new one before we trust replies.
            raise ProviderError("ALIPAY_CERT_SN_MISMATCH", "update alipay_public_cert_pem", retryable=False)
    if not rsa_verify(key, members[name][1].encode("utf-8"), signature):
        raise ProviderError("BAD_RESPONSE_SIGNATURE", "reply signature does not verify", retryable=False)
    return dict(members[name][0])


# ---------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class AlipayConfig:
    app_id: str
    app_private_key: rsa.RSAPrivateKey
    alipay_public_key: rsa.RSAPublicKey
    gateway: str = GATEWAY
    # Public-key-certificate mode (required for transfers): sent on every request / expected on replies.
    app_cert_sn: str | None = None
    alipay_root_cert_sn: str | None = None
    alipay_cert_sn: str | None = None

    @property
    def cert_mode(self) -> bool:
        return self.app_cert_sn is not None

    @classmethod
    def from_secret(cls, section: Mapping[str, Any]) -> AlipayConfig:
        """Build from the `alipay` member of the providers secret (layout: docs/decisions/0034)."""
        try:
            app_id = str(section["app_id"])
            private_key = load_private_key(section["app_private_key_pem"])
        except KeyError as exc:
            raise ProviderConfigError(f"alipay: missing {exc.args[0]}") from exc
        certs = [section.get(k) for k in ("app_public_cert_pem", "alipay_public_cert_pem", "alipay_root_cert_pem")]
        if all(certs):
            app_cert, alipay_cert, root = (str(c) for c in certs)
            return cls(
                app_id=app_id,
                app_private_key=private_key,
                alipay_public_key=load_public_key(alipay_cert),
                gateway=section.get("gateway", GATEWAY),
                app_cert_sn=cert_sn(app_cert),
                alipay_root_cert_sn=root_cert_sn(root),
                alipay_cert_sn=cert_sn(alipay_cert),
            )
        if any(certs):
            raise ProviderConfigError("alipay: certificate mode needs all three certificates")
        if "alipay_public_key_pem" not in section:
            raise ProviderConfigError("alipay: missing alipay_public_key_pem")
        return cls(
            app_id=app_id,
            app_private_key=private_key,
            alipay_public_key=load_public_key(section["alipay_public_key_pem"]),
            gateway=section.get("gateway", GATEWAY),
        )

    def common_params(self, method: str, at: datetime) -> dict[str, str]:
        params = {
            "app_id": self.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": shanghai_timestamp(at),
            "version": "1.0",
        }
        if self.cert_mode:
            assert self.app_cert_sn is not None and self.alipay_root_cert_sn is not None
            params["app_cert_sn"] = self.app_cert_sn
            params["alipay_root_cert_sn"] = self.alipay_root_cert_sn
        return params


# ---------------------------------------------------------------------------------------------- notifications


class AlipayNotifyVerifier:
    """Turns an Alipay-style async notification body into a verified Notification.

    Shared by the Alipay and sandbox channels so both go through one verification path.
    """

    def __init__(self, *, channel: Channel, app_id: str, public_key: rsa.RSAPublicKey) -> None:
        self.channel: Channel = channel
        self._app_id = app_id
        self._key = public_key

    def verify(self, body: bytes) -> Notification:
        params = parse_form(body)
        verify_notification_params(params, self._key)
        charset = params.get("charset", "utf-8").lower()
        if charset not in ("utf-8", "utf8"):
            raise NotifyRejected("unsupported_charset", charset)
        if params.get("app_id") != self._app_id:
            raise NotifyRejected("app_id_mismatch", params.get("app_id", ""))
        status = _TRADE_STATUS.get(params.get("trade_status", ""))
        if status is None:
            raise NotifyRejected("unknown_trade_status", params.get("trade_status", ""))
        out_trade_no, trade_no = params.get("out_trade_no", ""), params.get("trade_no", "")
        if not out_trade_no or not trade_no:
            raise NotifyRejected("malformed", "out_trade_no/trade_no missing")
        try:
            amount_fen = yuan_to_fen(params.get("total_amount", ""))
        except InvalidAmount as exc:
            raise NotifyRejected("bad_amount", params.get("total_amount", "")) from exc
        return Notification(
            channel=self.channel,
            out_trade_no=out_trade_no,
            provider_trade_no=trade_no,
            amount_fen=amount_fen,
            status=status,
            raw=params,
        )


TEXT_ANSWER = "text/plain; charset=utf-8"


def text_ack() -> NotifyAnswer:
    """Alipay stops resending only on the exact body `success`."""
    return NotifyAnswer(200, TEXT_ANSWER, b"success")


def text_nack() -> NotifyAnswer:
    return NotifyAnswer(200, TEXT_ANSWER, b"fail")


# ---------------------------------------------------------------------------------------------- deposits


class AlipayProvider:
    """Deposits by App pay (`alipay.trade.app.pay`): the app hands `order_string` to the Alipay SDK."""

    channel: Channel = "alipay"

    def __init__(self, config: AlipayConfig, *, now: Now) -> None:
        self._config = config
        self._now = now
        self._notify = AlipayNotifyVerifier(channel="alipay", app_id=config.app_id, public_key=config.alipay_public_key)

    def order_string(self, intent: PayIntent) -> str:
        biz: dict[str, Any] = {
            "out_trade_no": intent.deposit_id,
            "total_amount": fen_to_yuan(intent.amount_fen),
            "subject": intent.subject,
            "product_code": "QUICK_MSECURITY_PAY",
        }
        if intent.expires_at is not None:
            biz["time_expire"] = shanghai_timestamp(intent.expires_at)
        params = self._config.common_params("alipay.trade.app.pay", self._now())
        params["notify_url"] = intent.notify_url
        params["biz_content"] = _biz_json(biz)
        params["sign"] = sign_request(params, self._config.app_private_key)
        return "&".join(f"{k}={urllib.parse.quote_plus(params[k])}" for k in sorted(params))

    def pay_params(self, intent: PayIntent) -> PayParams:
        return PayParams(channel="alipay", params={"order_string": self.order_string(intent)})

    def verify_notification(self, body: bytes, headers: Mapping[str, str]) -> Notification:
        return self._notify.verify(body)

    def ack(self) -> NotifyAnswer:
        return text_ack()

    def nack(self, *, retryable: bool = True) -> NotifyAnswer:
        return text_nack()


# ---------------------------------------------------------------------------------------------- payouts


class AlipayPayouts:
    """Withdrawals by `alipay.fund.trans.uni.transfer` (TRANS_ACCOUNT_NO_PWD / DIRECT_TRANSFER), polled with
    `alipay.fund.trans.common.query`. `out_biz_no` is the withdrawal id, so a resend is idempotent at Alipay.
    """

    channel: Channel = "alipay"

    def __init__(self, config: AlipayConfig, *, transport: Transport, now: Now) -> None:
        if not config.cert_mode:
            raise ProviderConfigError("alipay transfers need certificate mode (app/alipay/root certificates)")
        self._config = config
        self._transport = transport
        self._now = now

    def build_request(self, method: str, biz: Mapping[str, Any]) -> HttpRequest:
        params = self._config.common_params(method, self._now())
        params["biz_content"] = _biz_json(biz)
        params["sign"] = sign_request(params, self._config.app_private_key)
        return HttpRequest(
            method="POST",
            url=f"{self._config.gateway}?charset=utf-8",
            headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
            body=urllib.parse.urlencode(params).encode("ascii"),
        )

    def _call(self, method: str, biz: Mapping[str, Any]) -> dict[str, Any]:
        response = self._transport(self.build_request(method, biz))
        if response.status != 200:
            raise ProviderError(f"HTTP_{response.status}", "gateway status", retryable=True)
        return verify_response(
            response.body, method, self._config.alipay_public_key, expected_cert_sn=self._config.alipay_cert_sn
        )

    def submit(self, request: PayoutRequest) -> PayoutResult:
        payee = {
            "identity": request.account,
            "identity_type": request.account_type or "ALIPAY_LOGON_ID",
            "name": request.real_name,
        }
        biz = {
            "out_biz_no": request.withdrawal_id,
            "trans_amount": fen_to_yuan(request.amount_fen),
            "product_code": _TRANSFER_PRODUCT,
            "biz_scene": _TRANSFER_SCENE,
            "order_title": request.remark,
            "payee_info": payee,
            "remark": request.remark,
        }
        reply = self._call("alipay.fund.trans.uni.transfer", biz)
        code, sub_code = str(reply.get("code", "")), str(reply.get("sub_code", ""))
        if code == "10000":
            return self._result(request.withdrawal_id, reply, str(reply.get("status", "")))
        if code == "40004" and sub_code and sub_code not in _AMBIGUOUS_SUB_CODES:
            # A business refusal (payee missing, name mismatch, limits…): Alipay created no transfer.
            return PayoutResult(request.withdrawal_id, "failed", reason=sub_code, raw=reply)
        raise ProviderError(
            sub_code or code or "UNKNOWN",
            str(reply.get("sub_msg", "")),
            retryable=code == "20000" or sub_code == "SYSTEM_ERROR",
        )

    def query(self, withdrawal_id: str) -> PayoutResult:
        biz = {"out_biz_no": withdrawal_id, "product_code": _TRANSFER_PRODUCT, "biz_scene": _TRANSFER_SCENE}
        reply = self._call("alipay.fund.trans.common.query", biz)
        code, sub_code = str(reply.get("code", "")), str(reply.get("sub_code", ""))
        if code == "10000":
            return self._result(withdrawal_id, reply, str(reply.get("status", "")))
        if code == "40004" and sub_code == "ORDER_NOT_EXIST":
            return PayoutResult(withdrawal_id, "not_found", reason=sub_code, raw=reply)
        raise ProviderError(sub_code or code or "UNKNOWN", str(reply.get("sub_msg", "")), retryable=True)

    @staticmethod
    def _result(withdrawal_id: str, reply: Mapping[str, Any], status: str) -> PayoutResult:
        ref = reply.get("pay_fund_order_id") or reply.get("order_id")
        amount: int | None = None
        if isinstance(reply.get("trans_amount"), str):
            try:
                amount = yuan_to_fen(reply["trans_amount"])
            except InvalidAmount:
                amount = None
        if status == "SUCCESS":
            return PayoutResult(withdrawal_id, "paid", provider_ref=ref, amount_fen=amount, raw=reply)
        if status in ("FAIL", "REFUND", "CLOSED"):
            reason = str(reply.get("error_code") or reply.get("fail_reason") or status)
            return PayoutResult(withdrawal_id, "failed", provider_ref=ref, amount_fen=amount, reason=reason, raw=reply)
        # DEALING, WAIT_PAY, INIT, UNKNOWN or anything new: not final, keep polling.
        return PayoutResult(withdrawal_id, "accepted", provider_ref=ref, amount_fen=amount, raw=reply)
