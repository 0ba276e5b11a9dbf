"""Capture the JSON lines the app's powertools logger writes (its handler keeps the stream it was built with)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.adapters.log import logger


class LogLines:
    """The JSON lines written while the fixture was active, parsed."""

    def __init__(self, buffer: io.StringIO) -> None:
        self._buffer = buffer

    @property
    def text(self) -> str:
        return self._buffer.getvalue()

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def with_message(self, message: str) -> list[dict[str, Any]]:
        return [line for line in self.all() if line.get("message") == message]


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    buffer = io.StringIO()
    handler = logger.registered_handler
    old_stream = handler.setStream(buffer)  # type: ignore[attr-defined]
    try:
        yield LogLines(buffer)
    finally:
        handler.setStream(old_stream)  # type: ignore[attr-defined]
