"""Helpers for the identity API tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.identity.factory import PASSWORD, new_phone


class Flow:
    """Small verbs over the API: request a code, register, log in."""

    def __init__(self, api: Any, clock: Any) -> None:
        self.api = api
        self.clock = clock

    def code(self, phone: str, purpose: str = "register") -> str:
        self.clock.advance(61)  # one code per phone per minute
        reply = self.api.post("/v1/auth/otp", {"phone": phone, "purpose": purpose})
        assert reply.status == 200, reply.body
        return reply.json["dev_code"]

    def register(self, phone: str | None = None, role: str = "worker", password: str = PASSWORD, **extra: Any):
        phone = phone or new_phone()
        body = {"phone": phone, "password": password, "otp": self.code(phone), "role": role, **extra}
        return self.api.post("/v1/auth/register", body, headers={"X-Device-Id": "dev-test-1"})

    def login(self, phone: str, password: str = PASSWORD, **kw: Any):
        return self.api.post("/v1/auth/login", {"phone": phone, "password": password}, **kw)


@pytest.fixture
def flow(api: Any, clock: Any) -> Flow:
    return Flow(api, clock)


@pytest.fixture
def phone() -> str:
    return new_phone()
