"""Merchant onboarding: submit a qualification, the desk reviews it, and the marketplace asks `merchant_is_approved`.

The unified social credit code (GB 32100) is validated, stored as a KMS envelope, a blind index and a mask.
The licence image must be the merchant's own upload (purpose `license`) and exist in the bucket.
Approve and reject are conditional on `pending` and written with their audit entry in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.adapters import clock, crypto
from chalicelib.adapters.log import logger
from chalicelib.domain.errors import Invalid, NotFound
from chalicelib.domain.identity import mask_credit_code, parse_credit_code
from chalicelib.domain.roles import Caller
from chalicelib.services import audit, uploads
from chalicelib.store import cursor
from chalicelib.store import merchants as merchant_store


@dataclass(frozen=True)
class Page:
    items: list[merchant_store.MerchantItem]
    next_cursor: str | None


def _iso_now() -> str:
    return clock.now().isoformat(timespec="seconds").replace("+00:00", "Z")


def submit_verification(
    caller: Caller, company_name: str, license_no: str, shop_url: str, license_image_key: str
) -> merchant_store.MerchantItem:
    fields: dict[str, str] = {}
    code = None
    try:
        code = parse_credit_code(license_no)
    except Invalid as exc:
        fields.update(exc.fields)
    if not uploads.owned_object_exists(caller.id, license_image_key, ("license",)):
        fields["license_image_key"] = "请先通过 /v1/uploads（用途 license）上传营业执照图片，再提交返回的 key"
    if fields or code is None:
        raise Invalid(fields)
    now_iso = _iso_now()
    item = merchant_store.new_item(
        caller.id,
        company_name=company_name.strip(),
        license_masked=mask_credit_code(code),
        license_enc=crypto.encrypt_field(code, owner=caller.id, field="license_no"),
        license_hash=crypto.blind_index("license", code),
        shop_url=shop_url,
        license_image_key=license_image_key,
        submitted_at=now_iso,
    )
    merchant_store.submit(item)
    logger.info("merchant qualification submitted", extra={"user_id": caller.id})
    return item


def get_verification(caller: Caller) -> merchant_store.MerchantItem:
    item = merchant_store.get(caller.id, consistent=True)
    if item is None:
        raise NotFound("NOT_FOUND", "尚未提交商家资质")
    return item


def merchant_is_approved(user_id: str) -> bool:
    """The marketplace's gate: only approved merchants may publish tasks."""
    item = merchant_store.get(user_id, consistent=True)
    return item is not None and item.status == "approved"


# ---------------------------------------------------------------- the desk


def review_queue(actor: Caller, status: str, *, limit: int, cursor_token: str | None) -> Page:
    scope = f"admin-merchants:{actor.id}:{status}"
    items, last = merchant_store.queue(status, limit=limit, start=cursor.decode(cursor_token, scope))
    return Page(items=items, next_cursor=cursor.encode(last, scope))


def load_for_review(merchant_id: str) -> merchant_store.MerchantItem:
    item = merchant_store.get(merchant_id, consistent=True)
    if item is None:
        raise NotFound("NOT_FOUND", "商家资质不存在")
    return item


def review(
    actor: Caller, merchant_id: str, approve: bool, *, reason: str | None, request_id: str | None
) -> merchant_store.MerchantItem:
    current = load_for_review(merchant_id)
    decision = "approved" if approve else "rejected"
    entry = audit.entry(
        actor,
        "merchant.approve" if approve else "merchant.reject",
        "merchant",
        merchant_id,
        reason=reason,
        before={"status": current.status},
        after={"status": decision},
        request_id=request_id,
    )
    item = merchant_store.review(
        merchant_id, decision, reviewer_id=actor.id, reason=reason, now_iso=_iso_now(), audit_entry=entry
    )
    logger.info("merchant qualification reviewed", extra={"user_id": merchant_id, "decision": decision})
    return item
