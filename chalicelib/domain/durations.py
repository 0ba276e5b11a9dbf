"""Durations kept as fixed histograms, so a median needs no list of samples: review time per merchant, time
to submit per task. Counters are plain numbers added in the transactions that observe a duration.

Bucket edges follow how people read these times (a minute, 5 and 10 minutes, half an hour, hours, days up to
the 7-day limits on claims and reviews). A median is read from the bucket holding the middle observation,
interpolated linearly inside it — exact to within its bucket, which is the precision a worker needs to judge
"this merchant reviews within about 2 hours".
"""

from __future__ import annotations

from collections.abc import Sequence

# Upper edges in seconds; bucket i holds durations in (EDGES[i-1], EDGES[i]], the last one everything beyond.
EDGES_S: tuple[int, ...] = (
    60,
    300,
    600,
    1_800,
    3_600,
    7_200,
    14_400,
    28_800,
    43_200,
    86_400,
    172_800,
    259_200,
    432_000,
    604_800,
)
BUCKETS = len(EDGES_S) + 1


def bucket(seconds: int) -> int:
    """The histogram bucket of a duration (negative durations, from clock skew, count as 0)."""
    s = max(0, int(seconds))
    for i, edge in enumerate(EDGES_S):
        if s <= edge:
            return i
    return len(EDGES_S)


def median(counts: Sequence[int]) -> int | None:
    """The median duration in seconds estimated from bucket counts, or None with no observations: the middle
    observation (the mean of the two middle ones for an even count), each placed at its slot's centre within
    its bucket as if the bucket's observations were spread evenly."""
    total = sum(int(c) for c in counts)
    if total <= 0:
        return None
    return round((_at_rank(counts, (total + 1) // 2) + _at_rank(counts, total // 2 + 1)) / 2)


def _at_rank(counts: Sequence[int], rank: int) -> float:
    seen = 0
    for i, c in enumerate(counts):
        c = int(c)
        if c and seen + c >= rank:
            lo = EDGES_S[i - 1] if i > 0 else 0
            if i >= len(EDGES_S):
                return lo  # beyond the last edge: the edge is the honest lower bound
            return lo + (EDGES_S[i] - lo) * (rank - seen - 0.5) / c
        seen += c
    return EDGES_S[-1]
