"""Merchant qualifications: `USER#<id>` / `MERCHANT`, in the review queue GSI1 `MERCHANT_REVIEW#<status>`.

The user item mirrors the status (`merchant_status`) and is updated in the same transaction, so the
profile and the queue never disagree. A review is a conditional transition from `pending`, written with its
audit entry in one transaction.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import UnicodeAttribute

from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.store import audit as audit_store
from chalicelib.store import keys, tx
from chalicelib.store.base import Item
from chalicelib.store.users import UserItem

STATUSES = ("pending", "approved", "rejected")


class MerchantItem(Item, discriminator="merchant_qual"):
    user_id = UnicodeAttribute()
    status = UnicodeAttribute()  # pending | approved | rejected
    company_name = UnicodeAttribute()
    license_masked = UnicodeAttribute()
    license_enc = UnicodeAttribute()
    license_hash = UnicodeAttribute()  # blind index: risk checks can find accounts sharing one licence
    shop_url = UnicodeAttribute()
    license_image_key = UnicodeAttribute()
    submitted_at = UnicodeAttribute()
    reviewed_at = UnicodeAttribute(null=True)
    reviewed_by = UnicodeAttribute(null=True)
    reject_reason = UnicodeAttribute(null=True)


def new_item(user_id: str, **fields: Any) -> MerchantItem:
    """A pending qualification for `user_id`, ready for `submit`."""
    pk, sk = keys.merchant_qualification(user_id)
    return MerchantItem(pk, sk, user_id=user_id, status="pending", **fields)


def get(user_id: str, *, consistent: bool = False) -> MerchantItem | None:
    pk, sk = keys.merchant_qualification(user_id)
    try:
        return MerchantItem.get(pk, sk, consistent_read=consistent)
    except MerchantItem.DoesNotExist:
        return None


def submit(item: MerchantItem) -> None:
    """Put a (re)submission in the queue: allowed when there is none yet or the last one was rejected."""
    g1pk, g1sk = keys.merchant_review("pending", item.submitted_at, item.user_id)
    item.GSI1PK, item.GSI1SK = g1pk, g1sk
    t = tx.Tx()
    t.put(item, label="merchant", condition=MerchantItem.PK.does_not_exist() | (MerchantItem.status == "rejected"))
    t.update(
        UserItem(*keys.user(item.user_id)),
        [UserItem.merchant_status.set("pending"), UserItem.updated_at.set(item.submitted_at)],
        label="user",
        condition=UserItem.PK.exists() & (UserItem.role == "merchant"),
    )
    try:
        tx.run(lambda: t, lambda built: built.commit())
    except tx.TxCancelled as exc:
        if "merchant" in exc.failed:
            current = get(item.user_id, consistent=True)
            if current is not None and current.status == "approved":
                raise Conflict("MERCHANT_ALREADY_APPROVED", "商家资质已审核通过，无需重复提交") from None
            raise Conflict("VERIFICATION_PENDING", "资质正在审核中，请耐心等待结果") from None
        if "user" in exc.failed:
            raise NotFound("ACCOUNT_NOT_FOUND", "账号不存在") from None
        raise


def review(
    user_id: str,
    decision: str,
    *,
    reviewer_id: str,
    reason: str | None,
    now_iso: str,
    audit_entry: audit_store.AuditItem,
) -> MerchantItem:
    """Move a pending qualification to approved or rejected, with its audit entry, in one transaction."""
    if decision not in ("approved", "rejected"):
        raise ValueError(decision)
    current = get(user_id, consistent=True)
    if current is None:
        raise NotFound("NOT_FOUND", "商家资质不存在")
    g1pk, g1sk = keys.merchant_review(decision, current.submitted_at, user_id)
    actions: list[Any] = [
        MerchantItem.status.set(decision),
        MerchantItem.reviewed_at.set(now_iso),
        MerchantItem.reviewed_by.set(reviewer_id),
        MerchantItem.GSI1PK.set(g1pk),
        MerchantItem.GSI1SK.set(g1sk),
    ]
    actions.append(MerchantItem.reject_reason.set(reason) if reason else MerchantItem.reject_reason.remove())
    t = tx.Tx()
    t.update(
        MerchantItem(current.PK, current.SK),
        actions,
        label="merchant",
        condition=(MerchantItem.status == "pending") & (MerchantItem.submitted_at == current.submitted_at),
    )
    t.update(
        UserItem(*keys.user(user_id)),
        [UserItem.merchant_status.set(decision), UserItem.updated_at.set(now_iso)],
        label="user",
        condition=UserItem.PK.exists(),
    )
    audit_store.add_to(t, audit_entry)
    try:
        tx.run(lambda: t, lambda built: built.commit())
    except tx.TxCancelled as exc:
        if "merchant" in exc.failed:
            raise Conflict("VERIFICATION_NOT_PENDING", "该资质不在待审核状态，可能已被其他审核员处理") from None
        raise
    return get(user_id, consistent=True) or current


def queue(status: str, *, limit: int, start: dict[str, Any] | None) -> tuple[list[MerchantItem], dict[str, Any] | None]:
    """One page of the review queue for `status`, oldest submission first."""
    result = MerchantItem.gsi1.query(keys.merchant_review_queue(status), limit=limit, last_evaluated_key=start)
    items = list(result)
    return items, result.last_evaluated_key
