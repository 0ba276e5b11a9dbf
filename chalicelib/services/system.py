"""System use cases: health and the local stage's clock."""

from __future__ import annotations

from datetime import datetime

from chalicelib.adapters import clock
from chalicelib.adapters.log import logger
from chalicelib.domain.errors import Conflict, ServiceUnavailable


def health() -> dict[str, str]:
    """One real read of the table; any failure to reach it is `503 TABLE_UNAVAILABLE`."""
    from chalicelib.store import system as system_store  # the table client, on first use only

    try:
        system_store.ping_table()
    except Exception as exc:  # any failure to reach the table is "unavailable", logged with its type
        logger.warning("health check failed", extra={"error_type": type(exc).__name__})
        raise ServiceUnavailable("TABLE_UNAVAILABLE", "数据存储暂时不可用") from None
    return {"status": "ok", "time": clock.now().isoformat().replace("+00:00", "Z")}


def advance_clock(seconds: int) -> tuple[datetime, list[str], list[str]]:
    """Move the stage clock forward, then run every schedule that is due (local stages only).

    Returns the new time, the jobs that ran and the jobs that failed (they retry on the next advance or tick).
    """
    from chalicelib.services import schedules

    try:
        new_now = clock.advance(seconds)
    except RuntimeError:  # no clock file: this process was started without the local stack's shared clock
        raise Conflict("CLOCK_NOT_ADJUSTABLE", "当前环境的时钟不可调整") from None
    due = schedules.run_all_due(new_now)
    return new_now, due.ran, due.failed
