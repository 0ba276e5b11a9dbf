"""Merchant onboarding: submission rules, the review queue, approve/reject with audit entries, and roles."""

from __future__ import annotations

from chalicelib.services import merchants
from chalicelib.store import audit as audit_store

CODE = "91350100M000100Y43"


def _submit(api, users, merchant, **overrides):
    body = {
        "company_name": "福州测试科技有限公司",
        "license_no": CODE,
        "shop_url": "https://shop.example.cn/m1",
        "license_image_key": overrides.pop("license_image_key", None) or users.upload_license(merchant),
        **overrides,
    }
    return api.post("/v1/merchant/verification", body, token=merchant.token)


def test_submission_is_pending_masked_and_visible_to_the_merchant(api, users):
    merchant = users.make("merchant")
    reply = _submit(api, users, merchant)
    assert reply.status == 201
    assert reply.json["status"] == "pending"
    assert reply.json["license_no"] == "9135**********0Y43"
    assert api.get("/v1/merchant/verification", token=merchant.token).json["status"] == "pending"
    assert api.get("/v1/me", token=merchant.token).json["merchant_verification"]["status"] == "pending"
    assert CODE not in reply.body.decode()


def test_wrong_credit_code_check_character_returns_422(api, users):
    merchant = users.make("merchant")
    reply = _submit(api, users, merchant, license_no="91350100M000100Y42")
    assert reply.status == 422
    assert "license_no" in reply.json["error"]["details"]["fields"]


def test_image_key_of_another_user_or_missing_object_is_refused(api, users):
    merchant, other = users.make("merchant"), users.make("merchant")
    foreign = users.upload_license(other)
    reply = _submit(api, users, merchant, license_image_key=foreign)
    assert reply.status == 422
    assert "license_image_key" in reply.json["error"]["details"]["fields"]
    ticket = api.post(
        "/v1/uploads", {"purpose": "license", "content_type": "image/png", "size_bytes": 10}, token=merchant.token
    ).json
    never_uploaded = _submit(api, users, merchant, license_image_key=ticket["key"])
    assert never_uploaded.status == 422


def test_worker_cannot_submit_and_get_verification_before_submitting_is_404(api, users):
    worker, merchant = users.make("worker"), users.make("merchant")
    reply = api.post(
        "/v1/merchant/verification",
        {"company_name": "x公司", "license_no": CODE, "shop_url": "https://a.cn", "license_image_key": "k"},
        token=worker.token,
    )
    assert reply.status == 403
    assert api.get("/v1/merchant/verification", token=merchant.token).status == 404


def test_resubmitting_while_pending_is_409(api, users):
    merchant = users.make("merchant")
    assert _submit(api, users, merchant).status == 201
    again = _submit(api, users, merchant)
    assert again.status == 409
    assert again.code == "VERIFICATION_PENDING"


def test_reviewer_approves_from_the_queue_and_it_is_audited(api, users):
    pending = users.pending_merchant()
    reviewer = users.staff("reviewer")
    queue = api.get("/v1/admin/merchants?status=pending", token=reviewer.token)
    assert queue.status == 200
    assert [i["merchant_id"] for i in queue.json["items"]] == [pending.id]
    assert not merchants.merchant_is_approved(pending.id)

    reply = api.post(f"/v1/admin/merchants/{pending.id}/approve", token=reviewer.token)
    assert reply.status == 200
    assert reply.json["status"] == "approved"
    assert reply.json["reviewed_by"] == reviewer.id
    assert merchants.merchant_is_approved(pending.id)
    assert api.get("/v1/admin/merchants?status=pending", token=reviewer.token).json["items"] == []
    assert [
        i["merchant_id"] for i in api.get("/v1/admin/merchants?status=approved", token=reviewer.token).json["items"]
    ] == [pending.id]
    [entry] = audit_store.month("202611")
    assert (entry.actor_id, entry.actor_role, entry.action, entry.target_id) == (
        reviewer.id,
        "reviewer",
        "merchant.approve",
        pending.id,
    )
    assert entry.before.as_dict() == {"status": "pending"}
    assert entry.after.as_dict() == {"status": "approved"}
    assert entry.request_id == reply.headers["X-Request-Id"]
    # Approving twice is a state conflict, not a second audit entry.
    assert api.post(f"/v1/admin/merchants/{pending.id}/approve", token=reviewer.token).status == 409
    assert len(audit_store.month("202611")) == 1
    again = _submit(api, users, pending)
    assert again.code == "MERCHANT_ALREADY_APPROVED"


def test_admin_rejects_with_reason_then_the_merchant_resubmits(api, users):
    pending = users.pending_merchant()
    admin = users.staff("admin")
    assert api.post(f"/v1/admin/merchants/{pending.id}/reject", {}, token=admin.token).status == 422
    reply = api.post(
        f"/v1/admin/merchants/{pending.id}/reject", {"reason": "营业执照模糊，请重新上传"}, token=admin.token
    )
    assert reply.status == 200
    assert reply.json["status"] == "rejected"
    mine = api.get("/v1/merchant/verification", token=pending.token).json
    assert mine["reject_reason"] == "营业执照模糊，请重新上传"
    assert api.get("/v1/me", token=pending.token).json["merchant_verification"] == {
        "status": "rejected",
        "reject_reason": "营业执照模糊，请重新上传",
    }
    [entry] = audit_store.month("202611")
    assert (entry.action, entry.reason, entry.actor_id) == ("merchant.reject", "营业执照模糊，请重新上传", admin.id)
    assert _submit(api, users, pending).status == 201
    assert api.get("/v1/merchant/verification", token=pending.token).json["status"] == "pending"


def test_review_of_unknown_merchant_is_404(api, users):
    reviewer = users.staff("reviewer")
    assert api.post("/v1/admin/merchants/usr_nobody/approve", token=reviewer.token).status == 404


def test_finance_and_public_roles_cannot_review(api, users):
    pending = users.pending_merchant()
    for role in ("finance", "worker", "merchant"):
        caller = users.make(role)
        assert api.get("/v1/admin/merchants", token=caller.token).status == 403
        assert api.post(f"/v1/admin/merchants/{pending.id}/approve", token=caller.token).status == 403
    assert api.post(f"/v1/admin/merchants/{pending.id}/approve", token=pending.token).status == 403


def test_queue_pages_with_a_sealed_cursor(api, users, clock):
    ids = []
    for _ in range(3):
        ids.append(users.pending_merchant().id)
        clock.advance(1)
    reviewer = users.staff("reviewer")
    first = api.get("/v1/admin/merchants?limit=2", token=reviewer.token).json
    assert [i["merchant_id"] for i in first["items"]] == ids[:2]
    second = api.get(f"/v1/admin/merchants?limit=2&cursor={first['next_cursor']}", token=reviewer.token).json
    assert [i["merchant_id"] for i in second["items"]] == ids[2:]
    other = users.staff("reviewer")
    stolen = api.get(f"/v1/admin/merchants?limit=2&cursor={first['next_cursor']}", token=other.token)
    assert stolen.status == 400
