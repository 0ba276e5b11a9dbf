"""Object-level access: an object that is not the caller's does not exist for them (404, never 403).

Convention (docs/decisions/0027-object-level-access.md): every service loader that takes an id from a path
takes the caller too and calls `require_owner` (or an equivalent check on the loaded item) before returning,
so "not found" and "not yours" are indistinguishable and ids cannot be probed. Role checks (403) are the
route's `auth=` declaration; desk staff reach other people's objects only through `/v1/admin/...` routes.
"""

from __future__ import annotations

from chalicelib.domain.errors import NotFound
from chalicelib.domain.roles import Caller


def require_owner(caller: Caller, owner_ids: str | tuple[str, ...] | None, what: str = "资源") -> None:
    """Raise 404 unless the caller is (one of) the object's owner(s). `None` means the object is absent."""
    if owner_ids is None:
        raise NotFound("NOT_FOUND", f"{what}不存在")
    owners = (owner_ids,) if isinstance(owner_ids, str) else owner_ids
    if caller.id not in owners:
        raise NotFound("NOT_FOUND", f"{what}不存在")
