"""One-time codes: `OTP#<phone hmac>` / `OTP#<purpose>`, the code stored as an HMAC, with a try counter.

A check first *spends* a try (conditional ADD that refuses past the limit, the expiry, or a missing code)
and only then compares, so even concurrent guesses get at most `max_attempts` comparisons per code.
A correct code is consumed by a conditional delete, so it works exactly once.
"""

from __future__ import annotations

from enum import Enum

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, UpdateError

from chalicelib.store import keys
from chalicelib.store.base import Item


class OtpItem(Item, discriminator="otp"):
    purpose = UnicodeAttribute()
    code_hash = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    created_at = UnicodeAttribute()


class Spent(Enum):
    MISSING = "missing"  # never sent, used, or past its life
    EXHAUSTED = "exhausted"  # too many wrong tries: the code is dead


def put(phone_hash: str, purpose: str, code_hash: str, *, now_iso: str, expires_at: int) -> None:
    """Store a fresh code; it replaces any earlier one for the same phone and purpose."""
    pk, sk = keys.otp(phone_hash, purpose)
    OtpItem(pk, sk, purpose=purpose, code_hash=code_hash, attempts=0, created_at=now_iso, expires_at=expires_at).save()


def spend_attempt(phone_hash: str, purpose: str, *, now_ts: int, max_attempts: int) -> tuple[str, int] | Spent:
    """Use one try. Returns (stored code hash, tries used) or why no try is left."""
    pk, sk = keys.otp(phone_hash, purpose)
    item = OtpItem(pk, sk)
    try:
        item.update(
            actions=[OtpItem.attempts.add(1)],
            condition=OtpItem.PK.exists() & (OtpItem.attempts < max_attempts) & (OtpItem.expires_at > now_ts),
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        try:
            current = OtpItem.get(pk, sk, consistent_read=True)
        except OtpItem.DoesNotExist:
            return Spent.MISSING
        if int(current.expires_at or 0) > now_ts and int(current.attempts or 0) >= max_attempts:
            return Spent.EXHAUSTED
        return Spent.MISSING
    return item.code_hash, int(item.attempts)


def consume(phone_hash: str, purpose: str, code_hash: str) -> bool:
    """Delete the code if it is still the one that was matched; False if someone else got there first."""
    pk, sk = keys.otp(phone_hash, purpose)
    try:
        OtpItem(pk, sk).delete(condition=OtpItem.code_hash == code_hash)
    except DeleteError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
