"""Sending SMS. `dev` (the default) writes to the log; `aliyun` sends through Alibaba Cloud SMS (`SendSms`).

The provider is chosen per stage with `SMS_PROVIDER`. The dev sender prints the verification code into the
log only in the local stages (local, test), where API.md promises "printed to the server log"; in any other
stage it logs that a message was sent, never the code. Phones are logged masked.

Aliyun: an RPC-style GET to `dysmsapi.aliyuncs.com` signed per Alibaba Cloud's signature version 1.0
(HMAC-SHA1 over `GET&%2F&<percent-encoded sorted query>`, key `<AccessKeySecret>&`). Credentials live in the
providers secret under `aliyun_sms`: `access_key_id`, `access_key_secret`, `sign_name`, `template_code`
(a template with one `${code}` variable), optional `endpoint`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from chalicelib.adapters import clock
from chalicelib.adapters.log import logger
from chalicelib.config import settings
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.identity import mask_phone

ALIYUN_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
ALIYUN_VERSION = "2017-05-25"


class SmsSender(Protocol):
    def send_otp(self, phone: str, code: str, purpose: str) -> None: ...


class DevSms:
    """Logs instead of sending."""

    def send_otp(self, phone: str, code: str, purpose: str) -> None:
        if settings().is_local:
            # Deliberately in the message text (the redacting filter masks `code` keys, not this line).
            logger.info(f"dev SMS to {mask_phone(phone)}: verification code {code} ({purpose})")
        else:
            logger.info("dev SMS sent (code withheld outside local stages)", extra={"purpose": purpose})


def percent_encode(value: str) -> str:
    """Alibaba Cloud's POP encoding: RFC 3986 unreserved characters kept, everything else %XX (UTF-8)."""
    return urllib.parse.quote(value, safe="-_.~")


def aliyun_string_to_sign(params: dict[str, str], method: str = "GET") -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"


def aliyun_signature(params: dict[str, str], access_key_secret: str, method: str = "GET") -> str:
    digest = hmac.new(
        f"{access_key_secret}&".encode(), aliyun_string_to_sign(params, method).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode("ascii")


Transport = Callable[[str], tuple[int, bytes]]  # URL → (HTTP status, body)


def _urllib_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - a fixed https endpoint
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class AliyunSms:
    def __init__(self, config: dict[str, Any], transport: Transport | None = None) -> None:
        missing = [k for k in ("access_key_id", "access_key_secret", "sign_name", "template_code") if not config.get(k)]
        if missing:
            raise RuntimeError(f"providers secret aliyun_sms lacks {missing}")
        self.config = config
        self.transport = transport or _urllib_get

    def request_url(self, phone: str, code: str, *, nonce: str | None = None, timestamp: str | None = None) -> str:
        params = {
            "AccessKeyId": self.config["access_key_id"],
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": "cn-hangzhou",
            "SignName": self.config["sign_name"],
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce or uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": self.config["template_code"],
            "TemplateParam": json.dumps({"code": code}, separators=(",", ":")),
            "Timestamp": timestamp or clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": ALIYUN_VERSION,
        }
        signature = aliyun_signature(params, self.config["access_key_secret"])
        query = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in params.items())
        endpoint = self.config.get("endpoint") or ALIYUN_ENDPOINT
        return f"{endpoint}?Signature={percent_encode(signature)}&{query}"

    def send_otp(self, phone: str, code: str, purpose: str) -> None:
        status, body = self.transport(self.request_url(phone, code))
        try:
            answer = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            answer = {}
        if status == 200 and answer.get("Code") == "OK":
            logger.info("SMS sent", extra={"provider": "aliyun", "purpose": purpose, "biz_id": answer.get("BizId")})
            return
        logger.warning(
            "SMS provider refused",
            extra={"provider": "aliyun", "http_status": status, "provider_code": answer.get("Code")},
        )
        raise ServiceUnavailable("SMS_SEND_FAILED", "短信发送失败，请稍后重试")


def sender() -> SmsSender:
    name = os.environ.get("SMS_PROVIDER", "dev")
    if name == "dev":
        return DevSms()
    if name == "aliyun":
        from chalicelib.adapters import secrets

        return AliyunSms(secrets.provider_secrets().get("aliyun_sms") or {})
    raise RuntimeError(f"unknown SMS_PROVIDER {name!r}")
