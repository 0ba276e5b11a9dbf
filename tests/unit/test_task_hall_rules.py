"""Task drafts, reward bands, who sees a hall task and the geo cover: the pure rules, no AWS."""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain import hall as H
from chalicelib.domain import tasks as T

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def draft(**overrides):
    base = T.Draft(
        title="手机使用习惯问卷",
        description="请如实填写一份约 5 分钟的手机使用习惯问卷。",
        category="survey",
        steps=("打开问卷", "作答"),
        proof={"images_min": 1},
        reward_fen=200,
        slots=10,
        claim_ttl_s=3600,
        review_ttl_s=86400,
        ends_at=NOW + timedelta(days=7),
        eligibility={},
    )
    return replace(base, **overrides)


def test_a_valid_draft_has_no_problems():
    assert T.draft_problems(draft(), NOW) == {}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "问卷"}, "title"),
        ({"title": "问" * 41}, "title"),
        ({"description": "太短"}, "description"),
        ({"category": "gambling"}, "category"),
        ({"steps": ()}, "steps"),
        ({"steps": tuple(f"步骤{i}" for i in range(11))}, "steps"),
        ({"steps": ("打开问卷", " ")}, "steps.1"),
        ({"proof": {}}, "proof"),
        ({"proof": {"images_min": 10}}, "proof.images_min"),
        ({"reward_fen": 9}, "reward_fen"),
        ({"reward_fen": 100_001}, "reward_fen"),
        ({"slots": 0}, "slots"),
        ({"slots": 10_001}, "slots"),
        ({"claim_ttl_s": 599}, "claim_ttl_s"),
        ({"claim_ttl_s": 7 * 86400 + 1}, "claim_ttl_s"),
        ({"review_ttl_s": 3599}, "review_ttl_s"),
        ({"review_ttl_s": 7 * 86400 + 1}, "review_ttl_s"),
        ({"ends_at": NOW + timedelta(minutes=59)}, "ends_at"),
        ({"ends_at": NOW - timedelta(days=1)}, "ends_at"),
        ({"ends_at": NOW + timedelta(days=181)}, "ends_at"),
        ({"eligibility": {"min_credit": 151}}, "eligibility.min_credit"),
        ({"eligibility": {"regions": ["99"]}}, "eligibility.regions"),
        ({"eligibility": {"regions": ["31", "31"]}}, "eligibility.regions"),
        ({"category": "promotion"}, "proof.gps"),
        ({"proof": {"gps": {"lat": 31.2, "lng": 121.4, "radius_m": 10}}}, "proof.gps.radius_m"),
    ],
)
def test_each_rule_names_its_field_in_chinese(overrides, field):
    problems = T.draft_problems(draft(**overrides), NOW)
    assert field in problems, problems
    assert any("\u4e00" <= ch <= "\u9fff" for ch in problems[field])


def test_limits_themselves_are_allowed():
    ok = draft(
        title="问" * 4,
        reward_fen=10,
        slots=10_000,
        claim_ttl_s=600,
        review_ttl_s=7 * 86400,
        ends_at=NOW + timedelta(hours=1),
        steps=tuple(f"步骤{i}" for i in range(10)),
    )
    assert T.draft_problems(ok, NOW) == {}


# ---------------------------------------------------------------- bands


@given(st.integers(T.MIN_REWARD_FEN, T.MAX_REWARD_FEN), st.integers(T.MIN_REWARD_FEN, T.MAX_REWARD_FEN))
@settings(max_examples=400, deadline=None)
def test_band_parts_cover_a_range_exactly_once(a, b):
    lo, hi = min(a, b), max(a, b)
    parts = H.band_parts(lo, hi)
    covered = []
    for p in parts:
        assert p.lo <= p.hi
        covered.append((p.lo, p.hi))
        assert p.full == ((p.lo, p.hi) == _bounds_of(p.label))
    covered.sort()
    assert covered[0][0] == lo and covered[-1][1] == hi
    for (_, h1), (l2, _) in itertools.pairwise(covered):
        assert l2 == h1 + 1  # contiguous, no overlap


def _bounds_of(label):
    level, i = label[0], int(label[1:])
    edges = dict(H.LEVELS)[level]
    return edges[i], (edges[i + 1] - 1 if i + 1 < len(edges) else T.MAX_REWARD_FEN)


@given(st.integers(T.MIN_REWARD_FEN, T.MAX_REWARD_FEN))
def test_a_reward_is_filed_in_one_band_per_level_that_holds_it(reward):
    labels = H.bands_of(reward)
    assert [label[0] for label in labels] == ["d", "c", "f"]
    for label in labels:
        lo, hi = _bounds_of(label)
        assert lo <= reward <= hi


def test_a_preset_range_is_read_from_a_few_whole_bands():
    assert [(p.label, p.full) for p in H.band_parts(100, 500)] == [("c03", True), ("c04", True), ("f10", False)]
    assert H.band_parts(100, 500)[-1].few_values  # 500 alone: read as one exact value
    assert [p.label for p in H.band_parts(200, None)] == ["c04", "c05", "d02", "d03"]


def test_fine_bands_nest_inside_coarse_ones_and_coarse_inside_decades():
    assert set(H.COARSE_EDGES) <= set(H.FINE_EDGES)
    assert set(H.DECADE_EDGES) <= set(H.COARSE_EDGES)


# ---------------------------------------------------------------- who sees what


def worker(**kw):
    base = T.WorkerFacts(credit_score=100, province=None, accepted_count=0, real_name_verified=False)
    return replace(base, **kw)


def test_open_task_is_open():
    assert H.visibility(T.Eligibility(), worker()) == (H.Shown.OPEN, None)


def test_premium_and_credit_gates_show_locked_with_the_claim_error():
    shown, why = H.visibility(T.Eligibility(premium_pool=True), worker())
    assert shown == H.Shown.LOCKED and why.code == "PREMIUM_ONLY"
    shown, why = H.visibility(T.Eligibility(min_credit=110), worker())
    assert shown == H.Shown.LOCKED and why.code == "CREDIT_TOO_LOW"


def test_region_hides_for_verified_workers_elsewhere_and_locks_for_unverified():
    rule = T.Eligibility(regions=("31",))
    assert H.visibility(rule, worker(province="11", real_name_verified=True))[0] == H.Shown.HIDDEN
    shown, why = H.visibility(rule, worker())
    assert shown == H.Shown.LOCKED and why.code == "NOT_ELIGIBLE"
    assert H.visibility(rule, worker(province="31", real_name_verified=True))[0] == H.Shown.OPEN


def test_new_workers_only_hides_from_experienced_workers():
    rule = T.Eligibility(new_workers_only=True)
    assert H.visibility(rule, worker(accepted_count=1))[0] == H.Shown.HIDDEN
    assert H.visibility(rule, worker())[0] == H.Shown.OPEN


# ---------------------------------------------------------------- geo


@pytest.mark.parametrize("radius_km", [0.5, 2, 5, 10, 30])
def test_the_cover_holds_every_point_inside_the_circle(radius_km):
    import h3

    lat0, lng0 = 31.2304, 121.4737
    res, cells = H.cover(lat0, lng0, radius_km)
    assert len(cells) <= H.MAX_COVER_CELLS
    rng = random.Random(radius_km)
    for _ in range(300):
        r = radius_km * 1000 * math.sqrt(rng.random())
        a = rng.uniform(0, 2 * math.pi)
        lat = lat0 + (r * math.cos(a)) / 110_574
        lng = lng0 + (r * math.sin(a)) / (111_320 * math.cos(math.radians(lat0)))
        if T.haversine_m(lat0, lng0, lat, lng) <= radius_km * 1000:
            assert h3.latlng_to_cell(lat, lng, res) in cells


def test_finer_cells_for_smaller_circles():
    small, _ = H.cover(31.2304, 121.4737, 1)
    large, _ = H.cover(31.2304, 121.4737, 30)
    assert small > large
