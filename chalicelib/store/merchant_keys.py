"""A merchant's registered RSA public key for the server API (`USER#<id>` / `APIKEY`): one per merchant."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError

from chalicelib.store import keys
from chalicelib.store.base import Item


class MerchantKeyItem(Item, discriminator="merchant_api_key"):
    merchant_id = UnicodeAttribute()
    public_key_pem = UnicodeAttribute()
    fingerprint = UnicodeAttribute()
    bits = NumberAttribute()
    created_at = UnicodeAttribute()


def get(merchant_id: str) -> MerchantKeyItem | None:
    pk, sk = keys.merchant_api_key(merchant_id)
    try:
        # Consistent: a revoked or replaced key must stop working at once.
        return MerchantKeyItem.get(pk, sk, consistent_read=True)
    except MerchantKeyItem.DoesNotExist:
        return None


def put(merchant_id: str, public_key_pem: str, fingerprint: str, bits: int, created_at: str) -> MerchantKeyItem:
    """Register or replace the key; the old one stops verifying with this write."""
    pk, sk = keys.merchant_api_key(merchant_id)
    item = MerchantKeyItem(
        PK=pk,
        SK=sk,
        merchant_id=merchant_id,
        public_key_pem=public_key_pem,
        fingerprint=fingerprint,
        bits=bits,
        created_at=created_at,
    )
    item.save()
    return item


def delete(merchant_id: str) -> bool:
    """Revoke the key; False when there was none."""
    pk, sk = keys.merchant_api_key(merchant_id)
    try:
        MerchantKeyItem(PK=pk, SK=sk).delete(condition=MerchantKeyItem.PK.exists())
    except DeleteError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
