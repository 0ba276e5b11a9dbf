"""Duration histograms: bucketing and the median read back from bucket counts."""

from __future__ import annotations

import statistics

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import durations as D


def counts_of(samples: list[int]) -> list[int]:
    counts = [0] * D.BUCKETS
    for s in samples:
        counts[D.bucket(s)] += 1
    return counts


def test_buckets_hold_their_upper_edge():
    assert [D.bucket(s) for s in (-5, 0, 60, 61, 300, 3_600, 3_601, 604_800, 604_801)] == [0, 0, 0, 1, 1, 4, 5, 13, 14]


def test_median_of_nothing_is_none_and_one_sample_falls_in_its_bucket():
    assert D.median([0] * D.BUCKETS) is None
    assert 1_800 < D.median(counts_of([2_000])) <= 3_600


def test_median_beyond_the_last_edge_is_the_last_edge():
    assert D.median(counts_of([10**6, 10**6])) == 604_800


@given(st.lists(st.integers(min_value=0, max_value=604_800), min_size=1, max_size=200))
def test_the_estimate_lies_in_the_bucket_of_a_true_middle_sample(samples):
    """Within its bucket: the estimate and the true median share bucket bounds (or straddle a boundary for an
    even count, where the true median averages two samples from neighbouring buckets)."""
    estimate = D.median(counts_of(samples))
    ordered = sorted(samples)
    low_mid, high_mid = ordered[(len(ordered) - 1) // 2], ordered[len(ordered) // 2]
    lo = D.EDGES_S[D.bucket(low_mid) - 1] if D.bucket(low_mid) > 0 else 0
    hi = D.EDGES_S[min(D.bucket(high_mid), len(D.EDGES_S) - 1)]
    assert lo <= estimate <= hi
    assert lo <= statistics.median(samples) <= hi
