"""The identity provider that confirms a name matches an ID number (公安实名核验). Sandbox outside production.

The sandbox is deterministic so tests and the local product can exercise every outcome:
- a name containing 假 ("fake") does not match its ID number → `matched=False`;
- a name containing 停 ("down") makes the provider unavailable → `ServiceUnavailable` (503, safe to retry);
- anything else matches.
Production must configure a real provider (`IDP_PROVIDER`); the sandbox refuses to answer in `prod`, so a
missing configuration fails closed instead of verifying everyone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol

from chalicelib.config import settings
from chalicelib.domain.errors import ServiceUnavailable


@dataclass(frozen=True)
class IdpResult:
    matched: bool
    provider: str
    reference: str  # the provider's transaction reference, kept for disputes


class IdentityProvider(Protocol):
    def verify(self, name: str, id_number: str) -> IdpResult: ...


class SandboxIdp:
    name = "sandbox"

    def verify(self, name: str, id_number: str) -> IdpResult:
        if settings().stage == "prod":
            raise ServiceUnavailable("IDP_NOT_CONFIGURED", "实名认证服务暂不可用，请稍后再试")
        if "停" in name:
            raise ServiceUnavailable("IDP_UNAVAILABLE", "实名认证服务暂不可用，请稍后再试")
        return IdpResult(matched="假" not in name, provider=self.name, reference=f"sandbox-{id_number[-4:]}")


def provider() -> IdentityProvider:
    name = os.environ.get("IDP_PROVIDER", "sandbox")
    if name == "sandbox":
        return SandboxIdp()
    raise RuntimeError(f"unknown IDP_PROVIDER {name!r}")
