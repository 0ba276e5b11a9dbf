"""Structured JSON logging (powertools Logger) with secrets redacted before they can reach a log line.

Redaction happens twice, because a record can leave by two ways:
- in the JSON serializer of our handler, on the finished log dict: the message (after `%` arguments are
  merged), `extra=` keys at any depth, keys appended with `append_keys`, and exception text;
- in a filter on the `taskhall` logger, on the record itself, so the message and extras are already redacted
  for any other handler the record propagates to (a root handler added later, pytest's capture).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from aws_lambda_powertools import Logger

MASK = "***"

# A key is sensitive when its whole name is one of these…
SENSITIVE_KEYS = frozenset(
    {
        "dev_code",
        "sms_code",
        "verification_code",
        "id_number",
        "id_no",
        "id_card",
        "real_name",
        "account",
        "account_no",
        "account_number",
        "payout_account",
        "private_key",
        "private_key_pem",
        "phone",
        "mobile",
        "x_taskhall_nonce",
    }
)
# …or when one of its `_`/`-`/`.`-separated words is one of these (`refresh_token`, `X-Taskhall-Signature`).
SENSITIVE_WORDS = frozenset(
    {"password", "passwd", "secret", "token", "otp", "authorization", "signature", "cookie", "credentials"}
)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # `Authorization: Bearer <token>` wherever it appears in text.
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=\-]+"), r"\1" + MASK),
    # A JWT on its own (three base64url parts, the first one a JSON header).
    (re.compile(r"\beyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), MASK),
    # `password=…`, `"otp": "…"` inside free text (query strings, JSON bodies quoted in messages).
    (
        re.compile(
            r"(?i)([\"']?\b(?:[a-z_\-]*(?:password|passwd|secret|token|otp)|authorization|signature|id_number)"
            r"[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic)\s+)?)([^\"'\s&,;}]+)"
        ),
        r"\1" + MASK,
    ),
    # Mainland resident ID numbers (18 characters): keep the region and the check digits only.
    (re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])"), r"\1********\2"),
    # Mainland mobile numbers: keep the prefix and the last four digits.
    (re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)"), r"\1****\2"),
)
_SPLIT = re.compile(r"[_\-.\s]+")


def is_sensitive_key(key: object) -> bool:
    name = str(key).strip().lower().replace("-", "_")
    if name in SENSITIVE_KEYS:
        return True
    return any(word in SENSITIVE_WORDS for word in _SPLIT.split(name))


def redact_text(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any) -> Any:
    """A copy of `value` with sensitive keys masked and secrets in strings replaced."""
    if isinstance(value, dict):
        return {k: (MASK if is_sensitive_key(k) and v not in (None, "") else redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", "replace"))
    if value is None or isinstance(value, bool | int | float):
        return value
    # Anything else (exceptions, datetimes, models) is logged as its text, and that text is redacted too.
    return redact_text(str(value))


def _serialize(log: dict[str, Any]) -> str:
    return json.dumps(redact(log), separators=(",", ":"), ensure_ascii=False)


_RECORD_FIELDS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class _RedactRecord(logging.Filter):
    """Redacts the record in place: its message (arguments merged in) and every `extra=` attribute."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            try:
                message = record.getMessage()
            except (TypeError, ValueError):  # bad %-arguments: let logging report it as usual
                return True
            record.msg, record.args = redact_text(message), None
        elif isinstance(record.msg, dict):
            record.msg = redact(record.msg)
        for key, value in list(record.__dict__.items()):
            if key not in _RECORD_FIELDS:
                record.__dict__[key] = MASK if is_sensitive_key(key) else redact(value)
        return True


logger = Logger(service="taskhall", utc=True, json_serializer=_serialize)
logger.addFilter(_RedactRecord())
