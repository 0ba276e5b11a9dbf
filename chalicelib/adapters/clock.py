"""The stage clock: the one source of "now" for services, schedules and ids.

In AWS it is the system clock. In stage `local` an offset (seconds) kept in a small file shared by the API
process and the pump lets `POST /v1/sandbox/clock` move time forward for everyone. Tests pin or advance it
in-process instead of sleeping.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta

from chalicelib.config import settings

_lock = threading.Lock()
_pinned: datetime | None = None  # tests: a fixed "now" that only moves when told
_file_cache: tuple[float, int] | None = None  # (mtime, offset_s)


def _file_offset_s() -> int:
    global _file_cache
    path = settings().clock_file
    if not path:
        return 0
    try:
        mtime = os.stat(path).st_mtime
    except FileNotFoundError:
        return 0
    cached = _file_cache
    if cached and cached[0] == mtime:
        return cached[1]
    with open(path, encoding="ascii") as fh:
        text = fh.read().strip()
    offset = int(text or 0)
    _file_cache = (mtime, offset)
    return offset


def now() -> datetime:
    """Aware UTC now on the stage clock."""
    if _pinned is not None:
        return _pinned
    return datetime.now(UTC) + timedelta(seconds=_file_offset_s())


def iso(at: datetime) -> str:
    """Sortable UTC RFC 3339 text of an aware time (microseconds, `Z`): what the table stores and sorts by."""
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def now_iso() -> str:
    """`iso` of the stage clock's now."""
    return iso(now())


def now_ts() -> int:
    """Unix seconds on the stage clock."""
    return int(now().timestamp())


def now_ms() -> int:
    return int(now().timestamp() * 1000)


def advance(seconds: int) -> datetime:
    """Move the stage clock forward (local stages only; never backwards)."""
    global _pinned, _file_cache
    if seconds < 0:
        raise ValueError("the clock never goes backwards")
    with _lock:
        if _pinned is not None:
            _pinned = _pinned + timedelta(seconds=seconds)
            return _pinned
        path = settings().clock_file
        if not path:
            raise RuntimeError("no CLOCK_FILE configured: the clock can only move in a local stage")
        offset = _file_offset_s() + int(seconds)
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="ascii") as fh:
            fh.write(str(offset))
        os.replace(tmp, path)
        _file_cache = None
    return now()


def pin(at: datetime | None) -> None:
    """Tests: freeze the clock at ``at`` (aware); ``None`` releases it."""
    global _pinned
    if at is not None and at.tzinfo is None:
        raise ValueError("pin() needs an aware datetime")
    _pinned = at


def monotonic() -> float:
    return time.monotonic()
