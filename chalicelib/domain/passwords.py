"""Minimum password strength: long enough, letters and digits, not the phone, not a well-known password."""

from __future__ import annotations

import re

from chalicelib.domain.errors import Invalid

MIN_LENGTH = 8
MAX_LENGTH = 64  # argon2 hashes any length, but an unbounded field invites memory-hungry requests

# The passwords that top every leaked-password list in China and abroad, in the shapes our rules let through
# (letters + digits, 8+ characters). Compared case-insensitively.
COMMON_PASSWORDS = frozenset(
    {
        "password1", "password123", "passw0rd", "p@ssw0rd", "qwerty123", "qwer1234", "qwertyuiop1",
        "abc12345", "abcd1234", "abc123456", "a1234567", "a12345678", "a123456789", "aa123456", "aa12345678",
        "1234qwer", "1qaz2wsx", "1q2w3e4r", "1q2w3e4r5t", "zxcvbnm1", "asdf1234", "asd12345", "admin123",
        "woaini1314", "woaini520", "iloveyou1", "5201314a", "a5201314", "q1w2e3r4", "12345678a", "123456789a",
        "1234567a", "123456abc", "123qweasd", "qweasd123", "zxc123456", "qaz123456", "taskhall1", "test1234",
        "welcome1", "letmein1", "dragon123", "monkey123", "baseball1", "football1", "sunshine1", "princess1",
    }
)  # fmt: skip


def check_strength(password: str, phone: str | None = None, field: str = "password") -> None:
    """Raise `Invalid(WEAK_PASSWORD)` with the first rule the password breaks, in words the user can act on."""

    def weak(message: str) -> Invalid:
        return Invalid({field: message}, code="WEAK_PASSWORD", message="密码强度不足：" + message)

    if len(password) < MIN_LENGTH:
        raise weak(f"密码至少需要 {MIN_LENGTH} 位")
    if len(password) > MAX_LENGTH:
        raise weak(f"密码不能超过 {MAX_LENGTH} 位")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"[0-9]", password):
        raise weak("密码需同时包含字母和数字")
    if phone and phone[-8:] in password:
        raise weak("密码不能包含手机号")
    if password.lower() in COMMON_PASSWORDS:
        raise weak("这个密码过于常见，很容易被猜到，请换一个")
