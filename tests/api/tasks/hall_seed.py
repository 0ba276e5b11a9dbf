"""A realistic hall for measuring reads: tasks with round-number and odd rewards, mixed categories, some members'
tasks, some locked or region-bound, located 地推 and mystery-shopping tasks around three cities; and the
measurement of one hall query (items read ÷ items returned, Query calls) through the HTTP API.

Used by tests/api/tasks/test_hall_reads.py (500 tasks) and tests/bench/bench_hall.py (10,000 tasks).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from chalicelib.adapters import clock
from chalicelib.store import ledger as books
from chalicelib.store.hall import HallEntry, HallTask, entries

CATEGORY_WEIGHTS = {
    "survey": 20,
    "app_trial": 20,
    "promotion": 15,
    "content": 10,
    "data_labeling": 10,
    "feedback": 10,
    "mystery_shopping": 5,
    "other": 10,
}
ROUND_REWARDS = [20, 30, 50, 80, 100, 100, 150, 200, 200, 300, 500, 500, 800, 1000, 1500, 2000, 3000, 5000, 10000]
CITIES = [(31.2304, 121.4737), (39.9042, 116.4074), (23.1291, 113.2644)]
SHANGHAI = CITIES[0]

# The reward ranges measured; the first five are the category + sort + reward-range paths held to ≤ 1.5.
RANGES: list[tuple[int | None, int | None]] = [
    (100, 500),
    (150, 800),
    (200, None),
    (None, 100),
    (50, 2000),
    (None, None),
]
BOUNDED_RANGES = RANGES[:5]


@contextmanager
def partition_queries() -> Iterator[None]:
    """moto 5.2.5 answers a base-table Query by sorting every item of the table, then keeping one partition;
    with thousands of hall entries that is ~0.7 s a call. Hand it the one partition instead (the same items,
    which it then sorts by range key itself), so hall measurements time our reads, not moto's."""
    from moto.dynamodb.models.table import Table

    original = Table.query

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None:
            return original(self, hash_key, *args, **kwargs)
        partition = list(self.items.get(hash_key, {}).values())
        self.all_items = lambda: partition
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query  # type: ignore[method-assign]
    try:
        yield
    finally:
        Table.query = original  # type: ignore[method-assign]


def _reward(rng: random.Random) -> int:
    if rng.random() < 0.75:
        return rng.choice(ROUND_REWARDS)
    return int(10 * (300 ** rng.random())) + rng.randrange(0, 10)  # odd amounts, 10 fen to ~¥30


def make_tasks(n: int, *, seed: int = 6) -> list[HallTask]:
    rng = random.Random(seed)
    now = clock.now()
    merchants = [f"usr_SEEDMERCHANT{i:03d}" for i in range(max(5, n // 20))]
    cats = list(CATEGORY_WEIGHTS)
    weights = list(CATEGORY_WEIGHTS.values())
    out = []
    for i in range(n):
        category = rng.choices(cats, weights)[0]
        published = now - timedelta(seconds=rng.randrange(0, 30 * 86400))
        ends = now + timedelta(seconds=rng.randrange(3600, 30 * 86400))
        elig: dict[str, Any] = {}
        roll = rng.random()
        if roll < 0.05:
            elig["premium_pool"] = True
        elif roll < 0.10:
            elig["min_credit"] = 110
        elif roll < 0.15:
            elig["regions"] = ["11"]
        elif roll < 0.18:
            elig["new_workers_only"] = True
        gps = None
        if category in ("promotion", "mystery_shopping"):
            lat, lng = rng.choice(CITIES)
            gps = {"lat": lat + rng.uniform(-0.15, 0.15), "lng": lng + rng.uniform(-0.15, 0.15), "radius_m": 300}
        out.append(
            HallTask(
                task_id=f"tsk_{published.strftime('%y%m%d%H%M%S')}SEED{i:010d}",
                merchant_id=rng.choice(merchants),
                title=f"任务 {i}",
                category=category,
                reward_fen=_reward(rng),
                slots_left=rng.randrange(1, 200),
                ends_at=books.iso(ends),
                published_at=books.iso(published),
                member_boost=rng.random() < 0.1,
                eligibility=elig,
                gps=gps,
                status="published",
            )
        )
    return out


def seed(n: int, *, seed: int = 6) -> list[HallTask]:
    """Write the hall entries of `n` listed tasks (the hall reads nothing else of a task)."""
    tasks = make_tasks(n, seed=seed)
    with HallEntry.batch_write() as batch:
        for t in tasks:
            for e in entries(t):
                batch.save(e)
    return tasks


@dataclass(frozen=True)
class Reading:
    query: str
    returned: int
    read: int  # hall entries read by Queries
    queries: int
    other_reads: int  # GetItem/BatchGetItem calls (caller's facts, merchants' records)
    ids: tuple[str, ...] = ()
    next_cursor: str | None = None

    def line(self) -> str:
        amp = self.amplification
        return f"{self.query:72s} returned {self.returned:2d} read {self.read:3d} ×{amp:4.2f} queries {self.queries:2d}"

    @property
    def amplification(self) -> float:
        return self.read / self.returned if self.returned else float("inf") if self.read else 1.0


def hall_path(
    sort: str, category: str | None, rng: tuple[int | None, int | None], near: bool = False, limit: int = 20
) -> str:
    params: dict[str, Any] = {"sort": sort, "limit": limit}
    if category:
        params["category"] = category
    if rng[0] is not None:
        params["min_reward_fen"] = rng[0]
    if rng[1] is not None:
        params["max_reward_fen"] = rng[1]
    if near:
        params["near"] = f"{SHANGHAI[0]},{SHANGHAI[1]}"
        params["radius_km"] = 10
    return "/v1/hall?" + urlencode(params)


def measure(api: Any, token: str, calls: Any, path: str, pages: int = 1) -> list[Reading]:
    """Read `pages` pages of `path`, one Reading each."""
    out = []
    cursor = None
    for _ in range(pages):
        calls.reset()
        full = path + (f"&cursor={cursor}" if cursor else "")
        reply = api.get(full, token=token)
        assert reply.status == 200, reply.body
        body = reply.json
        out.append(
            Reading(
                query=path.removeprefix("/v1/hall?"),
                returned=len(body["items"]),
                read=calls.read("Query"),
                queries=calls.count("Query"),
                other_reads=calls.count("GetItem") + calls.count("BatchGetItem"),
                ids=tuple(i["id"] for i in body["items"]),
                next_cursor=body["next_cursor"],
            )
        )
        cursor = body["next_cursor"]
        if not cursor:
            break
    return out
