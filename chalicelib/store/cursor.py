"""Opaque, tamper-evident pagination cursors, and the one helper that pages a pynamodb query with them.

A cursor is DynamoDB's `LastEvaluatedKey`, sealed with AES-256-GCM under a key derived from the stage
secret and bound to the listing's scope (listing name + caller + filters, see `scope`) as associated data. A
user cannot read keys out of it, forge one, or replay one cursor on another user's or another filter's listing.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any, TypeVar

from chalicelib.adapters import secrets
from chalicelib.domain.errors import BadRequest

T = TypeVar("T")

MAX_CURSOR_CHARS = 2048
_NONCE = 12


def _bad() -> BadRequest:
    return BadRequest("INVALID_CURSOR", "分页游标无效或已过期，请从第一页重新获取")


def _aead() -> Any:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(secrets.purpose_key("cursor"))


def scope(listing: str, **parts: object) -> str:
    """The scope a cursor is bound to: a listing's name and everything that selects its rows.

    `scope("me.claims", user=caller.id, status="submitted")` — a cursor issued for it is refused by any other
    scope, so changing a filter or the caller between pages starts over instead of mixing listings.
    """
    return listing + "?" + json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)


def encode(last_key: dict[str, Any] | None, scope: str) -> str | None:
    if not last_key:
        return None
    nonce = os.urandom(_NONCE)
    plain = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    sealed = _aead().encrypt(nonce, plain, scope.encode())
    return base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()


def _is_key(value: Any) -> bool:
    """A DynamoDB key in wire format: `{"PK": {"S": "…"}, …}`."""
    return (
        isinstance(value, dict)
        and bool(value)
        and all(
            isinstance(k, str) and isinstance(v, dict) and len(v) == 1 and set(v) <= {"S", "N", "B"}
            for k, v in value.items()
        )
    )


def decode(cursor: str | None, scope: str) -> dict[str, Any] | None:
    """The key a cursor carries, or None for no cursor. Anything forged, altered or foreign → 400."""
    if not cursor:
        return None
    if len(cursor) > MAX_CURSOR_CHARS:
        raise _bad()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        plain = _aead().decrypt(raw[:_NONCE], raw[_NONCE:], scope.encode())
        value = json.loads(plain)
    except Exception:  # bad base64, a failed tag (tampered or foreign scope), bad JSON: all the same to callers
        raise _bad() from None
    if not _is_key(value):
        raise _bad()
    return value  # type: ignore[no-any-return]


_END = object()


def query_page(
    query: Callable[..., Iterable[T]],
    *,
    scope: str,
    limit: int,
    cursor: str | None,
) -> tuple[list[T], str | None]:
    """One page of a pynamodb query: `(items, next_cursor)`; `next_cursor` is None on the last page.

    `query(**kwargs)` must pass `limit`, `page_size` and `last_evaluated_key` on to `Model.query` or
    `Index.query`, e.g. `functools.partial(Claim.gsi1.query, pk, scan_index_forward=False)`. One item more than
    asked for is read, so a page that happens to end exactly at the last item says so instead of handing out a
    cursor to an empty page.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    start = decode(cursor, scope)
    rows = query(limit=limit + 1, page_size=limit + 1, last_evaluated_key=start)
    it: Iterator[T] = iter(rows)
    items = list(islice(it, limit))
    # pynamodb rebuilds the key of the last item handed out when it stopped inside a page.
    last_key = getattr(it, "last_evaluated_key", None)
    more = next(it, _END) is not _END
    return items, (encode(last_key, scope) if more and items else None)
