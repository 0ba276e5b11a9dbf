"""System use cases: health and the local stage's clock."""

from __future__ import annotations

from datetime import datetime

from chalicelib.adapters import clock
from chalicelib.adapters.log import logger
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.store import system as system_store


def health() -> dict[str, str]:
    try:
        system_store.ping_table()
    except Exception as exc:  # any failure to reach the table is "unavailable", logged with its type
        logger.warning("health check failed", extra={"error_type": type(exc).__name__})
        raise ServiceUnavailable("TABLE_UNAVAILABLE", "数据存储暂时不可用") from None
    return {"status": "ok", "time": clock.now().isoformat().replace("+00:00", "Z")}


def advance_clock(seconds: int) -> datetime:
    """Move the stage clock forward, then run every schedule that is due (local stages only)."""
    from chalicelib.services import schedules

    new_now = clock.advance(seconds)
    schedules.run_due(new_now)
    return new_now
