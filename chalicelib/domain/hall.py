"""The task hall's rules, pure: what is listed, who sees a task locked or not at all, reward bands, geo cells.

The hall's storage layout (docs/decisions/0061-task-hall.md) follows from these: newest/ending partitions are
split by reward band so a reward range reads only the bands it overlaps, and located tasks are also filed under
the H3 cell that holds them at a few resolutions, so `near` reads only the cells that touch its circle.
`h3` is imported inside the geo functions: cold starts that never look near anything do not pay for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chalicelib.domain.errors import Forbidden
from chalicelib.domain.tasks import MAX_REWARD_FEN, MIN_REWARD_FEN, Eligibility, WorkerFacts, eligibility_problem

# Reward bands, nested in three levels so any range is covered by a few of them (docs/decisions/0061):
# fine bands on a 1-1.5-2-3-5-7 series, coarse ones on 1-2-5 (two or three fine bands each), decades. A listed
# task is filed under its band at every level and under "*" (every band).
FINE_EDGES = (
    MIN_REWARD_FEN, 15, 20, 30, 50, 70,
    100, 150, 200, 300, 500, 700,
    1_000, 1_500, 2_000, 3_000, 5_000, 7_000,
    10_000, 15_000, 20_000, 30_000, 50_000, 70_000,
)  # fmt: skip
COARSE_EDGES = (MIN_REWARD_FEN, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000)
DECADE_EDGES = (MIN_REWARD_FEN, 100, 1_000, 10_000)
LEVELS = (("d", DECADE_EDGES), ("c", COARSE_EDGES), ("f", FINE_EDGES))  # widest first
ALL_BANDS = "*"


class Sort(StrEnum):
    NEWEST = "newest"
    REWARD = "reward"
    ENDING = "ending"


def _index(edges: tuple[int, ...], reward_fen: int) -> int:
    for i in range(len(edges) - 1, -1, -1):
        if reward_fen >= edges[i]:
            return i
    return 0


def _bounds(edges: tuple[int, ...], i: int) -> tuple[int, int]:
    """Inclusive [lo, hi] of band i of one level."""
    return edges[i], (edges[i + 1] - 1 if i + 1 < len(edges) else MAX_REWARD_FEN)


def bands_of(reward_fen: int) -> list[str]:
    """The band labels a reward is filed under, one per level (`d1`, `c3`, `f7`)."""
    return [f"{level}{_index(edges, reward_fen):02d}" for level, edges in LEVELS]


@dataclass(frozen=True)
class BandPart:
    """One band a reward range reads, and the part [lo, hi] of it the range wants (`full`: all of it)."""

    label: str
    lo: int
    hi: int
    full: bool

    @property
    def few_values(self) -> bool:
        """At most three reward values: read as exact values rather than by filtering the band."""
        return not self.full and self.hi - self.lo < 3


def band_parts(min_fen: int | None, max_fen: int | None) -> list[BandPart]:
    """The fewest bands that cover a reward range: from the low end, the widest band that starts there and fits;
    where the range starts or ends inside a fine band, that band with the part wanted."""
    lo_q = MIN_REWARD_FEN if min_fen is None else max(min_fen, MIN_REWARD_FEN)
    hi_q = MAX_REWARD_FEN if max_fen is None else min(max_fen, MAX_REWARD_FEN)
    parts: list[BandPart] = []
    x = lo_q
    while x <= hi_q:
        for level, edges in LEVELS:
            i = _index(edges, x)
            lo, hi = _bounds(edges, i)
            if lo == x and hi <= hi_q:
                parts.append(BandPart(f"{level}{i:02d}", lo, hi, True))
                x = hi + 1
                break
        else:  # x sits inside a fine band, or the range ends inside the one starting at x
            i = _index(FINE_EDGES, x)
            lo, hi = _bounds(FINE_EDGES, i)
            parts.append(BandPart(f"f{i:02d}", x, min(hi, hi_q), False))
            x = min(hi, hi_q) + 1
    return parts


# ---------------------------------------------------------------- who sees what


class Shown(StrEnum):
    OPEN = "open"  # listed, claimable
    LOCKED = "locked"  # listed with a reason the worker can act on (raise credit, verify, premium)
    HIDDEN = "hidden"  # not listed: the worker can never take it (another region, not a new worker)


def visibility(rule: Eligibility, worker: WorkerFacts) -> tuple[Shown, Forbidden | None]:
    """How a task shows in one worker's hall. Locked tasks carry the same error a claim would get."""
    if rule.new_workers_only and worker.accepted_count > 0:
        return Shown.HIDDEN, None
    if rule.regions and worker.province is not None and worker.province not in rule.regions:
        return Shown.HIDDEN, None
    problem = eligibility_problem(rule, worker)
    if problem is not None:
        return Shown.LOCKED, problem
    return Shown.OPEN, None


def listable(status: str, slots_left: int) -> bool:
    """Whether a task belongs in the hall at all (time aside: the deadline sweep ends it at `ends_at`)."""
    return status == "published" and slots_left > 0


def open_at(ends_at_iso: str, now: datetime) -> bool:
    return datetime.fromisoformat(ends_at_iso.replace("Z", "+00:00")) > now


# ---------------------------------------------------------------- geo

GEO_RESOLUTIONS = (4, 5, 6, 7)  # H3 average edge ≈ 26, 9.9, 3.7, 1.4 km
RADIUS_KM_RANGE = (0.5, 50.0)
DEFAULT_RADIUS_KM = 5.0
MAX_COVER_CELLS = 10


def cells_of(lat: float, lng: float) -> dict[int, str]:
    """The cell holding a point at every hall resolution."""
    import h3

    return {res: h3.latlng_to_cell(lat, lng, res) for res in GEO_RESOLUTIONS}


def _local_xy_km(lat0: float, lng0: float, lat: float, lng: float) -> tuple[float, float]:
    """Equirectangular projection around (lat0, lng0): good to well under 1 % within 50 km."""
    return (lng - lng0) * 111.320 * math.cos(math.radians(lat0)), (lat - lat0) * 110.574


def _point_polygon_km(poly: list[tuple[float, float]]) -> float:
    """Distance from the origin to a convex polygon given in local km (0 when inside)."""
    signs = set()
    best = math.inf
    n = len(poly)
    for i in range(n):
        (x1, y1), (x2, y2) = poly[i], poly[(i + 1) % n]
        cross = x1 * y2 - x2 * y1  # which side of this edge the origin lies on
        signs.add(cross > 0)
        dx, dy = x2 - x1, y2 - y1
        t = max(0.0, min(1.0, -(x1 * dx + y1 * dy) / (dx * dx + dy * dy or 1.0)))
        best = min(best, math.hypot(x1 + t * dx, y1 + t * dy))
    return 0.0 if len(signs) == 1 else best


def cover_at(lat: float, lng: float, radius_km: float, res: int) -> list[str]:
    """Every cell of resolution `res` that touches the circle (exact up to the local projection)."""
    import h3

    edge = h3.average_hexagon_edge_length(res, unit="km")
    k = math.ceil(radius_km / (edge * 1.5)) + 1
    out = []
    for cell in h3.grid_disk(h3.latlng_to_cell(lat, lng, res), k):
        poly = [_local_xy_km(lat, lng, a, b) for a, b in h3.cell_to_boundary(cell)]
        if _point_polygon_km(poly) <= radius_km:
            out.append(cell)
    return sorted(out)


def read_size(radius_km: float, res: int, cells: int, limit: int) -> int:
    """How many entries to read per cell at first: a page's share of the cells, scaled up by how much more
    ground the cells cover than the circle (only that share of what a cell holds is inside)."""
    import h3

    inside = min(1.0, math.pi * radius_km**2 / (cells * h3.average_hexagon_area(res, unit="km^2")))
    return max(2, min(limit + 1, math.ceil((limit + 1) / (cells * inside))))


def cover(lat: float, lng: float, radius_km: float) -> tuple[int, list[str]]:
    """The finest hall resolution whose cover of the circle needs at most MAX_COVER_CELLS cells."""
    chosen: tuple[int, list[str]] | None = None
    for res in sorted(GEO_RESOLUTIONS, reverse=True):
        cells = cover_at(lat, lng, radius_km, res)
        chosen = (res, cells)
        if len(cells) <= MAX_COVER_CELLS:
            break
    assert chosen is not None
    return chosen
