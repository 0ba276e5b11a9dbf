"""Test-only scheduled jobs (targets for `services.schedules.Job`): they record what they were called with."""

from __future__ import annotations

from datetime import datetime

CALLS: list[tuple[str, datetime]] = []
FAIL_ONCE: set[tuple[str, datetime | None]] = set()  # (job, boundary) to fail once; None = the next call


def _record(name: str, at: datetime) -> None:
    for wanted in ((name, at), (name, None)):
        if wanted in FAIL_ONCE:
            FAIL_ONCE.discard(wanted)
            raise RuntimeError(f"{name} failed at {at.isoformat()}")
    CALLS.append((name, at))


def daily(at: datetime) -> None:
    _record("daily", at)


def weekly(at: datetime) -> None:
    _record("weekly", at)


def monthly(at: datetime) -> None:
    _record("monthly", at)


def hourly(at: datetime) -> None:
    _record("hourly", at)


def reset() -> None:
    CALLS.clear()
    FAIL_ONCE.clear()
