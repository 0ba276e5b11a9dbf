"""Imports every module that registers stream consumers or job handlers (see `services/events.py`)."""

from __future__ import annotations

from chalicelib.services import (
    credit,  # noqa: F401  (credit score from claim outcomes)
    finance,  # noqa: F401  (finance rollups from transfers)
    hall,  # noqa: F401  (task hall entries follow free slots)
    notifications,  # noqa: F401  (money notifications)
)
