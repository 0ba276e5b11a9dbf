"""Opaque, prefixed, time-sortable ids (`usr_01J…`): 48-bit ms timestamp + 80 random bits, Crockford base32.

The timestamp comes from the stage clock so ids sort in stage time, which is what listings order by.
"""

from __future__ import annotations

import secrets

from chalicelib.adapters import clock

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

PREFIXES = frozenset(
    {"usr", "tsk", "clm", "dep", "wdr", "dsp", "whk", "dlv", "flg", "aud", "req", "ntf", "upl", "mbr", "rpt", "fam"}
)


def _b32(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def ulid() -> str:
    ms = clock.now_ms() & ((1 << 48) - 1)
    rnd = secrets.randbits(80)
    return _b32(ms, 10) + _b32(rnd, 16)


def new_id(prefix: str) -> str:
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    return f"{prefix}_{ulid()}"


def token(nbytes: int = 32) -> str:
    """URL-safe random secret (refresh tokens, webhook secrets, nonces)."""
    return secrets.token_urlsafe(nbytes)
