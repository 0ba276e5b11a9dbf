"""The risk engine's own items: links between accounts, payout holds, per-rule rolling state, content hashes."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError

from chalicelib.store import keys
from chalicelib.store.base import Item


class RiskLink(Item, discriminator="risk_link"):
    user_a = UnicodeAttribute()
    user_b = UnicodeAttribute()
    reason = UnicodeAttribute()  # payout_account | identity
    created_at = UnicodeAttribute()


class PayoutHold(Item, discriminator="payout_hold"):
    user_id = UnicodeAttribute()
    flag_id = UnicodeAttribute()
    reason = UnicodeAttribute()
    created_at = UnicodeAttribute()


class RiskState(Item, discriminator="risk_state"):
    """Free-form rolling state of one rule for one subject, written with a version condition."""

    state = JSONAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(null=True)


class ContentFirst(Item, discriminator="risk_content"):
    """The first submission of one image or text hash: later ones from another worker are duplicates."""

    user_id = UnicodeAttribute()
    claim_id = UnicodeAttribute()
    task_id = UnicodeAttribute()
    created_at = UnicodeAttribute()


def add_link(user_a: str, user_b: str, reason: str, at: str) -> None:
    pk, sk = keys.risk_link(user_a, user_b, reason)
    lo, hi = sorted((user_a, user_b))
    RiskLink(PK=pk, SK=sk, user_a=lo, user_b=hi, reason=reason, created_at=at).save()


def link_reasons(user_a: str, user_b: str) -> list[str]:
    return [i.reason for i in RiskLink.query(keys.risk_link_prefix(user_a, user_b))]


# ---------------------------------------------------------------- payout holds


def get_hold(user_id: str) -> PayoutHold | None:
    try:
        return PayoutHold.get(*keys.payout_hold(user_id), consistent_read=True)
    except PayoutHold.DoesNotExist:
        return None


def put_hold(user_id: str, flag_id: str, reason: str, at: str) -> bool:
    """Place the hold; False when one is already in place (the first flag keeps it)."""
    pk, sk = keys.payout_hold(user_id)
    try:
        PayoutHold(PK=pk, SK=sk, user_id=user_id, flag_id=flag_id, reason=reason, created_at=at).save(
            condition=PayoutHold.PK.does_not_exist()
        )
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def delete_hold(user_id: str) -> None:
    PayoutHold(*keys.payout_hold(user_id)).delete()


# ---------------------------------------------------------------- rolling state


def get_state(rule_id: str, subject: str) -> dict[str, Any]:
    try:
        return dict(RiskState.get(*keys.risk_counter(rule_id, subject), consistent_read=True).state or {})
    except RiskState.DoesNotExist:
        return {}


def put_state(rule_id: str, subject: str, state: dict[str, Any], at: str) -> None:
    pk, sk = keys.risk_counter(rule_id, subject)
    RiskState(PK=pk, SK=sk, state=state, updated_at=at).save()


# ---------------------------------------------------------------- content hashes


def first_content(kind: str, digest: str, *, user_id: str, claim_id: str, task_id: str, at: str) -> ContentFirst:
    """Claim the hash for this submission, or return who claimed it first."""
    pk, sk = keys.risk_content(kind, digest)
    item = ContentFirst(PK=pk, SK=sk, user_id=user_id, claim_id=claim_id, task_id=task_id, created_at=at)
    try:
        item.save(condition=ContentFirst.PK.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return ContentFirst.get(pk, sk, consistent_read=True)
    return item


# ---------------------------------------------------------------- guarantee holds (read by services/guarantee.py)


def hold_guarantee(merchant_id: str, reason: str, at: str) -> None:
    from chalicelib.store.guarantee import GuaranteeHold

    GuaranteeHold(*keys.guarantee_hold(merchant_id), reason=reason, created_at=at).save()


def release_guarantee(merchant_id: str) -> None:
    from chalicelib.store.guarantee import GuaranteeHold

    GuaranteeHold(*keys.guarantee_hold(merchant_id)).delete()


def get_versioned(rule_id: str, subject: str) -> tuple[dict[str, Any], int]:
    try:
        item = RiskState.get(*keys.risk_counter(rule_id, subject), consistent_read=True)
    except RiskState.DoesNotExist:
        return {}, 0
    return dict(item.state or {}), int(item.version or 0)


def put_versioned(rule_id: str, subject: str, state: dict[str, Any], version: int, at: str) -> bool:
    """Write the state if nobody else wrote since `version` was read (optimistic); False if someone did."""
    pk, sk = keys.risk_counter(rule_id, subject)
    condition = RiskState.PK.does_not_exist() if version == 0 else RiskState.version == version
    try:
        RiskState(PK=pk, SK=sk, state=state, updated_at=at, version=version + 1).save(condition=condition)
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
