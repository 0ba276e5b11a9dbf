"""Exact conversion between integer fen and the yuan strings Alipay speaks ("12.34"); no float anywhere."""

from __future__ import annotations

import re

# Plain decimal yuan: no sign, no leading zeros, no exponent, at most two decimals, ASCII digits only
# (`\d` would also match other scripts' digits).
_YUAN = re.compile(r"(0|[1-9][0-9]{0,12})(?:\.([0-9]{1,2}))?", re.ASCII)


class InvalidAmount(ValueError):
    """A yuan string or fen value that is not an exact, non-negative amount."""


def yuan_to_fen(text: str) -> int:
    """ "12.34" → 1234, "12.3" → 1230, "0.01" → 1; rejects "1.234", "-1", "1e3", " 1", "01.00"."""
    if not isinstance(text, str):
        raise InvalidAmount(f"expected a string, got {type(text).__name__}")
    match = _YUAN.fullmatch(text)
    if match is None:
        raise InvalidAmount(f"not an exact yuan amount: {text!r}")
    whole, frac = match.group(1), match.group(2) or ""
    return int(whole) * 100 + int(frac.ljust(2, "0"))


def fen_to_yuan(fen: int) -> str:
    """1234 → "12.34", 1 → "0.01", 100 → "1.00"."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise InvalidAmount(f"expected int fen, got {type(fen).__name__}")
    if fen < 0:
        raise InvalidAmount("amounts are never negative")
    return f"{fen // 100}.{fen % 100:02d}"
