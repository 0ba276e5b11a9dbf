"""Pure webhook rules: signatures, URL and address rules, event detection, ids and the retry schedule."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain import webhooks as W
from chalicelib.domain.errors import Invalid

SECRET = "whsec_test"
BODY = b'{"id":"evt_1","type":"claim.accepted"}'


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    import hashlib
    import hmac

    header = W.signature_header(SECRET, 1_790_000_000, BODY)
    expected = hmac.new(SECRET.encode(), b"1790000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1790000000,v1={expected}"


def test_verify_accepts_the_signature_and_refuses_tampering_staleness_and_other_secrets():
    t = 1_790_000_000
    header = W.signature_header(SECRET, t, BODY)
    assert W.verify(SECRET, header, BODY, now_ts=t + 10)
    assert not W.verify(SECRET, header, BODY + b" ", now_ts=t)
    assert not W.verify("whsec_other", header, BODY, now_ts=t)
    assert not W.verify(SECRET, header, BODY, now_ts=t + W.SIGNATURE_TOLERANCE_S + 1)
    assert not W.verify(SECRET, header.replace(f"t={t}", f"t={t + 1}"), BODY, now_ts=t)
    assert not W.verify(SECRET, "v1=abc", BODY, now_ts=t)
    # During a secret rotation a receiver may see several v1 values: any one matching is enough.
    assert W.verify(SECRET, f"t={t},v1=00,v1={W.signature(SECRET, t, BODY)}", BODY, now_ts=t)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.1.2.3",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "169.254.1.1",
        "100.100.100.200",  # Alibaba Cloud metadata, in the shared address space
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fd00:ec2::254",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "192.0.2.1",  # documentation
        "fe80::1%eth0",
    ],
)
def test_non_public_addresses_are_refused(address):
    assert W.address_problem(address) is not None
    with pytest.raises(Invalid) as err:
        W.check_addresses([address])
    assert err.value.code == "WEBHOOK_URL_FORBIDDEN" and err.value.status == 422


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_are_allowed(address):
    assert W.address_problem(address) is None
    assert W.check_addresses([address]) == [address]


def test_one_forbidden_address_among_public_ones_refuses_the_host():
    with pytest.raises(Invalid) as err:
        W.check_addresses(["93.184.216.34", "10.0.0.1"])
    assert err.value.code == "WEBHOOK_URL_FORBIDDEN"


def test_a_host_that_does_not_resolve_is_refused():
    with pytest.raises(Invalid) as err:
        W.check_addresses([])
    assert err.value.code == "WEBHOOK_URL_UNRESOLVABLE"


def test_parse_url_requires_https_unless_allowed_and_refuses_credentials_and_fragments():
    t = W.parse_url("https://hooks.example.com:8443/cb?x=1", allow_http=False)
    assert (t.scheme, t.host, t.port, t.path) == ("https", "hooks.example.com", 8443, "/cb?x=1")
    assert t.host_header == "hooks.example.com:8443"
    assert W.parse_url("https://[2606:2800::1]/", allow_http=False).host_header == "[2606:2800::1]"
    assert W.parse_url("http://127.0.0.1:9000/x", allow_http=True).port == 9000
    cases = {
        "http://hooks.example.com/": "WEBHOOK_URL_FORBIDDEN",
        "ftp://hooks.example.com/": "WEBHOOK_URL_INVALID",
        "https://user:pw@hooks.example.com/": "WEBHOOK_URL_INVALID",
        "https:///nohost": "WEBHOOK_URL_INVALID",
        "https://hooks.example.com/#frag": "WEBHOOK_URL_INVALID",
        "https://hooks.example.com:99999/": "WEBHOOK_URL_INVALID",
        "https://hooks.example.com/a b": "WEBHOOK_URL_INVALID",
    }
    for url, code in cases.items():
        with pytest.raises(Invalid) as err:
            W.parse_url(url, allow_http=False)
        assert err.value.code == code, url


def test_events_must_be_known_and_are_deduplicated():
    chosen = W.check_events(["claim.accepted", "claim.accepted", "task.completed"])
    assert chosen == ["claim.accepted", "task.completed"]
    with pytest.raises(Invalid) as err:
        W.check_events(["claim.accepted", "order.paid"])
    assert err.value.code == "WEBHOOK_EVENT_UNKNOWN"


def test_transitions_map_to_events():
    assert W.task_events({"status": "pending_review"}, {"status": "published"}) == ["task.approved"]
    assert W.task_events({"status": "pending_review"}, {"status": "approved_unfunded"}) == ["task.approved"]
    assert W.task_events({"status": "approved_unfunded"}, {"status": "published"}) == []  # funded later: no event
    assert W.task_events({"status": "pending_review"}, {"status": "rejected"}) == ["task.rejected"]
    assert W.task_events({"status": "published"}, {"status": "completed"}) == ["task.completed"]
    assert W.task_events({"status": "published"}, {"status": "published"}) == []
    assert W.claim_events({"status": "claimed"}, {"status": "submitted"}) == ["claim.submitted"]
    assert W.claim_events({"status": "submitted"}, {"status": "accepted"}) == ["claim.accepted"]
    assert W.claim_events({"status": "appealed"}, {"status": "rejected"}) == ["claim.rejected"]
    assert W.claim_events({"status": "accepted"}, {"status": "accepted", "rating": 5}) == []
    assert W.claim_events(None, {"status": "claimed"}) == []
    assert W.dispute_events({"status": "answered"}, {"status": "resolved"}) == ["dispute.resolved"]
    assert W.dispute_events({"status": "resolved"}, {"status": "resolved"}) == []


def test_delivery_ids_are_deterministic_time_ordered_and_per_endpoint():
    at = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    a = W.delivery_id("whk_A", "evt_1", at)
    assert a == W.delivery_id("whk_A", "evt_1", at)
    assert a != W.delivery_id("whk_B", "evt_1", at) != W.delivery_id("whk_A", "evt_2", at)
    assert a.startswith("dlv_") and len(a) == 30
    assert W.delivery_id("whk_A", "evt_0", at - timedelta(milliseconds=1)) < a
    assert W.event_id("claim.accepted", "clm_1", "t1") != W.event_id("claim.accepted", "clm_1", "t2")


def test_retry_ceiling_doubles_from_a_minute_and_caps_at_two_hours():
    assert [W.retry_ceiling_s(n) for n in range(1, 10)] == [60, 120, 240, 480, 960, 1920, 3840, 7200, 7200]


def test_retry_delay_is_full_jitter_under_the_ceiling_with_a_one_minute_floor():
    rng = random.Random(7)
    for n in range(1, 20):
        draws = [W.retry_delay_s(n, rng) for _ in range(200)]
        assert all(W.FLOOR_S <= d <= W.retry_ceiling_s(n) for d in draws)
        if W.retry_ceiling_s(n) >= 1000:
            # full jitter: the draws spread over the whole window, not a narrow band around the ceiling
            assert min(draws) < W.retry_ceiling_s(n) * 0.2 and max(draws) > W.retry_ceiling_s(n) * 0.8


def _simulate(rng: random.Random) -> tuple[int, timedelta]:
    """Attempts and time span of a delivery whose receiver always fails."""
    created = now = datetime(2026, 11, 25, tzinfo=UTC)
    attempts = 0
    while True:
        attempts += 1
        if W.exhausted(created, now, attempts):
            return attempts, now - created
        now += timedelta(seconds=W.retry_delay_s(attempts, rng))


def test_a_failing_delivery_is_retried_for_at_least_24_hours_then_dead():
    rng = random.Random(2026)
    runs = [_simulate(rng) for _ in range(500)]
    assert all(span >= W.RETRY_WINDOW for _, span in runs)
    assert all(span < W.RETRY_WINDOW + timedelta(seconds=W.CAP_S) for _, span in runs)
    attempts = sorted(a for a, _ in runs)
    assert 15 <= attempts[len(attempts) // 2] <= 40  # median attempts (figures in docs/decisions/0072)
    assert attempts[-1] < W.MAX_ATTEMPTS


def test_endpoint_is_disabled_after_three_days_of_failures():
    start = datetime(2026, 11, 25, tzinfo=UTC)
    assert not W.should_disable(None, start + timedelta(days=9))
    assert not W.should_disable(start, start + timedelta(days=3) - timedelta(seconds=1))
    assert W.should_disable(start, start + timedelta(days=3))
