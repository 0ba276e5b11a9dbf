"""Who a caller is, as the domain sees it: id, role, status. No tokens, no HTTP."""

from __future__ import annotations

from dataclasses import dataclass

PUBLIC_ROLES = ("worker", "merchant")
# Roles inside the operator's desk. `admin` can do everything; `reviewer` reviews tasks and merchants;
# `finance` reads finance views.
ADMIN_ROLES = ("admin", "reviewer", "finance")
ALL_ROLES = PUBLIC_ROLES + ADMIN_ROLES


@dataclass(frozen=True)
class Caller:
    id: str
    role: str
    status: str = "active"  # active | frozen
    via: str = "token"  # token | signature (merchant server API)

    @property
    def frozen(self) -> bool:
        return self.status == "frozen"

    @property
    def is_staff(self) -> bool:
        return self.role in ADMIN_ROLES
