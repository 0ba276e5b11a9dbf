"""Per-address rate limits, shared by the identity use cases (and any later feature that limits by IP).

Addresses are limited through a blind index, never stored in clear. In stage `local` loopback addresses are
exempt: everything a developer (or the e2e suite) does comes from 127.0.0.1, and per-IP limits there would
only measure how long the stack has been running. The `test` stage keeps them, so they stay tested.
"""

from __future__ import annotations

import ipaddress

from chalicelib.adapters import crypto
from chalicelib.config import settings
from chalicelib.store import ratelimit


def _exempt(ip: str) -> bool:
    if settings().stage != "local":
        return False
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def hit_ip(
    name: str, ip: str, limit: int, window_s: int, *, code: str | None = None, message: str | None = None
) -> None:
    """Count one event from `ip` under `name`; raise `RateLimited` past `limit` per `window_s`."""
    if _exempt(ip):
        return
    ratelimit.hit(name, crypto.blind_index("ip", ip), limit, window_s, code=code, message=message)
