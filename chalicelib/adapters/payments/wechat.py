"""WeChat Pay API v3: APP-pay prepay + app sign, notification verification and decryption, 商家转账 payouts.

Protocol rules followed (see docs/decisions/0032):
- requests carry `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",signature="…",timestamp="…",
  serial_no="…"`, the signature over "METHOD\\nURL\\ntimestamp\\nnonce\\nbody\\n" with the merchant key;
- replies and notifications are signed over "timestamp\\nnonce\\nbody\\n" by the platform key whose serial (or
  WeChat Pay public-key id) is in `Wechatpay-Serial`; unknown serial, > 5 min clock skew or a bad signature: reject;
- notification `resource` is AEAD_AES_256_GCM with the 32-byte APIv3 key, `nonce` and `associated_data`;
- payouts use the current 商家转账 API (`POST /v3/fund-app/mch-transfer/transfer-bills`), whose bills may wait
  for the user to confirm receipt in WeChat (`WAIT_USER_CONFIRM` + `package_info`).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

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
    lower_headers,
)
from chalicelib.adapters.payments.keys import load_private_key, load_public_key, rsa_sign, rsa_verify

BASE_URL = "https://api.mch.weixin.qq.com"
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
MAX_SKEW_S = 300  # WeChat: reject replies/notifications whose timestamp is more than 5 minutes off

_TRADE_STATE: dict[str, NotifyStatus] = {
    "SUCCESS": "success",
    "CLOSED": "failed",
    "REVOKED": "failed",
    "PAYERROR": "failed",
    "NOTPAY": "pending",
    "USERPAYING": "pending",
    "REFUND": "pending",  # paid then refunded outside our flow: nothing to credit or fail here
}
_TRANSFER_FINAL_FAIL = frozenset({"FAIL", "CANCELLED"})
_HEX = re.compile(r"[0-9A-Fa-f]+")


def _norm_serial(serial: str) -> str:
    # Certificate serials are hex, compared by value (case and leading zeros vary); public-key ids are opaque.
    return f"{int(serial, 16):X}" if _HEX.fullmatch(serial) else serial


def out_bill_no(withdrawal_id: str) -> str:
    """商家转账 bill numbers allow only letters and digits: `wdr_01J…` → `wdr01J…` (still unique, ≤ 32)."""
    return re.sub(r"[^0-9A-Za-z]", "", withdrawal_id)


@dataclass(frozen=True)
class PlatformKey:
    public_key: rsa.RSAPublicKey
    not_after: datetime | None = None  # certificates expire; WeChat Pay public keys carry no date


@dataclass(frozen=True)
class WechatConfig:
    mchid: str
    appid: str
    apiv3_key: bytes
    merchant_serial: str
    merchant_private_key: rsa.RSAPrivateKey
    platform_keys: dict[str, PlatformKey]  # by normalised serial / public-key id
    base_url: str = BASE_URL
    transfer_scene_id: str = "1005"  # 佣金报酬
    transfer_job_type: str = "众包任务执行者"  # 岗位类型 reported with scene 1005
    user_recv_perception: str = "劳务报酬"
    transfer_notify_url: str | None = None
    encrypt_serial: str = field(default="")  # platform key used to encrypt user_name; chosen in from_secret

    @classmethod
    def from_secret(cls, section: Mapping[str, Any]) -> WechatConfig:
        """Build from the `wechat` member of the providers secret (layout: docs/decisions/0034)."""
        try:
            apiv3_key = str(section["apiv3_key"]).encode("utf-8")
            mchid, appid = str(section["mchid"]), str(section["appid"])
            merchant_serial = str(section["merchant_serial"])
            merchant_private_key = load_private_key(section["merchant_private_key_pem"])
        except KeyError as exc:
            raise ProviderConfigError(f"wechat: missing {exc.args[0]}") from exc
        if len(apiv3_key) != 32:
            raise ProviderConfigError("wechat: apiv3_key must be 32 bytes")
        keys: dict[str, PlatformKey] = {}
        newest: tuple[datetime, str] | None = None
        for serial, pem in dict(section.get("platform_certs") or {}).items():
            try:
                cert = x509.load_pem_x509_certificate(str(pem).encode())
            except ValueError as exc:
                raise ProviderConfigError(f"wechat: unreadable platform certificate {serial}") from exc
            if not _HEX.fullmatch(serial) or int(serial, 16) != cert.serial_number:
                raise ProviderConfigError(f"wechat: platform certificate serial {serial} does not match its PEM")
            public_key = cert.public_key()
            if not isinstance(public_key, rsa.RSAPublicKey):
                raise ProviderConfigError("wechat: platform certificate key is not RSA")
            keys[_norm_serial(serial)] = PlatformKey(public_key, cert.not_valid_after_utc)
            if newest is None or cert.not_valid_after_utc > newest[0]:
                newest = (cert.not_valid_after_utc, serial)
        encrypt_serial = newest[1] if newest else ""
        for key_id, pem in dict(section.get("platform_public_keys") or {}).items():
            keys[_norm_serial(key_id)] = PlatformKey(load_public_key(str(pem)))
            encrypt_serial = key_id  # WeChat recommends its public key over platform certificates
        if not keys:
            raise ProviderConfigError("wechat: no platform_certs or platform_public_keys")
        return cls(
            mchid=mchid,
            appid=appid,
            merchant_serial=merchant_serial,
            merchant_private_key=merchant_private_key,
            apiv3_key=apiv3_key,
            platform_keys=keys,
            base_url=section.get("base_url", BASE_URL),
            transfer_scene_id=str(section.get("transfer_scene_id", "1005")),
            transfer_job_type=str(section.get("transfer_job_type", "众包任务执行者")),
            user_recv_perception=str(section.get("user_recv_perception", "劳务报酬")),
            transfer_notify_url=section.get("transfer_notify_url"),
            encrypt_serial=encrypt_serial,
        )


class WechatClient:
    """Signs requests, verifies replies and notifications, decrypts resources. Shared by pay and payouts."""

    def __init__(self, config: WechatConfig, *, transport: Transport | None, now: Now) -> None:
        self.config = config
        self._transport = transport
        self._now = now

    # -- signatures

    def authorization(self, method: str, url_path: str, body: str) -> str:
        timestamp, nonce = str(int(self._now().timestamp())), secrets.token_hex(16).upper()
        message = f"{method}\n{url_path}\n{timestamp}\n{nonce}\n{body}\n"
        signature = rsa_sign(self.config.merchant_private_key, message.encode("utf-8"))
        return (
            f'{SIGNATURE_TYPE} mchid="{self.config.mchid}",nonce_str="{nonce}",signature="{signature}",'
            f'timestamp="{timestamp}",serial_no="{self.config.merchant_serial}"'
        )

    def verify_signed(self, headers: Mapping[str, str], body: bytes) -> None:
        """Raise BadSignature unless `body` carries a fresh, valid platform signature."""
        h = lower_headers(headers)
        signature, timestamp = h.get("wechatpay-signature"), h.get("wechatpay-timestamp")
        nonce, serial = h.get("wechatpay-nonce"), h.get("wechatpay-serial")
        if not (signature and timestamp and nonce and serial):
            raise BadSignature("missing_signature")
        if h.get("wechatpay-signature-type", SIGNATURE_TYPE) != SIGNATURE_TYPE:
            raise BadSignature("unsupported_signature_type", h["wechatpay-signature-type"])
        if not timestamp.isascii() or not timestamp.isdigit():
            raise BadSignature("bad_timestamp", timestamp)
        now = self._now()
        if abs(int(now.timestamp()) - int(timestamp)) > MAX_SKEW_S:
            raise BadSignature("stale_timestamp", timestamp)
        key = self.config.platform_keys.get(_norm_serial(serial))
        if key is None:
            raise BadSignature("unknown_serial", serial)
        if key.not_after is not None and key.not_after < now:
            raise BadSignature("expired_certificate", serial)
        message = timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n"
        if not rsa_verify(key.public_key, message, signature):
            raise BadSignature("invalid_signature")

    def decrypt(self, resource: Mapping[str, Any]) -> bytes:
        """AEAD_AES_256_GCM with the APIv3 key; the base64 ciphertext ends with the 16-byte tag."""
        if resource.get("algorithm") != "AEAD_AES_256_GCM":
            raise NotifyRejected("unsupported_algorithm", str(resource.get("algorithm")))
        nonce, ciphertext = resource.get("nonce"), resource.get("ciphertext")
        associated = resource.get("associated_data") or ""
        if not isinstance(nonce, str) or not isinstance(ciphertext, str) or not isinstance(associated, str):
            raise NotifyRejected("malformed", "resource fields")
        try:
            data = base64.b64decode(ciphertext, validate=True)
            return AESGCM(self.config.apiv3_key).decrypt(nonce.encode(), data, associated.encode())
        except (binascii.Error, ValueError, InvalidTag) as exc:
            raise NotifyRejected("decrypt_failed") from exc

    def encrypt_sensitive(self, text: str) -> tuple[str, str]:
        """RSA-OAEP (SHA-1, as WeChat specifies) with a platform key; returns (ciphertext b64, serial to send)."""
        key = self.config.platform_keys[_norm_serial(self.config.encrypt_serial)].public_key
        oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303
        return base64.b64encode(key.encrypt(text.encode("utf-8"), oaep)).decode("ascii"), self.config.encrypt_serial

    # -- HTTP

    def call(
        self, method: str, url_path: str, payload: Mapping[str, Any] | None = None, *, serial: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Send a signed request; return (status, JSON body) once the reply's signature checks out."""
        if self._transport is None:
            raise ProviderConfigError("wechat: no transport configured")
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")) if payload is not None else ""
        headers = {
            "Authorization": self.authorization(method, url_path, body),
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": "taskhall-payments",
        }
        if serial:
            headers["Wechatpay-Serial"] = serial
        response = self._transport(HttpRequest(method, self.config.base_url + url_path, headers, body.encode("utf-8")))
        retryable = response.status >= 500 or response.status == 429
        if response.header("wechatpay-signature") is None:
            # An unsigned 2xx is forged by definition; an unsigned error proves nothing either way.
            raise ProviderError("UNSIGNED_RESPONSE", f"HTTP {response.status}", retryable=retryable)
        try:
            self.verify_signed(response.headers, response.body)
        except BadSignature as exc:
            raise ProviderError("BAD_RESPONSE_SIGNATURE", exc.reason, retryable=False) from exc
        try:
            data = json.loads(response.body.decode("utf-8")) if response.body else {}
        except (UnicodeDecodeError, ValueError) as exc:
            raise ProviderError("MALFORMED_RESPONSE", f"HTTP {response.status}", retryable=retryable) from exc
        if not isinstance(data, dict):
            raise ProviderError("MALFORMED_RESPONSE", f"HTTP {response.status}", retryable=retryable)
        return response.status, data


def _error(status: int, reply: Mapping[str, Any]) -> ProviderError:
    return ProviderError(
        str(reply.get("code") or f"HTTP_{status}"),
        str(reply.get("message", "")),
        retryable=status >= 500 or status == 429,
    )


def _rfc3339(at: datetime) -> str:
    return at.astimezone(SHANGHAI).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------------- deposits


class WechatPayProvider:
    """Deposits by APP pay: prepay via `/v3/pay/transactions/app`, then the signed params for the app SDK."""

    channel: Channel = "wechat"

    def __init__(self, config: WechatConfig, *, transport: Transport | None, now: Now) -> None:
        self._client = WechatClient(config, transport=transport, now=now)
        self._config = config
        self._now = now

    def app_params(self, prepay_id: str) -> dict[str, str]:
        """调起支付 params; `sign` is RSA over "appid\\ntimestamp\\nnoncestr\\nprepayid\\n"."""
        timestamp, nonce = str(int(self._now().timestamp())), secrets.token_hex(16).upper()
        message = f"{self._config.appid}\n{timestamp}\n{nonce}\n{prepay_id}\n"
        return {
            "appid": self._config.appid,
            "partnerid": self._config.mchid,
            "prepayid": prepay_id,
            "package": "Sign=WXPay",
            "noncestr": nonce,
            "timestamp": timestamp,
            "sign": rsa_sign(self._config.merchant_private_key, message.encode("utf-8")),
        }

    def pay_params(self, intent: PayIntent) -> PayParams:
        order: dict[str, Any] = {
            "appid": self._config.appid,
            "mchid": self._config.mchid,
            "description": intent.subject,
            "out_trade_no": intent.deposit_id,
            "notify_url": intent.notify_url,
            "amount": {"total": intent.amount_fen, "currency": "CNY"},
        }
        if intent.expires_at is not None:
            order["time_expire"] = _rfc3339(intent.expires_at)
        status, reply = self._client.call("POST", "/v3/pay/transactions/app", order)
        prepay_id = reply.get("prepay_id")
        if status != 200 or not isinstance(prepay_id, str) or not prepay_id:
            raise _error(status, reply)
        return PayParams(channel="wechat", params=self.app_params(prepay_id))

    def verify_notification(self, body: bytes, headers: Mapping[str, str]) -> Notification:
        self._client.verify_signed(headers, body)
        try:
            envelope = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise NotifyRejected("malformed", "body is not JSON") from exc
        if not isinstance(envelope, dict) or envelope.get("resource_type") != "encrypt-resource":
            raise NotifyRejected("malformed", "resource_type")
        resource = envelope.get("resource")
        if not isinstance(resource, dict):
            raise NotifyRejected("malformed", "resource")
        if resource.get("original_type", "transaction") != "transaction":
            raise NotifyRejected("unsupported_event", str(resource.get("original_type")))
        try:
            txn = json.loads(self._client.decrypt(resource).decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise NotifyRejected("malformed", "resource plaintext") from exc
        if not isinstance(txn, dict):
            raise NotifyRejected("malformed", "transaction")
        return self._notification(txn)

    def _notification(self, txn: Mapping[str, Any]) -> Notification:
        if txn.get("mchid") != self._config.mchid:
            raise NotifyRejected("mchid_mismatch", str(txn.get("mchid")))
        if txn.get("appid") != self._config.appid:
            raise NotifyRejected("appid_mismatch", str(txn.get("appid")))
        status = _TRADE_STATE.get(str(txn.get("trade_state")))
        if status is None:
            raise NotifyRejected("unknown_trade_state", str(txn.get("trade_state")))
        out_trade_no, transaction_id = txn.get("out_trade_no"), txn.get("transaction_id", "")
        if not isinstance(out_trade_no, str) or not out_trade_no or not isinstance(transaction_id, str):
            raise NotifyRejected("malformed", "out_trade_no/transaction_id")
        if status == "success" and not transaction_id:
            raise NotifyRejected("malformed", "transaction_id missing")
        amount = txn.get("amount")
        total = amount.get("total") if isinstance(amount, dict) else None
        if not isinstance(total, int) or isinstance(total, bool) or total < 0:
            raise NotifyRejected("bad_amount", str(total))
        if isinstance(amount, dict) and amount.get("currency", "CNY") != "CNY":
            raise NotifyRejected("bad_amount", str(amount.get("currency")))
        return Notification(
            channel="wechat",
            out_trade_no=out_trade_no,
            provider_trade_no=transaction_id,
            amount_fen=total,
            status=status,
            raw=dict(txn),
        )

    def ack(self) -> NotifyAnswer:
        """WeChat v3: HTTP 200/204 with no body means received."""
        return NotifyAnswer(204, "application/json", b"")

    def nack(self, *, retryable: bool = True) -> NotifyAnswer:
        """Any 4xx/5xx makes WeChat resend; the body shape is `{"code": "FAIL", "message": "失败"}`."""
        body = json.dumps({"code": "FAIL", "message": "失败"}, ensure_ascii=False).encode("utf-8")
        return NotifyAnswer(500 if retryable else 400, "application/json; charset=utf-8", body)


# ---------------------------------------------------------------------------------------------- payouts


class WechatPayouts:
    """Withdrawals by 商家转账 发起转账 (`/v3/fund-app/mch-transfer/transfer-bills`), polled by out_bill_no."""

    channel: Channel = "wechat"

    def __init__(self, config: WechatConfig, *, transport: Transport, now: Now) -> None:
        self._client = WechatClient(config, transport=transport, now=now)
        self._config = config

    def build_bill(self, request: PayoutRequest) -> tuple[dict[str, Any], str | None]:
        bill: dict[str, Any] = {
            "appid": self._config.appid,
            "out_bill_no": out_bill_no(request.withdrawal_id),
            "transfer_scene_id": self._config.transfer_scene_id,
            "openid": request.account,
            "transfer_amount": request.amount_fen,
            "transfer_remark": request.remark[:32],
            "user_recv_perception": self._config.user_recv_perception,
            "transfer_scene_report_infos": [
                {"info_type": "岗位类型", "info_content": self._config.transfer_job_type},
                {"info_type": "报酬说明", "info_content": request.remark[:32]},
            ],
        }
        if self._config.transfer_notify_url:
            bill["notify_url"] = self._config.transfer_notify_url
        serial = None
        # WeChat checks the payee's real name when given (mandatory from 2,000 yuan; not allowed below 0.3 yuan).
        if request.real_name and request.amount_fen >= 30:
            bill["user_name"], serial = self._client.encrypt_sensitive(request.real_name)
        return bill, serial

    def submit(self, request: PayoutRequest) -> PayoutResult:
        bill, serial = self.build_bill(request)
        status, reply = self._client.call("POST", "/v3/fund-app/mch-transfer/transfer-bills", bill, serial=serial)
        if status != 200:
            # WeChat: after a non-200 never switch bill numbers; query the original to learn what happened.
            raise _error(status, reply)
        return self._result(request.withdrawal_id, reply)

    def query(self, withdrawal_id: str) -> PayoutResult:
        path = f"/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{out_bill_no(withdrawal_id)}"
        status, reply = self._client.call("GET", path)
        if status == 404 and reply.get("code") == "NOT_FOUND":
            return PayoutResult(withdrawal_id, "not_found", reason="NOT_FOUND", raw=reply)
        if status != 200:
            raise _error(status, reply)
        return self._result(withdrawal_id, reply)

    def _result(self, withdrawal_id: str, reply: Mapping[str, Any]) -> PayoutResult:
        state = str(reply.get("state", ""))
        ref = reply.get("transfer_bill_no")
        amount = reply.get("transfer_amount")
        amount_fen = amount if isinstance(amount, int) and not isinstance(amount, bool) else None
        if state == "SUCCESS":
            return PayoutResult(withdrawal_id, "paid", provider_ref=ref, amount_fen=amount_fen, raw=reply)
        if state in _TRANSFER_FINAL_FAIL:
            reason = str(reply.get("fail_reason") or state)
            return PayoutResult(
                withdrawal_id, "failed", provider_ref=ref, amount_fen=amount_fen, reason=reason, raw=reply
            )
        action = None
        if isinstance(reply.get("package_info"), str) and reply["package_info"]:
            # The app opens WeChat's receipt-confirmation page with these (WAIT_USER_CONFIRM).
            action = {"mchid": self._config.mchid, "appid": self._config.appid, "package_info": reply["package_info"]}
        # ACCEPTED, PROCESSING, WAIT_USER_CONFIRM, TRANSFERING, CANCELING: not final yet.
        return PayoutResult(
            withdrawal_id, "accepted", provider_ref=ref, amount_fen=amount_fen, user_action=action, raw=reply
        )
