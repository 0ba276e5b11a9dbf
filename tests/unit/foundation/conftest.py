"""Unit-test helpers for the request machinery."""

from __future__ import annotations

from tests.unit.foundation.logcapture import log_lines

__all__ = ["log_lines"]
