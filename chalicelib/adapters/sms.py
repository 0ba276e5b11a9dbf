"""Sending SMS. `dev` (the default) writes to the log; a real provider replaces it per stage via `SMS_PROVIDER`.

The dev sender prints the verification code into the log only in the local stages (local, test), where
API.md promises "printed to the server log"; in any other stage it logs that a message was sent, never the
code. Phones are logged masked.
"""

from __future__ import annotations

import os
from typing import Protocol

from chalicelib.adapters.log import logger
from chalicelib.config import settings
from chalicelib.domain.identity import mask_phone

OTP_TEMPLATE = "otp"


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


def sender() -> SmsSender:
    name = os.environ.get("SMS_PROVIDER", "dev")
    if name == "dev":
        return DevSms()
    raise RuntimeError(f"unknown SMS_PROVIDER {name!r}")
