"""Schedule cadences: calendar boundaries in Asia/Shanghai, rate boundaries in UTC, what a job still owes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.services.schedules import MAX_CATCH_UP, SHANGHAI, Job

DAILY = Job("d", "m:f", calendar="daily")
WEEKLY = Job("w", "m:f", calendar="weekly")
MONTHLY = Job("m", "m:f", calendar="monthly")
EVERY_MINUTE = Job("r", "m:f", every_s=60)


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("now", "boundary"),
    [
        (sh(2026, 11, 30, 0, 0), sh(2026, 11, 30)),  # Monday 00:00 +08:00 is itself the boundary
        (sh(2026, 11, 29, 23, 59, 59), sh(2026, 11, 23)),  # Sunday night still belongs to the week before
        (sh(2026, 12, 2, 12, 0), sh(2026, 11, 30)),
        (datetime(2026, 11, 29, 16, 0, tzinfo=UTC), sh(2026, 11, 30)),  # same instant, given in UTC
        (datetime(2026, 11, 29, 15, 59, tzinfo=UTC), sh(2026, 11, 23)),  # Monday in UTC is not Monday here
    ],
)
def test_weekly_boundary_is_monday_midnight_in_shanghai(now, boundary):
    assert WEEKLY.latest_boundary(now) == boundary
    assert WEEKLY.latest_boundary(now).tzinfo == UTC


def test_daily_and_monthly_boundaries_are_shanghai_midnights():
    late_utc = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 1 Dec 00:30 +08:00
    assert DAILY.latest_boundary(late_utc) == sh(2026, 12, 1)
    assert MONTHLY.latest_boundary(late_utc) == sh(2026, 12, 1)
    assert MONTHLY.latest_boundary(late_utc - timedelta(hours=1)) == sh(2026, 11, 1)


def test_rate_boundaries_are_multiples_of_the_period_in_utc():
    assert EVERY_MINUTE.latest_boundary(datetime(2026, 11, 25, 8, 0, 59, tzinfo=UTC)) == datetime(
        2026, 11, 25, 8, 0, tzinfo=UTC
    )


def test_a_calendar_job_owes_every_boundary_crossed_oldest_first():
    after = sh(2026, 11, 25)
    assert DAILY.boundaries(after, sh(2026, 11, 28, 9)) == [sh(2026, 11, 26), sh(2026, 11, 27), sh(2026, 11, 28)]
    assert DAILY.boundaries(after, sh(2026, 11, 25, 23, 59)) == []


def test_a_job_that_never_ran_owes_only_its_latest_boundary():
    assert MONTHLY.boundaries(None, sh(2026, 11, 25)) == [sh(2026, 11, 1)]


def test_a_rate_job_owes_one_run_however_long_it_was_idle():
    after = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    now = after + timedelta(days=3, seconds=30)
    assert EVERY_MINUTE.boundaries(after, now) == [after + timedelta(days=3)]


def test_catch_up_is_bounded():
    owed = DAILY.boundaries(sh(2020, 1, 1), sh(2026, 1, 1))
    assert len(owed) == MAX_CATCH_UP
    assert owed[-1] == sh(2026, 1, 1)  # the newest boundaries are the ones kept
