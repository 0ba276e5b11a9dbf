"""Imports every module that registers stream consumers or job handlers (see `services/events.py`)."""

from __future__ import annotations

from chalicelib.services import (
    finance,  # noqa: F401  (finance rollups from transfers)
    notifications,  # noqa: F401  (money notifications)
)
