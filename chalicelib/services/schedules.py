"""Scheduled jobs: one list that both AWS (EventBridge rules via `@bp.schedule`) and the local pump use.

Each job has a cadence: every N seconds, or a calendar boundary in Asia/Shanghai (daily, weekly on Monday,
monthly). `run_due(now)` runs every job whose latest boundary at or before `now` has not yet run, claiming
that boundary with a conditional write first, so the pump, `POST /v1/sandbox/clock` and a re-fired
EventBridge rule can never run the same tick twice. Jobs themselves are idempotent as well.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.adapters import clock
from chalicelib.adapters.log import logger
from chalicelib.store import schedules as schedule_store

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Job:
    name: str
    target: str  # "module:function", imported when the job first runs
    every_s: int | None = None  # fixed rate
    calendar: str | None = None  # "daily" | "weekly" | "monthly" boundaries in Asia/Shanghai

    def latest_boundary(self, now: datetime) -> datetime:
        """The most recent instant at or before `now` when this job was due."""
        if self.every_s:
            ts = int(now.timestamp())
            return datetime.fromtimestamp(ts - ts % self.every_s, UTC)
        local = now.astimezone(SHANGHAI)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.calendar == "daily":
            boundary = midnight
        elif self.calendar == "weekly":
            boundary = midnight - timedelta(days=local.weekday())  # Monday 00:00
        elif self.calendar == "monthly":
            boundary = midnight.replace(day=1)
        else:
            raise ValueError(self.calendar)
        return boundary.astimezone(UTC)

    def function(self) -> Callable[[datetime], object]:
        module, _, attr = self.target.partition(":")
        fn: Callable[[datetime], object] = getattr(importlib.import_module(module), attr)
        return fn


# The schedule. Features add their jobs here; `handlers/schedules.py` declares one EventBridge rule each.
JOBS: list[Job] = []


def register(job: Job) -> Job:
    if any(j.name == job.name for j in JOBS):
        raise ValueError(f"duplicate job {job.name}")
    JOBS.append(job)
    return job


def job(name: str) -> Job:
    for j in JOBS:
        if j.name == name:
            return j
    raise KeyError(name)


def run(name: str, now: datetime | None = None) -> bool:
    """Run one job for its latest boundary if nobody has yet. Returns True if this call ran it."""
    j = job(name)
    now = now or clock.now()
    boundary = j.latest_boundary(now)
    tick = int(boundary.timestamp())
    previous = schedule_store.last_tick(j.name)
    if previous >= tick or not schedule_store.claim_tick(j.name, tick):
        return False
    logger.info("schedule run", extra={"job": j.name, "boundary": boundary.isoformat()})
    try:
        j.function()(now)
    except Exception:
        schedule_store.release_tick(j.name, tick, previous)  # the next trigger retries this boundary
        raise
    return True


def run_due(now: datetime | None = None) -> list[str]:
    """Run every job that is due at `now` (stage clock). Returns the names that ran."""
    now = now or clock.now()
    return [j.name for j in list(JOBS) if run(j.name, now)]
