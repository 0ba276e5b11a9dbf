"""SMS verification codes: send (rate limited per phone and per IP) and check (at most five tries, one use).

Limits (docs/decisions/0022-otp-rate-limits-and-lockout.md): per phone one code per 60 s and 10 per day; per IP
30 per 10 minutes and 200 per day (generous, because mobile carriers put many people behind one address).
A code lives 5 minutes; the fifth wrong try kills it. Codes are stored only as an HMAC bound to the phone
and purpose. A code is sent whether or not the phone has an account, so the answer reveals nothing.
"""

from __future__ import annotations

import hmac
import secrets as _random

from chalicelib.adapters import clock, crypto, sms
from chalicelib.config import settings
from chalicelib.domain.errors import Invalid
from chalicelib.domain.identity import normalize_phone
from chalicelib.services import limits
from chalicelib.store import otp as otp_store
from chalicelib.store import ratelimit

PURPOSES = ("register", "login", "reset")
CODE_DIGITS = 6
LIFE_S = 300
MAX_ATTEMPTS = 5
RESEND_AFTER_S = 60
PHONE_PER_DAY = 10
IP_PER_10_MIN = 30
IP_PER_DAY = 200
_TOO_OFTEN = "验证码发送过于频繁，请稍后再试"


def _code_hash(phone_hash: str, purpose: str, code: str) -> str:
    return crypto.blind_index("otp", f"{phone_hash}:{purpose}:{code}")


def request_code(phone_raw: str, purpose: str, *, ip: str) -> str:
    """Create and send a code. Returns the code so local stages can echo it; callers must not log it."""
    if purpose not in PURPOSES:
        raise Invalid({"purpose": "取值应为 register、login、reset 之一"})
    phone = normalize_phone(phone_raw)
    phone_hash = crypto.blind_index("phone", phone)
    # Per phone first: a refused minute-limit should not use up the day's or the address's allowance.
    ratelimit.hit("otp-phone", phone_hash, 1, RESEND_AFTER_S, code="OTP_TOO_FREQUENT", message=_TOO_OFTEN)
    daily = "该手机号今日获取验证码次数已达上限，请明天再试"
    ratelimit.hit("otp-phone-day", phone_hash, PHONE_PER_DAY, 86400, code="OTP_DAILY_LIMIT", message=daily)
    limits.hit_ip("otp-ip", ip, IP_PER_10_MIN, 600, code="OTP_TOO_FREQUENT", message=_TOO_OFTEN)
    limits.hit_ip("otp-ip-day", ip, IP_PER_DAY, 86400, code="OTP_TOO_FREQUENT", message=_TOO_OFTEN)
    code = f"{_random.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    now = clock.now()
    otp_store.put(
        phone_hash,
        purpose,
        _code_hash(phone_hash, purpose, code),
        now_iso=now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        expires_at=int(now.timestamp()) + LIFE_S,
    )
    sms.sender().send_otp(phone, code, purpose)
    return code


def dev_code_visible() -> bool:
    """Only the local stages hand the code back in the response (API.md, Local stage)."""
    return settings().is_local


def verify(phone: str, purpose: str, code: str, field: str = "otp") -> None:
    """Check and consume a code for an already normalised phone; raise `Invalid` (422) naming the field."""
    phone_hash = crypto.blind_index("phone", phone)
    spent = otp_store.spend_attempt(phone_hash, purpose, now_ts=clock.now_ts(), max_attempts=MAX_ATTEMPTS)
    if spent is otp_store.Spent.MISSING:
        raise Invalid({field: "验证码无效或已过期，请重新获取"}, code="OTP_EXPIRED")
    if spent is otp_store.Spent.EXHAUSTED:
        raise Invalid({field: "验证码错误次数过多，已失效，请重新获取"}, code="OTP_LOCKED")
    stored, used = spent
    if not hmac.compare_digest(stored, _code_hash(phone_hash, purpose, (code or "").strip())):
        left = MAX_ATTEMPTS - used
        if left <= 0:
            raise Invalid({field: "验证码错误次数过多，已失效，请重新获取"}, code="OTP_LOCKED")
        raise Invalid({field: f"验证码错误，还可尝试 {left} 次"}, code="OTP_INVALID")
    if not otp_store.consume(phone_hash, purpose, stored):
        raise Invalid({field: "验证码无效或已过期，请重新获取"}, code="OTP_EXPIRED")
