"""Fixtures for the desk's tests: funded merchants and tasks walked through the API (shared with the task tests)."""

from __future__ import annotations

from tests.api.money.conftest import fund, sandbox_provider  # noqa: F401
from tests.api.tasks.conftest import accounts, market  # noqa: F401
