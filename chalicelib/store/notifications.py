"""In-app notifications (`USER#<id>` / `NTF#<time>#<key>`): written once per event by stream consumers."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, UpdateError

from chalicelib.store import keys
from chalicelib.store.base import Item


class NotificationItem(Item, discriminator="notification"):
    notification_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    type = UnicodeAttribute()
    title = UnicodeAttribute()
    body = UnicodeAttribute()
    ref = UnicodeAttribute(null=True)  # what it is about: wdr_…, clm_…, tsk_…
    read = BooleanAttribute(default=False)
    created_at = UnicodeAttribute()


def put_once(user_id: str, notification_id: str, created_at: str, **fields: Any) -> bool:
    """Write a notification unless this event already wrote it (the id comes from the event)."""
    pk, sk = keys.notification(user_id, created_at, notification_id)
    item = NotificationItem(
        PK=pk, SK=sk, notification_id=notification_id, user_id=user_id, created_at=created_at, **fields
    )
    try:
        item.save(condition=NotificationItem.PK.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def query(user_id: str, **kwargs: Any) -> Any:
    pk, prefix = keys.notification_prefix(user_id)
    return NotificationItem.query(pk, NotificationItem.SK.startswith(prefix), scan_index_forward=False, **kwargs)


def mark_read(user_id: str, sk: str) -> bool:
    pk, _ = keys.notification_prefix(user_id)
    try:
        NotificationItem(PK=pk, SK=sk).update(
            actions=[NotificationItem.read.set(True)], condition=NotificationItem.PK.exists()
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
