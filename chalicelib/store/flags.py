"""Risk flags (`FLAG#<id>`/`META`): listed by status on GSI3 (the desk's queue), by subject on GSI1."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, UpdateError

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
    score = NumberAttribute(null=True)
    action = UnicodeAttribute(null=True)  # the automatic action taken with it (risk_rules.Action), if any
    resolution = UnicodeAttribute(null=True)  # dismiss | confirm | release_hold | unfreeze | resume_merchant
    resolved_by = UnicodeAttribute(null=True)
    resolved_at = UnicodeAttribute(null=True)
    resolution_note = UnicodeAttribute(null=True)


def put_flag(
    flag_id: str,
    rule_id: str,
    subject: str,
    evidence: dict[str, Any],
    severity: str,
    created_at: str,
    *,
    score: int | None = None,
    action: str | None = None,
) -> bool:
    """Write a flag once: the id is deterministic from its cause, so a retried event flags once. True if new."""
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
        score=score,
        action=action,
        GSI1PK=keys.flags_of_subject(subject),
        GSI1SK=f"{created_at}#{flag_id}",
        GSI3PK=keys.flags_by_status("open"),
        GSI3SK=f"{created_at}#{flag_id}",
    )
    try:
        item.save(condition=FlagItem.PK.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
    return True


def get(flag_id: str) -> FlagItem | None:
    try:
        return FlagItem.get(*keys.flag(flag_id), consistent_read=True)
    except FlagItem.DoesNotExist:
        return None


def query_status(status: str, **kwargs: Any) -> Any:
    """Flags in one status, newest first (the desk's queue)."""
    return FlagItem.gsi3.query(keys.flags_by_status(status), scan_index_forward=False, **kwargs)


def of_subject(subject: str) -> list[FlagItem]:
    return list(FlagItem.gsi1.query(keys.flags_of_subject(subject)))


def resolve(flag: FlagItem, resolution: str, *, by: str, at: str, note: str | None) -> bool:
    """Move an open flag to resolved (conditional: one resolution wins). False if it was not open any more."""
    actions = [
        FlagItem.status.set("resolved"),
        FlagItem.resolution.set(resolution),
        FlagItem.resolved_by.set(by),
        FlagItem.resolved_at.set(at),
        FlagItem.GSI3PK.set(keys.flags_by_status("resolved")),
        FlagItem.GSI3SK.set(f"{at}#{flag.flag_id}"),
    ]
    if note:
        actions.append(FlagItem.resolution_note.set(note))
    try:
        FlagItem(*keys.flag(flag.flag_id)).update(actions=actions, condition=FlagItem.status == "open")
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
