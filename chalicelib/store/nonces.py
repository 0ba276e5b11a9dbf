"""Signature nonces (`NONCE#<merchant>#<nonce>` / `NONCE`): TTL items that make a signed request usable once."""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import PutError

from chalicelib.store import keys
from chalicelib.store.base import Item


class NonceItem(Item, discriminator="signature_nonce"):
    merchant_id = UnicodeAttribute()


def use_once(merchant_id: str, nonce: str, *, expires_at: int, now: int) -> bool:
    """Record the nonce; False if it was already used and is still remembered.

    DynamoDB deletes expired items lazily (within days), so an expired item still present counts as forgotten.
    """
    pk, sk = keys.signature_nonce(merchant_id, nonce)
    item = NonceItem(PK=pk, SK=sk, merchant_id=merchant_id, expires_at=expires_at)
    try:
        item.save(condition=NonceItem.PK.does_not_exist() | (NonceItem.expires_at < now))
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
