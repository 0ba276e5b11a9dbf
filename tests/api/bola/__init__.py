"""The BOLA matrix's fixture table: for every route with a path id, how to make an object and who may touch it.

`tests/api/test_bola.py` enumerates the app's routes (`app.app.routes`); every route whose path has a `{param}`
must have a `Case` here, or the test fails. Each feature keeps its cases in its own module in this package
(`identity.py`, `tasks.py`, …) as `CASES: dict[tuple[method, path], Case]`; modules are discovered, so adding a
feature never means editing another feature's file.

A case says:
- `make(world)` → `Made(params, owner)`: create the object (as its owner would) and return the path params;
- for objects a person owns: a second user of the owner's role must get 404 (`intruder="same"`), users of
  the `wrong_roles` 403 or 404, and the owner must succeed (so the 404 is not vacuous);
- for the desk's shared objects (`/v1/admin/...`): any staff of the allowed roles may act
  (`intruder="staff:<role>"`, expected to succeed), every other role gets 403, the object's owner included;
- `exempt="why"` for a path parameter that is not an object anyone owns (e.g. a payment channel name).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Made:
    params: dict[str, str]
    owner: Any  # tests.api.identity.factory.Account


@dataclass
class World:
    api: Any
    users: Any  # AccountFactory
    cache: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    make: Callable[[World], Made] | None = None
    intruder: str = "same"  # "same" (owner's role, expects 404) or "staff:<role>" (shared desk object, expects success)
    wrong_roles: tuple[str, ...] = ()
    owner_ok: bool = True  # desk routes: False — the object's owner is not staff and gets 403
    body: dict[str, Any] | None = None
    exempt: str = ""
    headers: dict[str, str] | None = None  # e.g. an Idempotency-Key for routes that require one (per caller)


def all_cases() -> dict[tuple[str, str], Case]:
    cases: dict[tuple[str, str], Case] = {}
    for mod in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{mod.name}")
        for key, case in getattr(module, "CASES", {}).items():
            if key in cases:
                raise ValueError(f"two BOLA cases for {key}")
            cases[key] = case
    return cases
