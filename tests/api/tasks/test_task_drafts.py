"""Task drafts through the API: create, validate, edit, read, list — and who may touch them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.adapters import clock
from chalicelib.store import ledger as books
from tests.api.tasks.conftest import draft, promotion


def test_create_draft_returns_201_with_the_task(api, market):
    m = market.merchant()
    reply = api.post("/v1/tasks", draft(title="  手机使用习惯问卷  ", review_ttl_s=7200), token=m.token)
    assert reply.status == 201, reply.body
    t = reply.json
    assert t["status"] == "draft" and t["merchant_id"] == m.id and t["id"].startswith("tsk_")
    assert t["title"] == "手机使用习惯问卷" and t["review_ttl_s"] == 7200
    assert t["fee_bps"] is None and t["slots_left"] == 0 and t["escrow_required_fen"] is None
    assert t["ends_at"] == "2026-12-02T08:00:00.000000Z"


def test_review_ttl_defaults_to_a_day(api, market):
    m = market.merchant()
    body = draft()
    del body["review_ttl_s"]
    assert api.post("/v1/tasks", body, token=m.token).json["review_ttl_s"] == 86400


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "短"}, "title"),
        ({"description": "太短了"}, "description"),
        ({"steps": []}, "steps"),
        ({"proof": {}}, "proof"),
        ({"reward_fen": 9}, "reward_fen"),
        ({"slots": 10_001}, "slots"),
        ({"claim_ttl_s": 300}, "claim_ttl_s"),
        ({"review_ttl_s": 600}, "review_ttl_s"),
        ({"eligibility": {"regions": ["00"]}}, "eligibility.regions"),
        ({"eligibility": {"min_credit": 200}}, "eligibility.min_credit"),
    ],
)
def test_invalid_draft_is_422_with_the_field_in_chinese(api, market, overrides, field):
    m = market.merchant()
    reply = api.post("/v1/tasks", draft(**overrides), token=m.token)
    assert reply.status == 422 and reply.code == "VALIDATION_FAILED", reply.body
    message = reply.json["error"]["details"]["fields"][field]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message)


def test_ends_at_must_be_an_hour_ahead_on_the_stage_clock(api, market):
    m = market.merchant()
    soon = books.iso(clock.now() + timedelta(minutes=30))
    reply = api.post("/v1/tasks", draft(ends_at=soon), token=m.token)
    assert reply.status == 422 and "ends_at" in reply.json["error"]["details"]["fields"]
    naive = api.post("/v1/tasks", draft(ends_at="2026-12-01T08:00:00"), token=m.token)
    assert naive.status == 422 and "ends_at" in naive.json["error"]["details"]["fields"]


def test_unknown_category_and_unknown_fields_are_refused(api, market):
    m = market.merchant()
    assert api.post("/v1/tasks", draft(category="shuadan"), token=m.token).status == 422
    extra = api.post("/v1/tasks", {**draft(), "fee_bps": 1}, token=m.token)
    assert extra.status == 422 and "fee_bps" in extra.json["error"]["details"]["fields"]


def test_promotion_needs_a_gps_check_in(api, market):
    m = market.merchant()
    body = promotion()
    body["proof"] = {"images_min": 1}
    reply = api.post("/v1/tasks", body, token=m.token)
    assert reply.status == 422 and "proof.gps" in reply.json["error"]["details"]["fields"]
    assert api.post("/v1/tasks", promotion(), token=m.token).status == 201


def test_workers_cannot_create_tasks(api, accounts):
    w = accounts.make("worker")
    reply = api.post("/v1/tasks", draft(), token=w.token)
    assert reply.status == 403 and reply.code == "ROLE_FORBIDDEN"


def test_edit_replaces_given_fields_and_keeps_the_rest(api, market):
    m = market.merchant()
    tid = market.create(m)
    reply = api.patch(f"/v1/tasks/{tid}", {"reward_fen": 350, "steps": ["打开问卷", "提交截图"]}, token=m.token)
    assert reply.status == 200, reply.body
    t = reply.json
    assert t["reward_fen"] == 350 and t["steps"] == ["打开问卷", "提交截图"] and t["slots"] == 10


def test_edit_is_validated_as_a_whole(api, market):
    m = market.merchant()
    tid = market.create(m, promotion())
    reply = api.patch(f"/v1/tasks/{tid}", {"proof": {"images_min": 2}}, token=m.token)
    assert reply.status == 422 and "proof.gps" in reply.json["error"]["details"]["fields"]
    assert market.task(m, tid)["proof"]["gps"]["radius_m"] == 500


def test_edit_of_a_task_in_review_or_live_is_409(api, market):
    m = market.merchant(100_000)
    pending = market.create(m)
    assert market.submit(m, pending).status == 200
    live = market.publish(m)
    for tid in (pending, live):
        reply = api.patch(f"/v1/tasks/{tid}", {"reward_fen": 300}, token=m.token)
        assert reply.status == 409 and reply.code == "TASK_STATE_CONFLICT", reply.body


def test_another_merchants_task_does_not_exist(api, market):
    owner, other = market.merchant(), market.merchant()
    tid = market.create(owner)
    for reply in (
        api.get(f"/v1/tasks/{tid}", token=other.token),
        api.patch(f"/v1/tasks/{tid}", {"reward_fen": 300}, token=other.token),
        api.post(f"/v1/tasks/{tid}/submit", token=other.token),
        api.get(f"/v1/tasks/{tid}/stats", token=other.token),
    ):
        assert reply.status == 404 and reply.code == "TASK_NOT_FOUND", reply.body
    assert market.task(owner, tid)["reward_fen"] == 200


def test_own_list_filters_by_status_and_pages_with_a_cursor(api, market):
    m, other = market.merchant(100_000), market.merchant()
    drafts = [market.create(m) for _ in range(3)]
    live = market.publish(m)
    market.create(other)
    first = api.get("/v1/tasks?limit=2", token=m.token)
    assert first.status == 200 and len(first.json["items"]) == 2 and first.json["next_cursor"]
    rest = api.get(f"/v1/tasks?limit=2&cursor={first.json['next_cursor']}", token=m.token)
    assert rest.status == 200 and rest.json["next_cursor"] is None
    seen = [t["id"] for t in first.json["items"] + rest.json["items"]]
    assert sorted(seen) == sorted([*drafts, live])
    only = api.get("/v1/tasks?status=published", token=m.token).json["items"]
    assert [t["id"] for t in only] == [live]
    assert [t["id"] for t in api.get("/v1/tasks?status=draft", token=m.token).json["items"]] == drafts[::-1]
    moved = api.get(f"/v1/tasks?limit=2&status=draft&cursor={first.json['next_cursor']}", token=m.token)
    assert moved.status == 400 and moved.code == "INVALID_CURSOR"
