"""Structured JSON logging (powertools Logger) with secrets redacted before they can reach a log line."""

from __future__ import annotations

import logging
import re
from typing import Any

from aws_lambda_powertools import Logger

# Keys whose values never appear in logs, wherever they occur in a record's extras.
SENSITIVE_KEYS = frozenset(
    {
        "password",
        "new_password",
        "otp",
        "code",
        "dev_code",
        "token",
        "access_token",
        "refresh_token",
        "authorization",
        "id_number",
        "account",
        "account_no",
        "secret",
        "private_key",
        "signature",
        "phone",
    }
)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._\-]+")
_ID18 = re.compile(r"\b(\d{6})\d{8}(\d{3}[\dXx])\b")


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("***" if str(k).lower() in SENSITIVE_KEYS else _redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    if isinstance(value, str):
        return _ID18.sub(r"\1********\2", _BEARER.sub(r"\1***", value))
    return value


class _RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key in list(record.__dict__):
            if key.lower() in SENSITIVE_KEYS:
                record.__dict__[key] = "***"
        if isinstance(record.msg, str):
            record.msg = _redact(record.msg)
        elif isinstance(record.msg, dict):
            record.msg = _redact(record.msg)
        return True


logger = Logger(service="taskhall", utc=True)
logger.addFilter(_RedactFilter())
