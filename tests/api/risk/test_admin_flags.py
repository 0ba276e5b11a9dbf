"""The desk's flag routes: listing by status with cursors, resolutions and their reversals, roles, audit."""

from __future__ import annotations

from chalicelib.services import risk
from chalicelib.store import users as user_store
from tests.api.risk.conftest import flag_rows


def _flag(user_id: str, rule: str = "proof_too_fast", cause: str = "c1") -> str:
    return risk.evaluate(rule, user_id, {"claim_id": cause}, cause=cause)


def test_flags_list_newest_first_with_cursor_and_status_filter(api, users, clock):
    w = users.make()
    ids = []
    for n in range(5):
        ids.append(_flag(w.id, cause=f"c{n}"))
        clock.advance(1)
    admin = users.staff("admin")
    first = api.get("/v1/admin/risk/flags?limit=3", token=admin.token)
    assert first.status == 200, first.body
    assert [f["id"] for f in first.json["items"]] == ids[::-1][:3] and first.json["next_cursor"]
    rest = api.get(f"/v1/admin/risk/flags?limit=3&cursor={first.json['next_cursor']}", token=admin.token).json
    assert [f["id"] for f in rest["items"]] == ids[::-1][3:] and rest["next_cursor"] is None
    row = first.json["items"][0]
    assert row["rule_id"] == "proof_too_fast" and row["description"].startswith("领取后提交凭证")
    assert row["status"] == "open" and row["score"] == 30 and row["subject"] == w.id
    assert flag_rows(api, admin, "resolved") == []


def test_the_same_cause_flags_once(api, users):
    w = users.make()
    assert _flag(w.id) == _flag(w.id)
    assert len(flag_rows(api, users.staff("admin"))) == 1


def test_only_admins_see_or_resolve_flags(api, users):
    w = users.make()
    flag_id = _flag(w.id)
    for role in ("worker", "merchant", "reviewer", "finance"):
        other = users.make(role)
        assert api.get("/v1/admin/risk/flags", token=other.token).status == 403
        reply = api.post(f"/v1/admin/risk/flags/{flag_id}/resolve", {"action": "dismiss"}, token=other.token)
        assert reply.status == 403
    assert api.get("/v1/admin/risk/flags").status == 401


def test_confirm_then_a_second_verdict_is_a_conflict(api, users):
    w = users.make()
    flag_id = _flag(w.id)
    admin = users.staff("admin")
    done = api.post(
        f"/v1/admin/risk/flags/{flag_id}/resolve", {"action": "confirm", "note": "确认刷单"}, token=admin.token
    )
    assert done.status == 200 and done.json["resolution"] == "confirm" and done.json["resolved_by"] == admin.id
    assert done.json["note"] == "确认刷单"
    again = api.post(f"/v1/admin/risk/flags/{flag_id}/resolve", {"action": "dismiss"}, token=admin.token)
    assert again.status == 409 and again.code == "FLAG_RESOLVED"


def test_unknown_flag_is_404_and_bad_action_is_422(api, users):
    admin = users.staff("admin")
    missing = api.post("/v1/admin/risk/flags/flg_NOPE/resolve", {"action": "dismiss"}, token=admin.token)
    assert missing.status == 404 and missing.code == "FLAG_NOT_FOUND"
    w = users.make()
    bad = api.post(f"/v1/admin/risk/flags/{_flag(w.id)}/resolve", {"action": "delete"}, token=admin.token)
    assert bad.status == 422


def test_freeze_from_a_flag_then_unfreeze_both_audited(api, users):
    w = users.make()
    flag_id = _flag(w.id)
    admin = users.staff("admin")
    frozen = api.post(f"/v1/admin/risk/flags/{flag_id}/resolve", {"action": "freeze"}, token=admin.token)
    assert frozen.status == 200, frozen.body
    assert user_store.get_user(w.id, consistent=True).status == "frozen"
    assert api.get("/v1/wallet", token=w.token).code == "ACCOUNT_FROZEN"
    thawed = api.post(f"/v1/admin/risk/flags/{flag_id}/resolve", {"action": "unfreeze"}, token=admin.token)
    assert thawed.status == 200, thawed.body
    assert user_store.get_user(w.id, consistent=True).status == "active"
    not_frozen = api.post(f"/v1/admin/risk/flags/{flag_id}/resolve", {"action": "unfreeze"}, token=admin.token)
    assert not_frozen.status == 409 and not_frozen.code == "NOT_FROZEN"
    from chalicelib.store.audit import AuditItem

    mine = [(a.action, a.actor_id) for a in AuditItem.query("AUDIT#202611") if a.target_id in (w.id, flag_id)]
    assert ("risk.freeze", admin.id) in mine and ("risk.unfreeze", admin.id) in mine
    assert ("risk.flag.freeze", admin.id) in mine


def test_a_rule_that_freezes_is_audited_as_the_system_and_dismiss_reverses_it(api, users, monkeypatch):
    from chalicelib.domain import risk_rules as R

    w = users.make()
    monkeypatch.setitem(R.RULES, "proof_too_fast", R.Rule("proof_too_fast", "测试：冻结", 90, R.Action.FREEZE))
    flag_id = _flag(w.id)
    assert user_store.get_user(w.id, consistent=True).status == "frozen"
    from chalicelib.store.audit import AuditItem

    (entry,) = [a for a in AuditItem.query("AUDIT#202611") if a.action == "risk.freeze"]
    assert entry.actor_id == "system:risk" and entry.target_id == w.id
    admin = users.staff("admin")
    done = api.post(f"/v1/admin/risk/flags/{flag_id}/resolve", {"action": "dismiss"}, token=admin.token)
    assert done.status == 200, done.body
    assert user_store.get_user(w.id, consistent=True).status == "active"


def test_release_hold_without_a_hold_is_a_conflict(api, users):
    w = users.make()
    reply = api.post(
        f"/v1/admin/risk/flags/{_flag(w.id)}/resolve", {"action": "release_hold"}, token=users.staff("admin").token
    )
    assert reply.status == 409 and reply.code == "NO_PAYOUT_HOLD"
