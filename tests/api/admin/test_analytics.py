"""Analytics from stream rollups: a seeded day's numbers, exact; each call a few bounded Queries, never a Scan."""

from __future__ import annotations

import h3
import pytest

from chalicelib.services import analytics
from tests.api.tasks.conftest import draft, promotion, relogin
from tests.conftest import feed_stream
from tests.opcount import count_ops

BEIJING_ID = ("张三", "11010519491231002X")
GUANGDONG_ID = ("李四", "440524198001010013")
SHANGHAI = (31.2304, 121.4737)


def _ok(reply, status=200):
    assert reply.status == status, reply.body
    return reply.json


@pytest.fixture
def seeded_day(api, users, market, clock):
    """One Beijing day: 2 tasks published, 4 claims (accepted after 20 min and 50 min, rejected after 2 h,
    abandoned), workers from Beijing, Guangdong and unverified ones."""
    merchant = market.merchant(fen=100_000)
    task_a = market.publish(
        merchant, promotion(proof={"text": "门店名称", "gps": {**dict(zip(("lat", "lng"), SHANGHAI)), "radius_m": 500}})
    )
    task_b = market.publish(merchant, draft(proof={"text": "问卷编号"}, eligibility={"regions": ["11", "44"]}))
    w1, w2, w3, w4 = (users.make("worker") for _ in range(4))
    for w, (name, number) in ((w3, BEIJING_ID), (w4, GUANGDONG_ID)):
        _ok(api.post("/v1/me/real-name", {"name": name, "id_number": number}, token=w.token))
    c1 = _ok(api.post(f"/v1/tasks/{task_a}/claims", token=w1.token), 201)["id"]
    c2 = _ok(api.post(f"/v1/tasks/{task_a}/claims", token=w2.token), 201)["id"]
    c3 = _ok(api.post(f"/v1/tasks/{task_b}/claims", token=w3.token), 201)["id"]
    c4 = _ok(api.post(f"/v1/tasks/{task_b}/claims", token=w4.token), 201)["id"]
    clock.advance(300)
    relogin(w1, w2, w3, w4, merchant)
    here = {"lat": SHANGHAI[0], "lng": SHANGHAI[1]}
    for w, c, body in (
        (w1, c1, {"text": "人民广场店", "location": here}),
        (w2, c2, {"text": "人民广场店", "location": here}),
        (w4, c4, {"text": "Q-20261125"}),
    ):
        _ok(api.post(f"/v1/claims/{c}/proof", body, token=w.token))
    _ok(api.post(f"/v1/claims/{c3}/abandon", token=w3.token))
    clock.advance(1200)
    relogin(merchant)
    _ok(api.post(f"/v1/claims/{c1}/accept", {"rating": 5}, token=merchant.token))  # 20 min after submission
    clock.advance(1800)
    relogin(merchant)
    _ok(api.post(f"/v1/claims/{c4}/accept", {}, token=merchant.token))  # 50 min
    clock.advance(4200)
    relogin(merchant)
    _ok(api.post(f"/v1/claims/{c2}/reject", {"reason": "照片与门店不符"}, token=merchant.token))  # 2 h
    assert feed_stream() == {"batchItemFailures": []}
    assert feed_stream() == {"batchItemFailures": []}  # redelivered: nothing counts twice
    return {"merchant": merchant, "workers": (w1, w2, w3, w4), "task_a": task_a}


def _accounts_created() -> int:
    from chalicelib.store.users import UserItem

    return sum(1 for _ in UserItem.scan())  # the test's own check may Scan; the API may not


def test_overview_and_heatmap_count_a_seeded_day_exactly_from_rollups(api, users, seeded_day):
    """One seeded day (slow to build) checked by both reads."""
    _check_overview(api, users)
    _check_heatmap(api, users)


def _check_overview(api, users):
    people = _accounts_created()
    admin = users.staff("admin")  # signed in after the stream was fed: not in the day's figures
    with count_ops() as ops:
        reply = api.get("/v1/admin/analytics/overview?date=2026-11-25", token=admin.token)
    body = _ok(reply)
    # Three single-row Queries; the one GetItem is authentication reading the new admin's status.
    assert "Scan" not in ops.ops and ops.ops["Query"] == 3 and set(ops.ops) <= {"Query", "GetItem"}
    assert ops.ops["GetItem"] <= 1
    day = body["day"]
    assert day["bucket"] == "2026-11-25"
    assert day["active_users"] == people  # every account signed in today; repeated sign-ins count once
    assert day["new_users"] == people and day["new_workers"] == 4
    assert day["tasks_published"] == 2
    assert day["claims_created"] == 4
    assert (day["claims_accepted"], day["claims_rejected"], day["claims_abandoned"], day["claims_expired"]) == (
        2,
        1,
        1,
        0,
    )
    assert day["completion_rate"] == 0.5
    assert day["reviews"] == 3
    # 1200 s, 3000 s, 7200 s: the histogram's median sits in the (1800, 3600] bucket with the true one (3000 s).
    assert day["median_review_s"] == 2700
    assert body["week"]["bucket"] == "2026-W48" and body["month"]["bucket"] == "2026-11"
    for period in ("week", "month"):
        assert {k: v for k, v in body[period].items() if k != "bucket"} == {
            k: v for k, v in day.items() if k != "bucket"
        }
    empty = _ok(api.get("/v1/admin/analytics/overview?date=2026-11-20", token=admin.token))["day"]
    assert empty["active_users"] == 0 and empty["completion_rate"] is None and empty["median_review_s"] is None


def _check_heatmap(api, users):
    admin = users.staff("admin")
    with count_ops() as ops:
        reply = api.get("/v1/admin/analytics/heatmap?from=2026-11-25&to=2026-11-25", token=admin.token)
    body = _ok(reply)
    assert "Scan" not in ops.ops and ops.ops["Query"] == 1 and set(ops.ops) <= {"Query", "GetItem"}
    cell = h3.latlng_to_cell(*SHANGHAI, analytics.HEAT_RES)
    assert [(c["cell"], c["tasks"], c["claims"]) for c in body["cells"]] == [(cell, 1, 2)]
    assert abs(body["cells"][0]["lat"] - SHANGHAI[0]) < 0.1
    assert {p["province"]: (p["tasks"], p["claims"]) for p in body["provinces"]} == {
        "00": (1, 2),  # the promotion task is open to all; its two workers have no verified identity
        "11": (1, 1),
        "44": (1, 1),
    }
    assert _ok(api.get("/v1/admin/analytics/heatmap?from=2026-11-26&to=2026-11-30", token=admin.token))["cells"] == []
    too_long = api.get("/v1/admin/analytics/heatmap?from=2026-01-01&to=2026-11-30", token=admin.token)
    assert too_long.status == 422


def test_review_histogram_median():
    assert analytics.histogram_median([0] * 13) is None
    counts = [0] * 13
    counts[analytics.review_bucket(45)] = 1
    assert analytics.histogram_median(counts) == 30  # halfway into (0, 60]
    counts[analytics.review_bucket(10 * 86400)] = 3
    assert analytics.histogram_median(counts) == analytics.REVIEW_BOUNDS_S[-1]  # the open bucket: "at least"
