"""Risk flags (`FLAG#<id>`/`META`, listed by status on GSI3): evidence for operators to review."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import JSONAttribute, UnicodeAttribute

from chalicelib.store import keys
from chalicelib.store.base import Item


class FlagItem(Item, discriminator="flag"):
    flag_id = UnicodeAttribute()
    rule_id = UnicodeAttribute()
    subject = UnicodeAttribute()  # what the flag is about: usr_…, dep_…, tsk_…
    status = UnicodeAttribute(default="open")  # open | resolved
    severity = UnicodeAttribute(default="medium")
    evidence = JSONAttribute(null=True)
    created_at = UnicodeAttribute()


def put_flag(
    flag_id: str, rule_id: str, subject: str, evidence: dict[str, Any], severity: str, created_at: str
) -> None:
    """Write a flag once: the id is deterministic from its cause, so a retried event flags once."""
    pk, sk = keys.flag(flag_id)
    item = FlagItem(
        PK=pk,
        SK=sk,
        flag_id=flag_id,
        rule_id=rule_id,
        subject=subject,
        status="open",
        severity=severity,
        evidence=evidence,
        created_at=created_at,
        GSI3PK=keys.flags_by_status("open"),
        GSI3SK=f"{created_at}#{flag_id}",
    )
    from pynamodb.exceptions import PutError

    try:
        item.save(condition=FlagItem.PK.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
