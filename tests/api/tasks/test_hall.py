"""The task hall through the API: what is listed, in which order, for whom (locked or hidden), with which
filters; and how publishing, pausing, claims and the stream move tasks in and out of it."""

from __future__ import annotations

from chalicelib.adapters import clock as clock_adapter
from chalicelib.services import tasks as task_service
from chalicelib.store import keys, merchant_stats
from chalicelib.store.claims import WorkerCounters
from tests.api.money.conftest import verified  # noqa: F401
from tests.api.tasks.conftest import draft, promotion, relogin

TEXT = {"text": "填写问卷编号"}


def listed(api, worker, query: str = "") -> list[dict]:
    reply = api.get(f"/v1/hall{query}", token=worker.token)
    assert reply.status == 200, reply.body
    return list(reply.json["items"])


def ids(api, worker, query: str = "") -> list[str]:
    return [i["id"] for i in listed(api, worker, query)]


def test_only_published_tasks_with_free_slots_are_listed(api, market):
    m = market.merchant(100_000)
    w = market.accounts.make("worker")
    a_draft = market.create(m)
    pending = market.create(m)
    market.submit(m, pending)
    live = market.publish(m, draft(title="手机使用习惯问卷 上架"))
    paused = market.publish(m)
    api.post(f"/v1/tasks/{paused}/pause", token=m.token)
    cancelled = market.publish(m)
    api.post(f"/v1/tasks/{cancelled}/cancel", token=m.token)
    items = listed(api, w)
    assert [i["id"] for i in items] == [live]
    item = items[0]
    assert (item["title"], item["category"], item["category_label"]) == ("手机使用习惯问卷 上架", "survey", "问卷调查")
    assert (item["reward_fen"], item["slots_left"], item["member"], item["locked_reason"]) == (200, 10, False, None)
    assert item["merchant"] == {
        "merchant_id": m.id,
        "average_rating": None,
        "rating_count": 0,
        "mean_review_s": None,
        "median_review_s": None,
        "reject_rate": None,
        "reviewed_count": 0,
    }
    assert a_draft not in ids(api, w)


def test_pause_and_resume_take_a_task_out_and_back_at_once(api, market):
    m = market.merchant(100_000)
    w = market.accounts.make("worker")
    tid = market.publish(m)
    api.post(f"/v1/tasks/{tid}/pause", token=m.token)
    assert ids(api, w) == []
    api.post(f"/v1/tasks/{tid}/resume", token=m.token)
    assert ids(api, w) == [tid]


def test_the_last_slot_taken_takes_the_task_out_and_an_abandon_brings_it_back(api, market, pump):
    m = market.merchant(100_000)
    w1, w2 = market.accounts.make("worker"), market.accounts.make("worker")
    tid = market.publish(m, draft(slots=2, proof=TEXT))
    first = api.post(f"/v1/tasks/{tid}/claims", token=w1.token).json["id"]
    pump.drain()
    assert [(i["id"], i["slots_left"]) for i in listed(api, w2)] == [(tid, 1)]
    api.post(f"/v1/tasks/{tid}/claims", token=w2.token)
    pump.drain()
    assert ids(api, w2) == []
    assert api.post(f"/v1/claims/{first}/abandon", token=w1.token).status == 200
    pump.drain()
    assert [(i["id"], i["slots_left"]) for i in listed(api, w2)] == [(tid, 1)]


def test_a_slot_freed_while_paused_lists_the_task_again_only_on_resume(api, market, pump):
    m = market.merchant(100_000)
    w1, w2 = market.accounts.make("worker"), market.accounts.make("worker")
    tid = market.publish(m, draft(slots=1, proof=TEXT))
    claimed = api.post(f"/v1/tasks/{tid}/claims", token=w1.token).json["id"]
    pump.drain()
    api.post(f"/v1/tasks/{tid}/pause", token=m.token)
    api.post(f"/v1/claims/{claimed}/abandon", token=w1.token)
    pump.drain()
    assert ids(api, w2) == []
    api.post(f"/v1/tasks/{tid}/resume", token=m.token)
    pump.drain()
    assert [(i["id"], i["slots_left"]) for i in listed(api, w2)] == [(tid, 1)]


def test_a_stale_stream_record_does_not_relist_a_cancelled_task(api, market, pump):
    m = market.merchant(100_000)
    w1, w2 = market.accounts.make("worker"), market.accounts.make("worker")
    tid = market.publish(m, draft(slots=3, proof=TEXT))
    api.post(f"/v1/tasks/{tid}/claims", token=w1.token)  # its record still waits in the stream …
    api.post(f"/v1/tasks/{tid}/cancel", token=m.token)  # … when the task is cancelled
    pump.drain()
    assert ids(api, w2) == []


def test_past_ends_at_a_task_is_not_listed_even_before_the_sweep(api, market, clock):
    m = market.merchant(100_000)
    w = market.accounts.make("worker")
    tid = market.publish(m, draft(ends_at="2026-11-25T10:00:00Z"))
    assert ids(api, w) == [tid]
    clock.advance(2 * 3600)
    relogin(w)
    assert ids(api, w) == [] and ids(api, w, "?sort=ending") == [] and ids(api, w, "?sort=reward") == []
    assert task_service.end_task(tid, clock_adapter.now()) is True
    assert ids(api, w) == []


def test_sorts_order_the_hall_and_members_come_first(api, market, clock, monkeypatch):
    m, member = market.merchant(1_000_000), market.merchant(1_000_000)
    w = market.accounts.make("worker")
    cheap_late = market.publish(m, draft(reward_fen=100, ends_at="2026-12-20T00:00:00Z"))
    clock.advance(60)
    rich_soon = market.publish(m, draft(reward_fen=900, ends_at="2026-12-01T00:00:00Z"))
    clock.advance(60)
    middle = market.publish(m, draft(reward_fen=500, ends_at="2026-12-10T00:00:00Z"))
    monkeypatch.setattr(task_service, "_is_member", lambda merchant_id, now: merchant_id == member.id)
    relogin(market.desk())
    boosted = market.publish(member, draft(reward_fen=50, ends_at="2026-12-30T00:00:00Z"))
    relogin(w)
    assert ids(api, w, "?sort=newest") == [boosted, middle, rich_soon, cheap_late]
    assert ids(api, w, "?sort=reward") == [boosted, rich_soon, middle, cheap_late]
    assert ids(api, w, "?sort=ending") == [boosted, rich_soon, middle, cheap_late]
    assert listed(api, w)[0]["member"] is True
    assert market.task(member, boosted)["fee_bps"] == 200  # the member rate, snapshotted


def test_category_and_reward_range_filters_are_inclusive(api, market):
    m = market.merchant(1_000_000)
    w = market.accounts.make("worker")
    made = {r: market.publish(m, draft(reward_fen=r)) for r in (99, 100, 150, 500, 501)}
    trial = market.publish(m, draft(category="app_trial", reward_fen=150))
    got = set(ids(api, w, "?min_reward_fen=100&max_reward_fen=500"))
    assert got == {made[100], made[150], made[500], trial}
    assert set(ids(api, w, "?category=survey&min_reward_fen=100&max_reward_fen=500")) == {
        made[100],
        made[150],
        made[500],
    }
    assert ids(api, w, "?category=app_trial") == [trial]
    assert set(ids(api, w, "?min_reward_fen=501")) == {made[501]}
    assert set(ids(api, w, "?max_reward_fen=99&sort=ending")) == {made[99]}
    assert ids(api, w, "?sort=reward&min_reward_fen=140&max_reward_fen=160") == [trial, made[150]]


def test_near_lists_located_tasks_inside_the_radius_with_their_distance(api, market):
    m = market.merchant(1_000_000)
    w = market.accounts.make("worker")
    here = market.publish(m, promotion())  # 人民广场
    gps_2km = {"lat": 31.2484, "lng": 121.4737, "radius_m": 300}  # ~2 km north
    north = market.publish(m, promotion(proof={"images_min": 1, "gps": gps_2km}))
    far = {"lat": 31.0, "lng": 121.2, "radius_m": 300}  # ~37 km away
    market.publish(m, promotion(proof={"images_min": 1, "gps": far}))
    market.publish(m)  # a survey has no place
    items = listed(api, w, "?near=31.2304,121.4737&radius_km=5")
    assert {i["id"]: i["distance_m"] for i in items} == {here: 0, north: 2002}
    assert ids(api, w, "?near=31.2304,121.4737&radius_km=1") == [here]
    assert ids(api, w, "?near=31.2304,121.4737&radius_km=5&category=survey") == []
    assert ids(api, w, "?near=31.2304,121.4737&radius_km=5&sort=reward&min_reward_fen=301") == []
    assert listed(api, w)[0]["distance_m"] is None


def test_locked_tasks_show_why_and_out_of_reach_ones_are_hidden(api, market, verified):  # noqa: F811
    m = market.merchant(1_000_000)
    premium = market.publish(m, draft(eligibility={"premium_pool": True}))
    picky = market.publish(m, draft(eligibility={"min_credit": 120}))
    shanghai = market.publish(m, draft(eligibility={"regions": ["31"]}))
    beijing = market.publish(m, draft(eligibility={"regions": ["11"]}))
    newbies = market.publish(m, draft(eligibility={"new_workers_only": True}))
    fresh = market.accounts.make("worker")
    locks = {i["id"]: (i["locked_reason"] or {}).get("code") for i in listed(api, fresh)}
    assert locks == {
        premium: "PREMIUM_ONLY",
        picky: "CREDIT_TOO_LOW",
        shanghai: "NOT_ELIGIBLE",  # not verified yet: verifying may unlock it
        beijing: "NOT_ELIGIBLE",
        newbies: None,
    }
    veteran = verified()  # real name from a Beijing ID
    pk, sk = keys.worker_counters(veteran.id)
    WorkerCounters(PK=pk, SK=sk, accepted_count=3, open_claims=0).save()
    locks = {i["id"]: (i["locked_reason"] or {}).get("code") for i in listed(api, veteran)}
    assert locks == {premium: "PREMIUM_ONLY", picky: "CREDIT_TOO_LOW", beijing: None}


def test_hall_items_carry_the_merchants_track_record(api, market):
    m = market.merchant(100_000)
    w = market.accounts.make("worker")
    market.publish(m)
    pk, sk = keys.merchant_stats(m.id)
    merchant_stats.MerchantStats(
        PK=pk,
        SK=sk,
        reviewed_count=40,
        rejected_count=2,
        review_seconds_total=40 * 3600,
        rt04=10,  # (1,800 s, 1 h]
        rt05=30,  # (1 h, 2 h]
        rating_sum=180,
        rating_count=40,
    ).save()
    record = listed(api, w)[0]["merchant"]
    assert record == {
        "merchant_id": m.id,
        "average_rating": 4.5,
        "rating_count": 40,
        "mean_review_s": 3600,
        "median_review_s": 4_800,  # ranks 20 and 21 of 40: the 10th and 11th of 30 spread over (1 h, 2 h]
        "reject_rate": 0.05,
        "reviewed_count": 40,
    }


def test_pages_follow_the_cursor_without_gaps_or_repeats(api, market):
    m = market.merchant(1_000_000)
    w = market.accounts.make("worker")
    made = [market.publish(m, draft(reward_fen=100 + 10 * i)) for i in range(7)]
    seen: list[str] = []
    cursor = None
    for _ in range(4):
        query = "?sort=reward&limit=3&min_reward_fen=100&max_reward_fen=150" + (f"&cursor={cursor}" if cursor else "")
        reply = api.get(f"/v1/hall{query}", token=w.token).json
        seen += [i["id"] for i in reply["items"]]
        cursor = reply["next_cursor"]
        if not cursor:
            break
    assert seen == made[:-1][::-1]
    first = api.get("/v1/hall?limit=3", token=w.token).json["next_cursor"]
    other_filter = api.get(f"/v1/hall?limit=3&sort=ending&cursor={first}", token=w.token)
    assert other_filter.status == 400 and other_filter.code == "INVALID_CURSOR"
    someone_else = market.accounts.make("worker")
    assert api.get(f"/v1/hall?limit=3&cursor={first}", token=someone_else.token).code == "INVALID_CURSOR"


def test_bad_hall_queries_are_422_and_the_hall_is_for_workers(api, market):
    w, m = market.accounts.make("worker"), market.merchant()
    for query in (
        "?min_reward_fen=500&max_reward_fen=100",
        "?near=31.2,abc",
        "?near=95,121",
        "?radius_km=3",
        "?near=31.2,121.4&radius_km=80",
        "?sort=popular",
        "?category=gambling",
    ):
        assert api.get(f"/v1/hall{query}", token=w.token).status == 422, query
    assert api.get("/v1/hall", token=m.token).status == 403


def test_a_listed_tasks_page_shows_requirements_and_lock(api, market):
    m = market.merchant(100_000)
    w = market.accounts.make("worker")
    tid = market.publish(m, promotion(eligibility={"min_credit": 120}))
    page = api.get(f"/v1/hall/{tid}", token=w.token)
    assert page.status == 200, page.body
    body = page.json
    assert body["proof"]["gps"]["radius_m"] == 500 and body["steps"][0] == "到店签到"
    assert body["locked_reason"]["code"] == "CREDIT_TOO_LOW" and "fee_bps" not in body
    a_draft = market.create(m)
    assert api.get(f"/v1/hall/{a_draft}", token=w.token).code == "TASK_NOT_FOUND"
    api.post(f"/v1/tasks/{tid}/pause", token=m.token)
    assert api.get(f"/v1/hall/{tid}", token=w.token).status == 404
    assert api.get(f"/v1/hall/{tid}", token=m.token).status == 403
