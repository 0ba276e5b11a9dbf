"""Weekly contest rules, pure: the Asia/Shanghai week, the leaderboard order, masked names and the prizes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
TOP_N = 20  # shown on the leaderboard
DEFAULT_PRIZES_FEN: tuple[int, ...] = (5_000, 3_000, 2_000)  # 1st, 2nd, 3rd
_COUNT_CEILING = 999_999_999  # the rank key stores (ceiling − count), so ascending order is count descending


@dataclass(frozen=True)
class Week:
    """One contest week: Monday 00:00 to the next Monday 00:00 in Asia/Shanghai, as aware UTC instants."""

    id: str  # the Monday's Shanghai date, `2026-11-23`
    starts_at: datetime
    ends_at: datetime

    def previous(self) -> Week:
        return week_of(self.starts_at - timedelta(microseconds=1))


def week_of(at: datetime) -> Week:
    """The contest week holding `at` (any aware datetime)."""
    if at.tzinfo is None:
        raise ValueError("aware datetimes only")
    local = at.astimezone(SHANGHAI)
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    start = monday.astimezone(UTC)
    return Week(id=monday.date().isoformat(), starts_at=start, ends_at=start + timedelta(days=7))


def week_by_id(week_id: str) -> Week:
    monday = datetime.fromisoformat(week_id).replace(tzinfo=SHANGHAI)
    if monday.weekday() != 0:
        raise ValueError(f"{week_id} is not a Monday")
    return week_of(monday)


def rank_key(count: int, reached_at: str, worker_id: str) -> str:
    """Sorts ascending as the leaderboard reads: more accepted tasks first, then who reached that count first
    (`reached_at` is a fixed-width UTC timestamp), then the worker id so that equal keys cannot happen."""
    if not 0 <= count <= _COUNT_CEILING:
        raise ValueError("count out of range")
    return f"{_COUNT_CEILING - count:09d}#{reached_at}#{worker_id}"


def later(a: str | None, b: str) -> str:
    """When a worker reached their count: the latest of the accept times counted (the n-th accept is the latest
    of n, whatever order the stream delivers them in)."""
    return b if a is None or b > a else a


def mask_name(real_name_masked: str | None, phone_masked: str | None) -> str:
    """What the leaderboard shows: the verified name's mask (`张**`), else the phone's (`138****0000`)."""
    if real_name_masked:
        return real_name_masked
    if phone_masked:
        return phone_masked
    return "匿名用户"


def prizes(config: str | None) -> tuple[int, ...]:
    """Prizes in fen by rank from a stage setting like `5000,3000,2000` (empty → the defaults)."""
    if not config:
        return DEFAULT_PRIZES_FEN
    out = tuple(int(part) for part in config.split(","))
    if not out or any(p <= 0 for p in out):
        raise ValueError("contest prizes must be positive fen amounts")
    return out


def transfer_id(week_id: str, rank: int) -> str:
    """One prize transfer per (week, rank): a second close of the same week is a replay, not a second payment."""
    return f"contest:{week_id}:{rank}"
