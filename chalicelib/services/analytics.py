"""Activity analytics for the desk: stream consumers keep rollups, the overview and heatmap read only those.

Rollups (docs/decisions/0114), all in Asia/Shanghai calendar buckets (day `2026-11-25`, week `2026-W48`,
month `2026-11`):
- `STAT#activity#<period>` / `<bucket>`: active_users (distinct per bucket: a keyed marker per user and bucket),
  new_users, tasks_published, claims_created, claims_<outcome>, and a bounded histogram of review durations
  (`review_h<i>`, the seconds from submission to the merchant's decision) from which the median is read;
- beside the day rows, `STAT#activity#day` / `<day>#h3#<res-2 parent>`: tasks and claims per H3 cell
  (resolution 5), one item per parent so no item grows past a few hundred counters; `<day>#prov`: the same
  per province code. They share the activity metric so a task's count and its heat are one transaction.
A redelivered record adds nothing (every effect goes through `rollups.add_rows_once` with a business key).
"""

from __future__ import annotations

import bisect
import json
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.adapters import clock
from chalicelib.domain import tasks as T
from chalicelib.domain.errors import Invalid
from chalicelib.services import events
from chalicelib.store import rollups
from chalicelib.store import tasks as task_store
from chalicelib.store import users as user_store

SHANGHAI = ZoneInfo("Asia/Shanghai")
ACTIVITY = "activity"
HEAT_RES = 5  # ~8.5 km cells: a district, fine enough to see where offline promotion happens
HEAT_PARENT_RES = 2  # one rollup item per res-2 parent (at most 343 res-5 cells in it)
NO_PROVINCE = "00"  # tasks open to every province; workers without a verified identity
MAX_HEAT_DAYS = 92
MAX_HEAT_ROWS = 20_000
# Review-duration histogram: upper bounds in seconds (the last bucket is open). 13 counters per bucket item.
REVIEW_BOUNDS_S = (60, 300, 600, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 172800, 259200)
# A day's "active" markers are only garbage after the month is over; TTL just keeps the table tidy.
ACTIVE_MARKER_TTL_S = 40 * 86400
OUTCOMES = (T.ClaimStatus.ACCEPTED, T.ClaimStatus.REJECTED, T.ClaimStatus.EXPIRED, T.ClaimStatus.ABANDONED)


def _at(iso: str | None) -> datetime:
    if not iso:
        return clock.now()
    return datetime.fromisoformat(str(iso).replace("Z", "+00:00"))


def buckets(at: datetime) -> dict[str, str]:
    local = at.astimezone(SHANGHAI).date()
    iso_year, iso_week, _ = local.isocalendar()
    return {"day": local.isoformat(), "week": f"{iso_year}-W{iso_week:02d}", "month": local.strftime("%Y-%m")}


def review_bucket(seconds: float) -> int:
    """The histogram bucket of one review duration: index of the first upper bound at or above it."""
    return bisect.bisect_left(REVIEW_BOUNDS_S, max(0.0, seconds))


def histogram_median(counts: list[int]) -> int | None:
    """The median of a bounded histogram, interpolated linearly inside its bucket (seconds); None if empty."""
    total = sum(counts)
    if total == 0:
        return None
    half = total / 2
    seen = 0
    for i, n in enumerate(counts):
        if n and seen + n >= half:
            lo = REVIEW_BOUNDS_S[i - 1] if i > 0 else 0
            if i >= len(REVIEW_BOUNDS_S):
                return lo  # the open bucket: "at least"
            hi = REVIEW_BOUNDS_S[i]
            return round(lo + (hi - lo) * (half - seen) / n)
        seen += n
    return None


# ---------------------------------------------------------------- stream consumers


def _active(user_id: str | None, at: datetime) -> None:
    """Count `user_id` once per day, week and month it is active in."""
    if not user_id:
        return
    b = buckets(at)
    if not rollups.add_once(
        ACTIVITY,
        f"active:{b['day']}:{user_id}",
        {"day": b["day"]},
        {"active_users": 1},
        marker_ttl_s=ACTIVE_MARKER_TTL_S,
    ):
        return  # already counted today, so this week and month too
    for period in ("week", "month"):
        rollups.add_once(
            ACTIVITY,
            f"active:{b[period]}:{user_id}",
            {period: b[period]},
            {"active_users": 1},
            marker_ttl_s=ACTIVE_MARKER_TTL_S,
        )


@events.on_change("user")
def on_user(change: events.Change) -> None:
    if change.event_name != "INSERT" or not change.new:
        return
    u = change.new
    at = _at(u.get("created_at"))
    rollups.add_once(ACTIVITY, f"new:{u['user_id']}", buckets(at), {"new_users": 1, f"new_{u.get('role')}": 1})


@events.on_change("session")
def on_session(change: events.Change) -> None:
    """A sign-in (new refresh family) or a refresh (rotation) means the person used the app."""
    if not change.new or change.event_name == "REMOVE" or change.new.get("revoked_at"):
        return
    if change.event_name == "MODIFY" and not change.changed("generation"):
        return
    _active(change.new.get("user_id"), _at(change.new.get("rotated_at") or change.new.get("created_at")))


# Task statuses a merchant moves a task into (the desk's review and the sweep move the others).
_MERCHANT_TASK_MOVES = {T.TaskStatus.DRAFT, T.TaskStatus.PENDING_REVIEW, T.TaskStatus.PAUSED, T.TaskStatus.CANCELLED}


@events.on_change("task")
def on_task(change: events.Change) -> None:
    new, old = change.new, change.old or {}
    if not new or change.event_name == "REMOVE":
        return
    if change.event_name == "INSERT" or (change.changed("status") and new.get("status") in _MERCHANT_TASK_MOVES):
        _active(new.get("merchant_id"), _at(new.get("updated_at")))
    if new.get("published_at") and not old.get("published_at"):
        _task_published(new)


def _task_published(task: dict[str, Any]) -> None:
    at = _at(task.get("published_at"))
    b = buckets(at)
    rows: list[tuple[str, str, dict[str, int]]] = [(p, b[p], {"tasks_published": 1}) for p in ("day", "week", "month")]
    rows += _heat_rows(b["day"], "t", _task_point(task), _task_provinces(task))
    rollups.add_rows_once(ACTIVITY, f"published:{task['task_id']}", rows)


def _json_field(task: dict[str, Any], name: str) -> dict[str, Any]:
    """A task's JSONAttribute as a dict: stream images carry it as JSON text, the model as a dict."""
    value = task.get(name)
    if isinstance(value, str):
        value = json.loads(value or "{}")
    return value if isinstance(value, dict) else {}


def _task_point(task: dict[str, Any]) -> tuple[float, float] | None:
    gps = _json_field(task, "proof").get("gps")
    if isinstance(gps, dict) and gps.get("lat") is not None and gps.get("lng") is not None:
        return float(gps["lat"]), float(gps["lng"])
    return None


def _task_provinces(task: dict[str, Any]) -> list[str]:
    return [str(r) for r in _json_field(task, "eligibility").get("regions") or []] or [NO_PROVINCE]


def _heat_rows(
    day: str, prefix: str, point: tuple[float, float] | None, provinces: list[str]
) -> list[tuple[str, str, dict[str, int]]]:
    rows: list[tuple[str, str, dict[str, int]]] = []
    if point is not None:
        import h3  # imported on first use: only consumers and the heatmap pay for it

        cell = h3.latlng_to_cell(point[0], point[1], HEAT_RES)
        parent = h3.cell_to_parent(cell, HEAT_PARENT_RES)
        rows.append(("day", f"{day}#h3#{parent}", {f"{prefix}:{cell}": 1}))
    rows.append(("day", f"{day}#prov", {f"{prefix}:{p}": 1 for p in provinces}))
    return rows


@events.on_change("claim")
def on_claim(change: events.Change) -> None:
    new, old = change.new, change.old or {}
    if not new or change.event_name == "REMOVE":
        return
    status = new.get("status")
    claim_id = str(new.get("claim_id"))
    if change.event_name == "INSERT":
        _active(new.get("worker_id"), _at(new.get("claimed_at")))
        _claim_created(new)
        return
    if not change.changed("status"):
        return
    at = _at(new.get("updated_at"))
    b = buckets(at)
    if status in (T.ClaimStatus.SUBMITTED, T.ClaimStatus.ABANDONED, T.ClaimStatus.APPEALED):
        _active(new.get("worker_id"), at)
    if status in OUTCOMES:
        rollups.add_once(ACTIVITY, f"claim:{claim_id}:{status}", b, {f"claims_{status}": 1})
    if (
        status in (T.ClaimStatus.ACCEPTED, T.ClaimStatus.REJECTED)
        and old.get("status") == T.ClaimStatus.SUBMITTED
        and new.get("submitted_at")
    ):
        seconds = (at - _at(new["submitted_at"])).total_seconds()
        counters = {f"review_h{review_bucket(seconds)}": 1, "reviews": 1, "review_s_total": int(seconds)}
        rollups.add_once(ACTIVITY, f"review:{claim_id}", b, counters)


def _claim_created(claim: dict[str, Any]) -> None:
    """Counted where the task is (its check-in point) and where the worker is from (verified province)."""
    b = buckets(_at(claim.get("claimed_at")))
    task = task_store.get_task(str(claim["task_id"]))
    worker = user_store.get_user(str(claim["worker_id"]))
    point = _task_point({"proof": task.proof}) if task is not None else None
    province = (worker.id_province if worker is not None else None) or NO_PROVINCE
    rows: list[tuple[str, str, dict[str, int]]] = [(p, b[p], {"claims_created": 1}) for p in ("day", "week", "month")]
    rows += _heat_rows(b["day"], "c", point, [province])
    rollups.add_rows_once(ACTIVITY, f"claimed:{claim['claim_id']}", rows)


# ---------------------------------------------------------------- the desk's reads


def figures(row: dict[str, Any] | None) -> dict[str, Any]:
    row = row or {}
    n = lambda k: int(row.get(k, 0))  # noqa: E731
    outcomes = {s: n(f"claims_{s}") for s in OUTCOMES}
    finished = sum(outcomes.values())
    histogram = [n(f"review_h{i}") for i in range(len(REVIEW_BOUNDS_S) + 1)]
    return {
        "active_users": n("active_users"),
        "new_users": n("new_users"),
        "new_workers": n("new_worker"),
        "new_merchants": n("new_merchant"),
        "tasks_published": n("tasks_published"),
        "claims_created": n("claims_created"),
        "claims_accepted": outcomes[T.ClaimStatus.ACCEPTED],
        "claims_rejected": outcomes[T.ClaimStatus.REJECTED],
        "claims_expired": outcomes[T.ClaimStatus.EXPIRED],
        "claims_abandoned": outcomes[T.ClaimStatus.ABANDONED],
        "completion_rate": round(outcomes[T.ClaimStatus.ACCEPTED] / finished, 4) if finished else None,
        "reviews": n("reviews"),
        "median_review_s": histogram_median(histogram),
    }


def overview(day: date | None = None) -> dict[str, Any]:
    """The day, its ISO week and its month (Asia/Shanghai): three single-row Queries on the rollups."""
    on = day or clock.now().astimezone(SHANGHAI).date()
    b = buckets(datetime.combine(on, datetime.min.time(), SHANGHAI) + timedelta(hours=12))
    out: dict[str, Any] = {"date": on.isoformat()}
    for period in ("day", "week", "month"):
        rows = rollups.read(ACTIVITY, period, b[period], b[period], limit=1)
        out[period] = {"bucket": b[period], **figures(rows[0] if rows else None)}
    return out


def period_figures(period: str, bucket: str) -> dict[str, Any]:
    rows = rollups.read(ACTIVITY, period, bucket, bucket, limit=1)
    return figures(rows[0] if rows else None)


def day_rows(start: date, end: date) -> dict[str, dict[str, Any]]:
    """Each day's figures over [start, end] (one Query; the heat rows that sort between days are skipped)."""
    rows = rollups.read(ACTIVITY, "day", start.isoformat(), end.isoformat() + "#~", limit=MAX_HEAT_ROWS)
    return {str(r["bucket"]): figures(r) for r in rows if "#" not in str(r.get("bucket", "#"))}


def heatmap(start: date, end: date) -> dict[str, Any]:
    """Tasks published and claims taken per H3 cell and per province over [start, end] (Beijing dates)."""
    if end < start:
        raise Invalid({"to": "结束日期不能早于开始日期"})
    if (end - start).days >= MAX_HEAT_DAYS:
        raise Invalid({"to": f"一次最多查询 {MAX_HEAT_DAYS} 天"})
    import h3

    rows = rollups.read(ACTIVITY, "day", start.isoformat(), end.isoformat() + "#~", limit=MAX_HEAT_ROWS)
    cells: dict[str, dict[str, int]] = {}
    provinces: dict[str, dict[str, int]] = {}
    for row in rows:
        target = provinces if str(row.get("bucket", "")).endswith("#prov") else cells
        for name, value in row.items():
            if name[:2] in ("t:", "c:"):
                counts = target.setdefault(name[2:], {"tasks": 0, "claims": 0})
                counts["tasks" if name[0] == "t" else "claims"] += int(value)
    cell_rows = []
    for cell, counts in sorted(cells.items(), key=lambda kv: (-kv[1]["tasks"] - kv[1]["claims"], kv[0])):
        lat, lng = h3.cell_to_latlng(cell)
        cell_rows.append({"cell": cell, "lat": round(lat, 5), "lng": round(lng, 5), **counts})
    province_rows = [
        {"province": p, **counts}
        for p, counts in sorted(provinces.items(), key=lambda kv: (-kv[1]["tasks"] - kv[1]["claims"], kv[0]))
    ]
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "resolution": HEAT_RES,
        "cells": cell_rows,
        "provinces": province_rows,
    }
