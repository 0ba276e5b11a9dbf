"""Commission (issue #9 item 6): default 500 bps, per-category overrides in 300–1000 set by admins with an audit
entry, and the rate snapshotted at publish — settlement of an older task uses its own rate."""

from __future__ import annotations

import pytest

from chalicelib.domain import ledger as L
from chalicelib.store import audit as audit_store
from chalicelib.store import ledger as books
from tests.api.claims.conftest import fresh
from tests.api.tasks.conftest import accounts, draft, fund, market  # noqa: F401

pytestmark = pytest.mark.usefixtures("h7_no_stream")


def put_fees(api, token: str, rates: dict[str, int]):
    return api.put("/v1/admin/settings/fees", {"category_bps": rates}, token=token)


def test_default_rate_is_500_bps(api, market):  # noqa: F811
    m = market.merchant(100_000)
    t = market.task(m, market.publish(m, draft(reward_fen=1_000, slots=1)))
    assert (t["fee_bps"], t["unit_cost_fen"], t["escrow_required_fen"]) == (500, 1_050, 1_050)


def test_override_bounds_are_300_and_1000_bps(api, market):  # noqa: F811
    admin = market.accounts.staff("admin")
    assert put_fees(api, admin.token, {"survey": 300, "promotion": 1000}).status == 200
    for bad in (299, 1001, 0):
        reply = put_fees(api, admin.token, {"survey": bad})
        assert reply.status == 422 and "category_bps.survey" in reply.json["error"]["details"]["fields"]
    unknown = put_fees(api, admin.token, {"lottery": 500})
    assert unknown.status == 422 and "category_bps.lottery" in unknown.json["error"]["details"]["fields"]


def test_only_admins_set_rates(api, market):  # noqa: F811
    merchant = market.merchant()
    assert put_fees(api, merchant.token, {"survey": 300}).status == 403
    assert put_fees(api, market.desk().token, {"survey": 300}).status == 403


def test_a_rate_change_is_audit_logged_with_before_and_after(api, market):  # noqa: F811
    admin = market.accounts.staff("admin")
    put_fees(api, admin.token, {"survey": 400})
    put_fees(api, admin.token, {"survey": 900})
    entries = [e for e in audit_store.month("202611", newest_first=False) if e.action == "settings.fees"]
    assert len(entries) == 2
    last = entries[-1]
    assert last.actor_id == admin.id and last.target_id == "fees"
    assert last.before.as_dict() == {"category_bps": {"survey": 400}}
    assert last.after.as_dict() == {"category_bps": {"survey": 900}}


def test_settings_replace_the_whole_map_so_an_omitted_category_returns_to_the_default(api, market):  # noqa: F811
    m = market.merchant(100_000)
    admin = market.accounts.staff("admin")
    put_fees(api, admin.token, {"survey": 800})
    put_fees(api, admin.token, {"promotion": 800})
    t = market.task(m, market.publish(m, draft(reward_fen=1_000, slots=1)))
    assert t["fee_bps"] == 500


def test_settlement_uses_the_rate_snapshotted_at_publish(api, market, users):  # noqa: F811
    m = market.merchant(100_000)
    admin = market.accounts.staff("admin")
    put_fees(api, admin.token, {"survey": 300})
    task_id = market.publish(m, draft(reward_fen=1_000, slots=1, proof={"text": "填写问卷编号", "images_min": 0}))
    put_fees(api, admin.token, {"survey": 1000})
    worker = users.make("worker")
    claim = api.post(f"/v1/tasks/{task_id}/claims", token=worker.token, headers={"X-Device-Id": "dev-fees"})
    assert claim.status == 201, claim.body
    cid = claim.json["id"]
    assert api.post(f"/v1/claims/{cid}/proof", {"text": "截图已上传"}, token=worker.token).status == 200
    assert api.post(f"/v1/claims/{cid}/accept", {}, token=fresh(m)).status == 200
    fee_account = L.fee_revenue(f"settle:{cid}")
    assert books.get_balances([fee_account])[fee_account].posted == 30
    assert books.get_balances([L.escrow(task_id)])[L.escrow(task_id)].available == 0


def test_member_rate_applies_below_the_category_floor(api, market):  # noqa: F811
    m = market.merchant(100_000)
    admin = market.accounts.staff("admin")
    put_fees(api, admin.token, {"survey": 300})
    bought = api.post("/v1/membership", {"plan": "monthly"}, token=fresh(m), headers={"Idempotency-Key": "fees"})
    assert bought.status == 201, bought.body
    t = market.task(m, market.publish(m, draft(reward_fen=1_000, slots=1)))
    assert (t["fee_bps"], t["unit_cost_fen"]) == (200, 1_020)
