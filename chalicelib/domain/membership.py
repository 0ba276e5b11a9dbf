"""Merchant membership rules, pure: plans, prices, how a purchase extends the paid period, and status."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

DEFAULT_MONTHLY_FEN = 9_900
PERIOD = {"monthly": timedelta(days=30)}  # a "month" is 30 days of stage time, the same length for everyone


class Status(StrEnum):
    NONE = "none"  # never bought
    ACTIVE = "active"
    EXPIRED = "expired"


def period(plan: str, active_until: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The period a purchase at `now` pays for: from the current end while still active (renewing early loses
    nothing), else from now."""
    start = active_until if active_until is not None and active_until > now else now
    return start, start + PERIOD[plan]


def status(active_until: str | None, now_iso: str) -> Status:
    """Active strictly before `active_until`: reading the date is the authority, the expiry job only tidies."""
    if active_until is None:
        return Status.NONE
    return Status.ACTIVE if now_iso < active_until else Status.EXPIRED


def transfer_id(merchant_id: str, seq: int) -> str:
    """The n-th paid period of a merchant: two purchases racing for the same n collide here, and one retries."""
    return f"membership:{merchant_id}:{seq}"
