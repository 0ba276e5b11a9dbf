"""What a guarantee release must check: open tasks (merchant task index), open disputes, risk holds."""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute

from chalicelib.store import keys
from chalicelib.store.base import Item


class GuaranteeHold(Item, discriminator="guarantee_hold"):
    reason = UnicodeAttribute()
    created_at = UnicodeAttribute()


def is_held(merchant_id: str) -> bool:
    pk, sk = keys.guarantee_hold(merchant_id)
    try:
        GuaranteeHold.get(pk, sk, consistent_read=True)
    except GuaranteeHold.DoesNotExist:
        return False
    return True


def has_open_tasks(merchant_id: str, statuses: tuple[str, ...]) -> bool:
    """One bounded query per open status on the merchant's task index (`<status>#<created>` sort keys)."""
    for status in statuses:
        found = Item.gsi1.query(
            keys.merchant_tasks(merchant_id), Item.GSI1SK.startswith(f"{status}#"), limit=1, page_size=1
        )
        if next(iter(found), None) is not None:
            return True
    return False


def has_open_disputes(merchant_id: str) -> bool:
    found = Item.gsi1.query(keys.party_open_disputes(merchant_id), limit=1, page_size=1)
    return next(iter(found), None) is not None
