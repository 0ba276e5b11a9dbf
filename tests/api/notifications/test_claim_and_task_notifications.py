"""Claim and task outcomes reach the worker or merchant as one Chinese notification each, from the stream."""

from __future__ import annotations

from chalicelib.services import schedules, sweep
from tests.api.claims.conftest import fresh
from tests.api.notifications.conftest import drain, inbox, of_type
from tests.api.tasks.conftest import draft


def _claim(api, worker, task_id) -> str:
    reply = api.post(f"/v1/tasks/{task_id}/claims", token=fresh(worker))
    assert reply.status == 201, reply.body
    return str(reply.json["id"])


def _prove(api, worker, claim_id) -> None:
    reply = api.post(f"/v1/claims/{claim_id}/proof", {"text": "万达店"}, token=fresh(worker))
    assert reply.status == 200, reply.body


def test_accepted_claim_notifies_the_worker_once_with_the_reward(api, accounts, publish):
    merchant, worker = accounts.make("merchant"), accounts.make("worker")
    task_id = publish(merchant.id, slots=2, reward=1_500, title="万达门店扫码关注")
    claim_id = _claim(api, worker, task_id)
    _prove(api, worker, claim_id)
    assert api.post(f"/v1/claims/{claim_id}/accept", {}, token=fresh(merchant)).status == 200
    drain()
    drain()  # the same records again: nothing new
    got = of_type(inbox(api, worker), "claim.accepted")
    assert len(got) == 1
    assert got[0]["ref"] == claim_id
    assert got[0]["title"] == "任务审核通过"
    assert "万达门店扫码关注" in got[0]["body"] and "15.00 元" in got[0]["body"]


def test_rejected_claim_notifies_the_worker_with_the_reason(api, accounts, publish):
    merchant, worker = accounts.make("merchant"), accounts.make("worker")
    task_id = publish(merchant.id, slots=2)
    claim_id = _claim(api, worker, task_id)
    _prove(api, worker, claim_id)
    reason = "截图不是门店页面，请重新拍摄"
    assert api.post(f"/v1/claims/{claim_id}/reject", {"reason": reason}, token=fresh(merchant)).status == 200
    drain()
    drain()
    got = of_type(inbox(api, worker), "claim.rejected")
    assert len(got) == 1
    assert reason in got[0]["body"] and "申诉" in got[0]["body"]


def test_final_rejection_after_the_appeal_window_adds_no_second_notification(api, accounts, publish, clock):
    merchant, worker = accounts.make("merchant"), accounts.make("worker")
    task_id = publish(merchant.id, slots=2)
    claim_id = _claim(api, worker, task_id)
    _prove(api, worker, claim_id)
    assert api.post(f"/v1/claims/{claim_id}/reject", {"reason": "照片模糊"}, token=fresh(merchant)).status == 200
    drain()
    clock.advance(72 * 3600 + 120)
    sweep.sweep_deadlines()  # the rejection becomes final: settled_at appears, the status stays `rejected`
    drain()
    assert len(of_type(inbox(api, worker), "claim.rejected")) == 1


def test_expired_claim_notifies_the_worker_once(api, accounts, publish, clock):
    merchant, worker = accounts.make("merchant"), accounts.make("worker")
    task_id = publish(merchant.id, slots=1, claim_ttl_s=3600, title="新品试用反馈")
    claim_id = _claim(api, worker, task_id)
    clock.advance(3600 + 60)
    schedules.run_due()
    assert api.get(f"/v1/claims/{claim_id}", token=fresh(worker)).json["status"] == "expired"
    drain()
    drain()
    got = of_type(inbox(api, worker), "claim.expired")
    assert len(got) == 1
    assert "新品试用反馈" in got[0]["body"] and got[0]["ref"] == claim_id


def test_abandoned_claim_notifies_nothing(api, accounts, publish):
    merchant, worker = accounts.make("merchant"), accounts.make("worker")
    task_id = publish(merchant.id, slots=1)
    claim_id = _claim(api, worker, task_id)
    assert api.post(f"/v1/claims/{claim_id}/abandon", token=fresh(worker)).status == 200
    drain()
    assert inbox(api, worker) == []


def test_approved_task_notifies_the_merchant_once(api, market):
    merchant = market.merchant(100_000)
    task_id = market.publish(merchant, draft(title="手机使用习惯问卷调查"))
    drain()
    drain()
    got = of_type(inbox(api, merchant), "task.approved")
    assert len(got) == 1
    assert got[0]["ref"] == task_id and "已通过审核并上架" in got[0]["body"]


def test_approved_task_without_funds_tells_the_merchant_to_top_up(api, market):
    merchant = market.merchant()
    task_id = market.create(merchant)
    assert market.submit(merchant, task_id).status == 200
    approved = market.approve(task_id)
    assert approved.status == 200 and not approved.json["funded"]
    drain()
    got = of_type(inbox(api, merchant), "task.approved")
    assert len(got) == 1 and "充值" in got[0]["body"]
    # Funding it later publishes the task without a second approval notice.
    from tests.api.money.conftest import credit_wallet

    credit_wallet(merchant.id, 100_000)
    assert api.post(f"/v1/tasks/{task_id}/fund", token=fresh(merchant)).status == 200
    drain()
    assert len(of_type(inbox(api, merchant), "task.approved")) == 1


def test_rejected_task_notifies_the_merchant_with_the_reason_each_round(api, market):
    merchant = market.merchant()
    task_id = market.create(merchant)
    reasons = ["标题与任务内容不符", "奖励说明不清楚"]
    for reason in reasons:
        assert market.submit(merchant, task_id).status == 200
        rejected = api.post(f"/v1/admin/tasks/{task_id}/reject", {"reason": reason}, token=market.desk().token)
        assert rejected.status == 200, rejected.body
        edited = api.patch(f"/v1/tasks/{task_id}", {"reward_fen": 300}, token=fresh(merchant))
        assert edited.status == 200, edited.body
        drain()
    drain()
    got = of_type(inbox(api, merchant), "task.rejected")
    assert sorted(reason for reason in reasons if any(reason in n["body"] for n in got)) == sorted(reasons)
    assert len(got) == 2


def test_task_rejected_by_the_content_screen_notifies_the_rule_reason(api, market):
    merchant = market.merchant()
    task_id = market.create(merchant, draft(description="帮忙刷好评，五星好评返现 5 元，需截图给客服核对。"))
    sent = market.submit(merchant, task_id)
    if sent.status != 409:
        raise AssertionError(f"the content screen should reject a paid-review task: {sent.body!r}")
    drain()
    got = of_type(inbox(api, merchant), "task.rejected")
    assert len(got) == 1 and sent.json["error"]["details"]["reason"] in got[0]["body"]


def test_completed_task_notifies_the_merchant_once(api, accounts, publish):
    merchant, worker = accounts.make("merchant"), accounts.make("worker")
    task_id = publish(merchant.id, slots=1, title="门店打卡拍照")
    claim_id = _claim(api, worker, task_id)
    _prove(api, worker, claim_id)
    assert api.post(f"/v1/claims/{claim_id}/accept", {}, token=fresh(merchant)).status == 200
    drain()  # settlement → completion consumer closes the task → its record notifies
    drain()
    got = of_type(inbox(api, merchant), "task.completed")
    assert len(got) == 1
    assert "门店打卡拍照" in got[0]["body"] and "1 份" in got[0]["body"]
