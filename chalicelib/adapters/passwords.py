"""Password hashing with argon2id (argon2-cffi), and a constant-cost check for accounts that do not exist.

Production parameters: t=2, m=64 MiB, p=1 (above OWASP's m=19 MiB, t=2, p=1 floor; measured cost in
docs/decisions/0023-passwords.md). The test suite may lower the cost with `TASKHALL_TEST_ARGON2=fast`,
which is honoured ONLY when the stage is `test` — never local, dev or prod — so a stray variable in a real
stage cannot weaken stored hashes.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

from chalicelib.config import settings

if TYPE_CHECKING:
    from argon2 import PasswordHasher

TIME_COST = 2
MEMORY_COST_KIB = 65536
PARALLELISM = 1
TEST_COST_ENV = "TASKHALL_TEST_ARGON2"


@lru_cache(maxsize=4)
def _hasher(fast: bool) -> PasswordHasher:
    from argon2 import PasswordHasher  # imported on first use (cffi bindings): only sign-in routes need it

    if fast:
        return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    return PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_COST_KIB, parallelism=PARALLELISM)


def _fast() -> bool:
    return settings().stage == "test" and os.environ.get(TEST_COST_ENV) == "fast"


def hasher() -> PasswordHasher:
    return _hasher(_fast())


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> tuple[bool, bool]:
    """(matches, needs_rehash). A hash in an unknown format is a mismatch, never an exception to the caller."""
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    ph = hasher()
    try:
        ph.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, False
    return True, ph.check_needs_rehash(stored_hash)


@lru_cache(maxsize=4)
def _dummy_hash(fast: bool) -> str:
    return _hasher(fast).hash("taskhall-dummy-password-for-absent-accounts")


def burn_verify(password: str) -> None:
    """Spend the same time as a real verification, for phones without an account (no timing oracle)."""
    verify_password(_dummy_hash(_fast()), password)
