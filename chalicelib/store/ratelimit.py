"""Rate limits and temporary blocks in the table, shared by every feature.

`hit(name, subject, limit, window_s)` is a fixed-window counter: one item per (name, subject, window),
`RATE#<name>#<subject>` / `W#<window number>`, incremented by a conditional UpdateItem that refuses to pass
`limit` — atomic on DynamoDB, so concurrent requests cannot overshoot. A refused hit does not count and
raises `RateLimited` with the seconds until the window ends (→ 429 + Retry-After). Windows are aligned to
the epoch (a day window turns at 00:00 UTC). `block`/`blocked_for` keep a "locked until" marker
(`RATE#<name>#<subject>` / `BLOCK`) for lockouts that must last a fixed time from the moment they start.
Items carry `expires_at` for TTL clean-up, and reads treat a passed `expires_at` as absent (TTL lags).

`subject` must not be personal data in clear: callers pass a blind index (`crypto.blind_index`) of a phone
or IP, or an opaque id.
"""

from __future__ import annotations

from botocore.exceptions import ClientError
from pynamodb.attributes import NumberAttribute

from chalicelib.adapters import clock
from chalicelib.config import settings
from chalicelib.domain.errors import RateLimited
from chalicelib.store import keys
from chalicelib.store.base import Item, table_client

GRACE_S = 60  # keep a counter a minute past its window, so TTL never races the last reads


class RateItem(Item, discriminator="rate"):
    n = NumberAttribute(null=True)
    until = NumberAttribute(null=True)


def _key(pk: str, sk: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def hit(
    name: str,
    subject: str,
    limit: int,
    window_s: int,
    *,
    code: str | None = None,
    message: str | None = None,
) -> int:
    """Count one event; return the count in this window, or raise `RateLimited` if `limit` is already reached."""
    now = clock.now_ts()
    window = now // window_s
    reset_at = (window + 1) * window_s
    pk, sk = keys.rate_bucket(name, subject, window)
    try:
        resp = table_client().update_item(
            TableName=settings().table_name,
            Key=_key(pk, sk),
            UpdateExpression="SET #kind = :kind, expires_at = :exp ADD n :one",
            ConditionExpression="attribute_not_exists(n) OR n < :limit",
            ExpressionAttributeNames={"#kind": "kind"},
            ExpressionAttributeValues={
                ":kind": {"S": "rate"},
                ":exp": {"N": str(reset_at + GRACE_S)},
                ":one": {"N": "1"},
                ":limit": {"N": str(limit)},
            },
            ReturnValues="UPDATED_NEW",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            raise RateLimited(reset_at - now, code=code, message=message) from None
        raise
    return int(resp["Attributes"]["n"]["N"])


def count(name: str, subject: str, window_s: int) -> int:
    """Events counted so far in the current window."""
    pk, sk = keys.rate_bucket(name, subject, clock.now_ts() // window_s)
    try:
        item = RateItem.get(pk, sk, consistent_read=True)
    except RateItem.DoesNotExist:
        return 0
    return int(item.n or 0)


def clear(name: str, subject: str, window_s: int) -> None:
    """Forget the current window's count (a successful login clears its failures)."""
    pk, sk = keys.rate_bucket(name, subject, clock.now_ts() // window_s)
    table_client().delete_item(TableName=settings().table_name, Key=_key(pk, sk))


def block(name: str, subject: str, seconds: int) -> int:
    """Block `subject` for `seconds` from now; returns the seconds (for Retry-After)."""
    until = clock.now_ts() + seconds
    pk, sk = keys.rate_block(name, subject)
    RateItem(pk, sk, until=until, expires_at=until + GRACE_S).save()
    return seconds


def blocked_for(name: str, subject: str) -> int:
    """Seconds left on a block, 0 when there is none (or it has passed and TTL has not removed it yet)."""
    pk, sk = keys.rate_block(name, subject)
    try:
        item = RateItem.get(pk, sk, consistent_read=True)
    except RateItem.DoesNotExist:
        return 0
    return max(0, int(item.until or 0) - clock.now_ts())


def unblock(name: str, subject: str) -> None:
    pk, sk = keys.rate_block(name, subject)
    table_client().delete_item(TableName=settings().table_name, Key=_key(pk, sk))
