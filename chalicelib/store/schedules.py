"""Which boundary each scheduled job last ran for (`SYS#SCHEDULE` / `<job>`)."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute
from pynamodb.exceptions import UpdateError

from chalicelib.store import keys
from chalicelib.store.base import Item


class ScheduleState(Item, discriminator="schedule_state"):
    last_tick = NumberAttribute(default=0)


def claim_tick(job: str, tick: int) -> bool:
    """Atomically move the job's last tick forward to `tick`; False if it is already there or beyond."""
    pk, sk = keys.schedule_state(job)
    state = ScheduleState(PK=pk, SK=sk)
    try:
        state.update(
            actions=[ScheduleState.last_tick.set(tick), ScheduleState.kind.set(ScheduleState)],
            condition=ScheduleState.last_tick.does_not_exist() | (ScheduleState.last_tick < tick),
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def release_tick(job: str, tick: int, previous: int) -> None:
    """Give a claimed tick back after the job failed, so the next trigger retries it."""
    pk, sk = keys.schedule_state(job)
    state = ScheduleState(PK=pk, SK=sk)
    try:
        state.update(actions=[ScheduleState.last_tick.set(previous)], condition=ScheduleState.last_tick == tick)
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def last_tick(job: str) -> int:
    pk, sk = keys.schedule_state(job)
    try:
        # Consistent: a stale read would hand a failed job's boundary back to an older tick.
        return int(ScheduleState.get(pk, sk, consistent_read=True).last_tick or 0)
    except ScheduleState.DoesNotExist:
        return 0
