"""Contest rules without I/O: the Shanghai week, the rank key order, masks and prize settings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import contest as C


def test_week_runs_monday_to_monday_in_shanghai():
    week = C.week_of(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    assert week.id == "2026-11-23"
    assert week.starts_at == datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
    assert week.ends_at == datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
    assert C.week_of(datetime(2026, 11, 29, 15, 59, 59, tzinfo=UTC)).id == "2026-11-23"
    assert C.week_of(datetime(2026, 11, 29, 16, 0, tzinfo=UTC)).id == "2026-11-30"
    assert week.previous().id == "2026-11-16"
    assert C.week_by_id("2026-11-23") == week


def test_week_by_id_refuses_a_day_that_is_not_monday():
    with pytest.raises(ValueError):
        C.week_by_id("2026-11-24")


@given(
    st.lists(
        st.tuples(st.integers(0, 5_000), st.integers(0, 10**9), st.text("abcdef", min_size=1, max_size=6)),
        min_size=2,
        max_size=30,
        unique_by=lambda x: x[2],
    )
)
def test_rank_key_sorts_count_descending_then_earliest(rows):
    def iso(n: int) -> str:
        return datetime.fromtimestamp(1_700_000_000 + n / 1000, UTC).isoformat(timespec="microseconds")

    by_key = sorted(rows, key=lambda r: C.rank_key(r[0], iso(r[1]), r[2]))
    by_rule = sorted(rows, key=lambda r: (-r[0], r[1], r[2]))
    assert by_key == by_rule


def test_reached_at_is_the_latest_accept_whatever_the_delivery_order():
    assert C.later(None, "2026-11-25T08:01:00Z") == "2026-11-25T08:01:00Z"
    assert C.later("2026-11-25T08:05:00Z", "2026-11-25T08:01:00Z") == "2026-11-25T08:05:00Z"
    assert C.later("2026-11-25T08:01:00Z", "2026-11-25T08:05:00Z") == "2026-11-25T08:05:00Z"


def test_mask_prefers_the_verified_name_then_the_phone():
    assert C.mask_name("张**", "138****0000") == "张**"
    assert C.mask_name(None, "138****0000") == "138****0000"
    assert C.mask_name(None, None) == "匿名用户"


def test_prizes_setting_parses_and_rejects_nonsense():
    assert C.prizes(None) == (5_000, 3_000, 2_000)
    assert C.prizes("100,50") == (100, 50)
    with pytest.raises(ValueError):
        C.prizes("100,-5")
