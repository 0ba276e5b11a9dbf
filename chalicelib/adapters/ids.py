"""Opaque, prefixed, time-sortable ids (`usr_01J…`): 48-bit ms timestamp + 80 random bits, Crockford base32.

The timestamp comes from the stage clock so ids sort in stage time, which is what listings order by. Within
one millisecond of one process the random part counts up (ULID's monotonic mode), so ids made one after
another still sort in the order they were made — tests pin the clock, and a busy Lambda makes many per ms.
"""

from __future__ import annotations

import secrets
import threading

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


_RANDOM_BITS = 80
_lock = threading.Lock()
_last: tuple[int, int] = (-1, 0)  # (ms, random part) of the previous id


def ulid() -> str:
    """26 characters: 10 for the millisecond timestamp, 16 for the (monotonic within a ms) random part."""
    global _last
    ms = clock.now_ms() & ((1 << 48) - 1)
    with _lock:
        last_ms, last_rnd = _last
        if ms == last_ms and last_rnd + 1 < (1 << _RANDOM_BITS):
            rnd = last_rnd + 1
        else:
            # A new millisecond (or the clock was pinned earlier by a test): fresh randomness, top bit clear
            # so that counting up within the millisecond cannot overflow in practice.
            rnd = secrets.randbits(_RANDOM_BITS - 1)
        _last = (ms, rnd)
    return _b32(ms, 10) + _b32(rnd, 16)


def new_id(prefix: str) -> str:
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    return f"{prefix}_{ulid()}"


def token(nbytes: int = 32) -> str:
    """URL-safe random secret (refresh tokens, webhook secrets, nonces)."""
    return secrets.token_urlsafe(nbytes)
