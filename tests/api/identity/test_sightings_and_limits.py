"""Device and IP sightings on register and login; the shared rate-limit store."""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.config import settings
from chalicelib.domain.errors import RateLimited
from chalicelib.store import ratelimit, sightings


def test_register_and_login_record_hashed_device_and_ip_sightings(api, flow, phone):
    user_id = flow.register(phone).json["user"]["id"]
    flow.login(phone, headers={"X-Device-Id": "dev-test-1"})
    [device] = sightings.users_on_device("dev-test-1")
    assert device.user_id == user_id
    assert device.seen == 2
    assert device.last_action == "login"
    assert device.first_seen == "2026-11-25T08:01:01Z"
    [ip] = sightings.users_on_ip("127.0.0.1")
    assert ip.user_id == user_id
    raw = json.dumps(boto3.client("dynamodb", region_name=settings().region).scan(TableName=settings().table_name))
    assert "dev-test-1" not in raw
    assert "127.0.0.1" not in raw


def test_shared_device_lists_every_account(aws, clock):
    sightings.record_sighting("usr_a", "shared-phone", "10.0.0.1", "claim")
    sightings.record_sighting("usr_b", "shared-phone", None, "withdrawal")
    assert sorted(s.user_id for s in sightings.users_on_device("shared-phone")) == ["usr_a", "usr_b"]
    with pytest.raises(ValueError):
        sightings.record_sighting("usr_a", "x", None, "dance")


def test_fixed_window_counter_refuses_past_the_limit_and_resets(aws, clock):
    clock.advance(60 - clock.now_ts() % 60)
    assert [ratelimit.hit("t", "s", 3, 60) for _ in range(3)] == [1, 2, 3]
    with pytest.raises(RateLimited) as err:
        ratelimit.hit("t", "s", 3, 60, code="SLOW_DOWN")
    assert err.value.code == "SLOW_DOWN"
    assert err.value.headers["Retry-After"] == "60"
    assert ratelimit.count("t", "s", 60) == 3  # a refused hit does not count
    assert ratelimit.hit("t", "other", 3, 60) == 1
    clock.advance(60)
    assert ratelimit.hit("t", "s", 3, 60) == 1


def test_block_lasts_its_time_and_can_be_lifted(aws, clock):
    assert ratelimit.blocked_for("b", "s") == 0
    ratelimit.block("b", "s", 120)
    assert ratelimit.blocked_for("b", "s") == 120
    clock.advance(100)
    assert ratelimit.blocked_for("b", "s") == 20
    clock.advance(20)
    assert ratelimit.blocked_for("b", "s") == 0  # expired even though moto's TTL never deletes
    ratelimit.block("b", "s", 120)
    ratelimit.unblock("b", "s")
    assert ratelimit.blocked_for("b", "s") == 0
