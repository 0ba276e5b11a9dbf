"""Ids: prefixed, 26-character ULID bodies, sortable by stage time, in creation order within a millisecond."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from chalicelib.adapters import clock, ids

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BODY = re.compile(rf"^[{CROCKFORD}]{{26}}$")


@pytest.fixture
def pinned() -> Iterator[None]:
    clock.pin(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    yield
    clock.pin(None)


def decode_ms(body: str) -> int:
    value = 0
    for ch in body[:10]:
        value = value * 32 + CROCKFORD.index(ch)
    return value


def test_id_is_prefix_underscore_and_a_26_character_body(pinned):
    value = ids.new_id("tsk")
    prefix, body = value.split("_")
    assert prefix == "tsk" and BODY.match(body)


def test_the_timestamp_part_is_the_stage_clock(pinned):
    assert decode_ms(ids.new_id("usr")[4:]) == clock.now_ms()


def test_ids_sort_by_stage_time_not_wall_time(pinned):
    earlier = ids.new_id("clm")
    clock.advance(1)
    later = ids.new_id("clm")
    clock.pin(datetime(2026, 11, 25, 7, 59, tzinfo=UTC))  # a test pinning an earlier time
    earliest = ids.new_id("clm")
    assert sorted([later, earliest, earlier]) == [earliest, earlier, later]


def test_ids_made_in_one_millisecond_sort_in_creation_order(pinned):
    made = [ids.new_id("dep") for _ in range(2000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_unknown_prefix_is_refused():
    with pytest.raises(ValueError, match="unknown id prefix"):
        ids.new_id("xyz")


def test_token_is_url_safe_and_long():
    token = ids.token()
    assert re.fullmatch(r"[A-Za-z0-9_\-]{43}", token)
