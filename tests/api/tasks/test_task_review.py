"""Submit, the content screen, the desk's queue, approve (funded or not), reject, fund, fee rates — and every
illegal move among them, each a 409 with a stable code."""

from __future__ import annotations

from chalicelib.domain import ledger as L
from chalicelib.store import audit as audit_store
from tests.api.tasks.conftest import balance, balances, draft, relogin

SHUADAN = {
    "title": "淘宝刷单返现任务",
    "description": "拍下指定商品后确认收货并好评，本金和佣金当天返还，日结。",
    "steps": ["拍下商品", "确认收货", "好评"],
    "category": "other",
}


def audit_actions(target_id: str) -> list[tuple[str, str | None]]:
    return [(e.action, e.reason) for e in audit_store.month("202611", newest_first=False) if e.target_id == target_id]


def test_submit_puts_the_task_in_the_desks_queue(api, market):
    m = market.merchant()
    tid = market.create(m)
    reply = market.submit(m, tid)
    assert reply.status == 200 and reply.json["status"] == "pending_review", reply.body
    assert reply.json["submitted_at"] == "2026-11-25T08:00:00.000000Z" and reply.json["screen_rule"] is None
    queue = api.get("/v1/admin/tasks?status=pending_review", token=market.desk().token)
    assert queue.status == 200 and [t["id"] for t in queue.json["items"]] == [tid]


def test_screen_rejects_shuadan_at_once_with_the_rule(api, market):
    m = market.merchant()
    tid = market.create(m, draft(**SHUADAN))
    reply = market.submit(m, tid)
    assert reply.status == 409 and reply.code == "CONTENT_REJECTED", reply.body
    details = reply.json["error"]["details"]
    assert details["rule_id"] == "R-FAKE-ORDER-01" and details["matched"] == "刷单" and "刷单" in details["reason"]
    t = market.task(m, tid)
    assert t["status"] == "rejected" and t["screen_rule"] == "R-FAKE-ORDER-01" and "刷单" in t["review_reason"]
    assert api.get("/v1/admin/tasks", token=market.desk().token).json["items"] == []


def test_a_rejected_task_is_edited_back_to_draft_and_resubmitted(api, market):
    m = market.merchant()
    tid = market.create(m, draft(**SHUADAN))
    assert market.submit(m, tid).code == "CONTENT_REJECTED"
    fixed = api.patch(
        f"/v1/tasks/{tid}",
        {
            "title": "新品试用反馈",
            "description": "试用我们的新款保温杯一周，写下真实使用感受。",
            "steps": ["领取试用装", "试用一周", "填写反馈"],
        },
        token=m.token,
    )
    assert fixed.status == 200 and fixed.json["status"] == "draft" and fixed.json["screen_rule"] is None
    again = market.submit(m, tid)
    assert again.status == 200 and again.json["status"] == "pending_review" and again.json["review_reason"] is None


def test_soft_flags_go_to_the_desk_marked(api, market):
    m = market.merchant()
    tid = market.create(m, draft(description="请打开问卷地址 https://wj.example.cn/s/123 如实填写后截图。"))
    reply = market.submit(m, tid)
    assert reply.status == 200 and reply.json["screen_flags"] == ["R-SOFT-02"], reply.body


def test_a_merchant_without_approved_qualification_cannot_submit(api, market):
    pending = market.accounts.pending_merchant()
    tid = market.create(pending)
    reply = market.submit(pending, tid)
    assert reply.status == 403 and reply.code == "MERCHANT_NOT_APPROVED"
    assert market.task(pending, tid)["status"] == "draft"


def test_approve_funds_escrow_and_publishes_with_the_fee_snapshot(api, market):
    m = market.merchant(10_000)
    tid = market.create(m, draft(reward_fen=200, slots=10))
    market.submit(m, tid)
    reply = market.approve(tid)
    assert reply.status == 200, reply.body
    body = reply.json
    assert body["funded"] is True and body["escrow_fen"] == 2_100
    t = body["task"]
    assert t["status"] == "published" and t["fee_bps"] == 500 and t["unit_cost_fen"] == 210
    assert t["slots_left"] == 10 and t["published_at"] == "2026-11-25T08:00:00.000000Z"
    assert balances(L.wallet(m.id), L.escrow(tid)) == [7_900, 2_100]
    wallet = api.get("/v1/wallet", token=m.token).json
    assert wallet["available_fen"] == 7_900 and wallet["frozen_fen"] == 2_100
    lines = api.get("/v1/wallet/entries", token=m.token).json["items"]
    assert lines[0]["type"] == "escrow_fund" and lines[0]["amount_fen"] == -2_100
    assert audit_actions(tid) == [("task.approve", None)]
    assert api.get("/v1/admin/tasks", token=market.desk().token).json["items"] == []


def test_approve_without_money_waits_unfunded_until_the_merchant_funds(api, market, fund):
    m = market.merchant(1_000)
    tid = market.create(m, draft(reward_fen=200, slots=10))
    market.submit(m, tid)
    reply = market.approve(tid)
    assert reply.status == 200 and reply.json["funded"] is False and reply.json["escrow_fen"] == 0
    assert reply.json["task"]["status"] == "approved_unfunded"
    assert balances(L.wallet(m.id), L.escrow(tid)) == [1_000, 0]
    short = api.post(f"/v1/tasks/{tid}/fund", token=m.token)
    assert short.status == 409 and short.code == "INSUFFICIENT_BALANCE"
    assert short.json["error"]["details"] == {"required_fen": 2_100, "available_fen": 1_000}
    fund(m.id, 1_100)
    done = api.post(f"/v1/tasks/{tid}/fund", token=m.token)
    assert done.status == 200 and done.json["status"] == "published", done.body
    assert balances(L.wallet(m.id), L.escrow(tid)) == [0, 2_100]
    again = api.post(f"/v1/tasks/{tid}/fund", token=m.token)
    assert again.status == 409 and again.code == "TASK_STATE_CONFLICT"


def test_reject_needs_a_reason_and_is_audited(api, market):
    m = market.merchant()
    tid = market.create(m)
    market.submit(m, tid)
    desk = market.desk()
    assert api.post(f"/v1/admin/tasks/{tid}/reject", {}, token=desk.token).status == 422
    reply = api.post(f"/v1/admin/tasks/{tid}/reject", {"reason": "奖励与任务量不符"}, token=desk.token)
    assert reply.status == 200 and reply.json["status"] == "rejected"
    assert reply.json["review_reason"] == "奖励与任务量不符"
    assert audit_actions(tid) == [("task.reject", "奖励与任务量不符")]
    assert api.get("/v1/admin/tasks", token=desk.token).json["items"] == []


def test_desk_routes_are_for_reviewers_and_admins(api, market):
    m = market.merchant(10_000)
    tid = market.create(m)
    market.submit(m, tid)
    for role in ("worker", "merchant", "finance"):
        other = market.accounts.make(role)
        assert api.get("/v1/admin/tasks", token=other.token).status == 403
        assert api.post(f"/v1/admin/tasks/{tid}/approve", token=other.token).status == 403
    assert api.post(f"/v1/admin/tasks/{tid}/approve", token=m.token).status == 403
    admin = market.accounts.staff("admin")
    assert api.post(f"/v1/admin/tasks/{tid}/approve", token=admin.token).json["funded"] is True


def test_illegal_review_moves_are_409_with_a_stable_code(api, market):
    m = market.merchant(100_000)
    desk = market.desk()
    a_draft = market.create(m)
    live = market.publish(m)
    cases = [
        api.post(f"/v1/admin/tasks/{a_draft}/approve", token=desk.token),  # not submitted
        api.post(f"/v1/admin/tasks/{a_draft}/reject", {"reason": "不清楚"}, token=desk.token),
        api.post(f"/v1/admin/tasks/{live}/approve", token=desk.token),  # approved twice
        api.post(f"/v1/admin/tasks/{live}/reject", {"reason": "不清楚"}, token=desk.token),
        api.post(f"/v1/tasks/{live}/submit", token=m.token),
        api.post(f"/v1/tasks/{a_draft}/fund", token=m.token),
        api.post(f"/v1/tasks/{live}/fund", token=m.token),
    ]
    for reply in cases:
        assert reply.status == 409 and reply.code == "TASK_STATE_CONFLICT", reply.body
        assert reply.json["error"]["details"]["status"] in ("draft", "published")
    assert balances(L.wallet(m.id), L.escrow(live)) == [100_000 - 2_100, 2_100]


def test_approve_after_ends_at_is_refused(api, market, clock):
    m = market.merchant(100_000)
    tid = market.create(m, draft(ends_at="2026-11-25T10:00:00Z"))
    market.submit(m, tid)
    clock.advance(2 * 3600)
    relogin(market.desk())
    reply = market.approve(tid)
    assert reply.status == 409 and reply.code == "TASK_ENDED"
    assert balance(L.wallet(m.id)) == 100_000


def test_category_fee_rate_is_snapshotted_at_publish(api, market):
    m = market.merchant(100_000)
    admin = market.accounts.staff("admin")
    bad = api.put("/v1/admin/settings/fees", {"category_bps": {"survey": 1200}}, token=admin.token)
    assert bad.status == 422 and "category_bps.survey" in bad.json["error"]["details"]["fields"]
    reviewer = api.put("/v1/admin/settings/fees", {"category_bps": {"survey": 300}}, token=market.desk().token)
    assert reviewer.status == 403
    ok = api.put("/v1/admin/settings/fees", {"category_bps": {"survey": 300, "promotion": 800}}, token=admin.token)
    assert ok.status == 200 and ok.json == {"category_bps": {"survey": 300, "promotion": 800}}
    tid = market.publish(m, draft(reward_fen=1_000, slots=2))
    t = market.task(m, tid)
    assert (t["fee_bps"], t["unit_cost_fen"]) == (300, 1_030)
    api.put("/v1/admin/settings/fees", {"category_bps": {"survey": 1000}}, token=admin.token)
    assert market.task(m, tid)["fee_bps"] == 300
    assert ("settings.fees", None) in audit_actions("fees")
