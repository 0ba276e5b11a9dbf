"""Scheduled jobs: one list that both AWS (EventBridge rules via `@bp.schedule`) and the local pump use.

Each job has a cadence: every N seconds, or a calendar boundary in Asia/Shanghai (daily at 00:00, weekly on
Monday 00:00, monthly on the 1st 00:00). `run_due(now)` runs every job that has a boundary at or before `now`
it has not yet run, claiming each boundary with a conditional write first, so the pump,
`POST /v1/sandbox/clock` and a re-fired EventBridge rule never run the same boundary twice.

- A rate job (`every_s`) runs once for the latest boundary and is called with the current stage time: its
  work is "everything due by now" (sweeps), so boundaries skipped while nothing ran need no separate runs.
- A calendar job runs once for *every* boundary crossed since its last run, oldest first, and is called with
  the boundary instant (aware UTC), so a daily report knows which day it is for even when the local clock
  jumps a week. A job that has never run starts at the latest boundary, not at the epoch.
- A job that raises gives its boundary back, so the next trigger retries it; other jobs still run.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.adapters import clock
from chalicelib.adapters.log import logger

MAX_CATCH_UP = 400  # calendar boundaries one call may run for a job (a year and a month of days)

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

    def boundaries(self, after: datetime | None, now: datetime) -> list[datetime]:
        """The boundaries this job still owes in (`after`, `now`], oldest first (see the module notes)."""
        latest = self.latest_boundary(now)
        if after is not None and latest <= after:
            return []
        if self.every_s or after is None:
            return [latest]
        owed = [latest]
        while len(owed) < MAX_CATCH_UP:
            earlier = self.latest_boundary(owed[-1] - timedelta(microseconds=1))
            if earlier <= after:
                break
            owed.append(earlier)
        return owed[::-1]

    def function(self) -> Callable[[datetime], object]:
        module, _, attr = self.target.partition(":")
        fn: Callable[[datetime], object] = getattr(importlib.import_module(module), attr)
        return fn


# The schedule. Features add their jobs here; one EventBridge rule a minute (`handlers/schedules.py`) runs
# whatever is due.
JOBS: list[Job] = [
    Job("deadline_sweep", "chalicelib.services.sweep:sweep_deadlines", every_s=60),
    Job("payout_poll", "chalicelib.services.withdrawals:poll_payouts", every_s=60),
    Job("contest_close", "chalicelib.services.contest:close_week", calendar="weekly"),
    Job("membership_expiry", "chalicelib.services.membership:expire_due", every_s=300),
    Job("webhook_requeue", "chalicelib.services.webhooks:requeue_due", every_s=60),
    Job("report_daily", "chalicelib.services.reports:daily", calendar="daily"),
    Job("report_weekly", "chalicelib.services.reports:weekly", calendar="weekly"),
    Job("report_monthly", "chalicelib.services.reports:monthly", calendar="monthly"),
]


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
    """Run one job for every boundary it owes at `now`. True if this call ran it at least once.

    Raises what the job raised, after giving the failed boundary back.
    """
    from chalicelib.store import schedules as schedule_store  # the table client, on first use only

    j = job(name)
    now = now or clock.now()
    previous = schedule_store.last_tick(j.name)
    after = datetime.fromtimestamp(previous, UTC) if previous else None
    ran = False
    for boundary in j.boundaries(after, now):
        tick = int(boundary.timestamp())
        if not schedule_store.claim_tick(j.name, tick):
            break  # another trigger got there first and owns the rest of the catch-up
        logger.info("schedule run", extra={"job": j.name, "boundary": boundary.isoformat()})
        try:
            j.function()(now if j.every_s else boundary)
        except Exception:
            schedule_store.release_tick(j.name, tick, previous)  # the next trigger retries this boundary
            raise
        previous, ran = tick, True
    return ran


@dataclass
class DueRun:
    ran: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def run_all_due(now: datetime | None = None) -> DueRun:
    """Run every job that is due at `now` (stage clock). One failing job does not stop the others."""
    now = now or clock.now()
    result = DueRun()
    for j in list(JOBS):
        try:
            if run(j.name, now):
                result.ran.append(j.name)
        except Exception:
            logger.exception("scheduled job failed", extra={"job": j.name})
            result.failed.append(j.name)
    return result


def run_due(now: datetime | None = None) -> list[str]:
    """Run every job that is due at `now` (stage clock). Returns the names that ran."""
    return run_all_due(now).ran
