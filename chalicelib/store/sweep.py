"""The deadline sweep's state (`SYS#SWEEP`/`DEADLINES`: the watermark hour) and its task-deadline reads."""

from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import UpdateError

from chalicelib.store import keys
from chalicelib.store.base import Item


class SweepState(Item, discriminator="sweep_state"):
    watermark = UnicodeAttribute(null=True)  # ISO hour: every bucket before it is empty


def watermark() -> datetime | None:
    pk, sk = keys.sweep_state()
    try:
        state = SweepState.get(pk, sk, consistent_read=True)
    except SweepState.DoesNotExist:
        return None
    return datetime.fromisoformat(state.watermark) if state.watermark else None


def advance_watermark(to: datetime) -> None:
    """Move the watermark forward only (a slower concurrent run never moves it back)."""
    pk, sk = keys.sweep_state()
    value = to.isoformat()
    try:
        SweepState(PK=pk, SK=sk).update(
            actions=[SweepState.watermark.set(value), SweepState.kind.set(SweepState)],
            condition=SweepState.watermark.does_not_exist() | (SweepState.watermark < value),
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def due_tasks(hour: str, until_iso: str, limit: int) -> list[str]:
    found = Item.gsi3.query(keys.due_bucket(hour), Item.GSI3SK <= f"{until_iso}#~", limit=limit, page_size=limit)
    return [str(i.GSI3SK).rsplit("#", 1)[1] for i in found]


def bucket_has_items(hour: str) -> bool:
    for index in (Item.gsi2, Item.gsi3):
        if next(iter(index.query(keys.due_bucket(hour), limit=1, page_size=1)), None) is not None:
            return True
    return False
