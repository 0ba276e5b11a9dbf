"""The desk's user management: search by phone/id/role/status over indexes, masked detail, freeze, CSV export."""

from __future__ import annotations

import csv
import io

from chalicelib.services import admin_users, sessions
from tests.opcount import count_ops

ID = "11010519491231002X"


def _freeze(api, admin, user_id, reason="疑似批量注册"):
    return api.post(f"/v1/admin/users/{user_id}/freeze", {"reason": reason}, token=admin.token)


def test_search_by_phone_finds_exactly_that_user_with_a_masked_phone(api, users):
    admin = users.staff("admin")
    target = users.make("worker")
    users.make("worker")
    with count_ops() as ops:
        reply = api.get(f"/v1/admin/users?q={target.phone}", token=admin.token)
    assert reply.status == 200, reply.body
    [row] = reply.json["items"]
    assert row["id"] == target.id
    assert row["phone_masked"] == f"{target.phone[:3]}****{target.phone[-4:]}"
    assert target.phone not in reply.body.decode()
    assert reply.json["next_cursor"] is None
    assert "Scan" not in ops.ops and ops.ops["Query"] == 0  # the blind-index item, then the user: two GetItems
    assert ops.ops["GetItem"] <= 3


def test_search_by_user_id_and_unknown_phone(api, users):
    admin = users.staff("admin")
    target = users.make("merchant")
    assert [r["id"] for r in api.get(f"/v1/admin/users?q={target.id}", token=admin.token).json["items"]] == [target.id]
    assert api.get("/v1/admin/users?q=13999999999", token=admin.token).json["items"] == []
    # A role filter that the found user does not match hides it.
    assert api.get(f"/v1/admin/users?q={target.id}&role=worker", token=admin.token).json["items"] == []
    bad = api.get("/v1/admin/users?q=12345", token=admin.token)
    assert bad.status == 422 and "q" in bad.json["error"]["details"]["fields"]


def test_role_and_status_filters_read_the_index_and_page_without_repeats(api, users, clock):
    admin = users.staff("admin")
    workers = []
    for _ in range(5):
        clock.advance(1)
        workers.append(users.make("worker"))
    users.make("merchant")
    assert _freeze(api, admin, workers[1].id).status == 200
    assert _freeze(api, admin, workers[3].id).status == 200

    with count_ops() as ops:
        frozen = api.get("/v1/admin/users?role=worker&status=frozen", token=admin.token)
    assert [r["id"] for r in frozen.json["items"]] == [workers[3].id, workers[1].id]  # newest first
    assert "Scan" not in ops.ops and ops.ops["Query"] == 1

    seen, cursor = [], ""
    while True:
        page = api.get(f"/v1/admin/users?role=worker&status=active&limit=2&cursor={cursor}", token=admin.token)
        assert page.status == 200, page.body
        seen += [r["id"] for r in page.json["items"]]
        cursor = page.json["next_cursor"]
        if not cursor:
            break
    assert seen == [workers[4].id, workers[2].id, workers[0].id]

    # Unfreezing moves the user back into the active list.
    assert api.post(f"/v1/admin/users/{workers[1].id}/unfreeze", {}, token=admin.token).status == 200
    active = api.get("/v1/admin/users?role=worker&status=active", token=admin.token).json["items"]
    assert workers[1].id in [r["id"] for r in active]


def test_status_filter_across_roles_merges_one_query_per_role(api, users, clock):
    admin = users.staff("admin")
    w, m = users.make("worker"), users.make("merchant")
    clock.advance(5)
    w2 = users.make("worker")
    for u in (w, m, w2):
        assert _freeze(api, admin, u.id).status == 200
    with count_ops() as ops:
        first = api.get("/v1/admin/users?status=frozen&limit=2", token=admin.token)
    assert first.json["items"][0]["id"] == w2.id
    assert "Scan" not in ops.ops and ops.ops["Query"] == 5  # worker, merchant, admin, reviewer, finance
    rest = api.get(f"/v1/admin/users?status=frozen&limit=2&cursor={first.json['next_cursor']}", token=admin.token)
    ids = [r["id"] for r in first.json["items"] + rest.json["items"]]
    assert sorted(ids) == sorted([w.id, m.id, w2.id]) and rest.json["next_cursor"] is None
    # A cursor is bound to its filters.
    other = api.get(f"/v1/admin/users?status=active&cursor={first.json['next_cursor']}", token=admin.token)
    assert other.status == 400 and other.code == "INVALID_CURSOR"


def test_detail_masks_phone_real_name_and_id_number(api, users):
    admin = users.staff("admin")
    worker = users.make("worker")
    assert api.post("/v1/me/real-name", {"name": "张三", "id_number": ID}, token=worker.token).status == 200
    reply = api.get(f"/v1/admin/users/{worker.id}", token=admin.token)
    assert reply.status == 200, reply.body
    body = reply.json
    assert body["phone_masked"] == f"{worker.phone[:3]}****{worker.phone[-4:]}"
    assert body["real_name_masked"] == "*三"
    assert body["id_number_masked"] == "110105********002X"
    text = reply.body.decode()
    assert ID not in text and "张三" not in text and worker.phone not in text
    assert api.get("/v1/admin/users/usr_nobody", token=admin.token).status == 404


def test_frozen_user_gets_403_everywhere_but_me_and_the_freeze_is_audited(api, users):
    admin = users.staff("admin")
    worker = users.make("worker")
    assert api.get("/v1/wallet", token=worker.token).status == 200  # warms this process's auth cache

    frozen = _freeze(api, admin, worker.id, reason="多账号刷单")
    assert frozen.status == 200 and frozen.json["status"] == "frozen"
    assert frozen.json["frozen_reason"] == "多账号刷单"

    blocked = api.get("/v1/wallet", token=worker.token)
    assert blocked.status == 403 and blocked.code == "ACCOUNT_FROZEN"
    assert api.get("/v1/me/claims", token=worker.token).code == "ACCOUNT_FROZEN"
    me = api.get("/v1/me", token=worker.token)
    assert me.status == 200 and me.json["status"] == "frozen"

    log = api.get(f"/v1/admin/audit-log?target={worker.id}", token=admin.token).json["items"]
    assert [(e["action"], e["before"], e["after"], e["reason"], e["actor_id"]) for e in log] == [
        ("user.freeze", {"status": "active"}, {"status": "frozen"}, "多账号刷单", admin.id)
    ]

    assert api.post(f"/v1/admin/users/{worker.id}/unfreeze", {"reason": "申诉通过"}, token=admin.token).status == 200
    assert api.get("/v1/wallet", token=worker.token).status == 200
    actions = [e["action"] for e in api.get(f"/v1/admin/audit-log?target={worker.id}", token=admin.token).json["items"]]
    assert actions == ["user.unfreeze", "user.freeze"]


def test_freeze_made_by_another_process_bites_within_the_auth_cache_window(api, users, clock, monkeypatch):
    admin = users.staff("admin")
    worker = users.make("worker")
    assert api.get("/v1/wallet", token=worker.token).status == 200  # cached here for STATE_CACHE_S
    # Another Lambda freezes the account: this process's cache entry is not dropped.
    monkeypatch.setattr(sessions, "forget_user_state", lambda user_id: None)
    admin_users.set_frozen(admin.caller, worker.id, True, reason="风控冻结", request_id="req_test")
    clock.advance(sessions.STATE_CACHE_S)
    reply = api.get("/v1/wallet", token=worker.token)
    assert reply.status == 403 and reply.code == "ACCOUNT_FROZEN"


def test_staff_accounts_cannot_be_frozen_from_the_desk(api, users):
    admin = users.staff("admin")
    reviewer = users.staff("reviewer")
    assert _freeze(api, admin, reviewer.id).status == 404
    assert _freeze(api, admin, "usr_missing").status == 404
    assert api.post(f"/v1/admin/users/{reviewer.id}/freeze", {"reason": "x"}, token=admin.token).status == 422


def test_export_is_masked_utf8_with_bom_audited_and_continues_by_cursor(api, users, clock, monkeypatch):
    admin = users.staff("admin")
    workers = []
    for _ in range(3):
        clock.advance(1)
        workers.append(users.make("worker"))
    assert api.post("/v1/me/real-name", {"name": "张三", "id_number": ID}, token=workers[0].token).status == 200
    monkeypatch.setattr(admin_users, "EXPORT_MAX_ROWS", 2)

    first = api.get("/v1/admin/users/export.csv?role=worker", token=admin.token)
    assert first.status == 200, first.body
    assert first.headers["Content-Type"].startswith("text/csv")
    assert first.body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(first.body.decode("utf-8-sig"))))
    assert rows[0][:4] == ["用户ID", "角色", "状态", "手机号"]
    assert [r[0] for r in rows[1:]] == [workers[2].id, workers[1].id]
    second = api.get(
        f"/v1/admin/users/export.csv?role=worker&cursor={first.headers['X-Next-Cursor']}", token=admin.token
    )
    rows2 = list(csv.reader(io.StringIO(second.body.decode("utf-8-sig"))))
    assert [r[0] for r in rows2[1:]] == [workers[0].id]
    assert "X-Next-Cursor" not in second.headers
    assert rows2[1][5:7] == ["*三", "110105********002X"]
    text = first.body.decode() + second.body.decode()
    for w in workers:
        assert w.phone not in text and f"{w.phone[:3]}****{w.phone[-4:]}" in text
    assert ID not in text
    exports = api.get("/v1/admin/audit-log?action=user.export", token=admin.token).json["items"]
    assert [e["after"]["rows"] for e in exports] == [1, 2]


def test_backfill_indexes_users_written_before_the_status_index(api, users):
    from chalicelib.store import keys
    from chalicelib.store.users import UserItem
    from scripts.backfill_status_index import backfill_status_index

    admin = users.staff("admin")
    old = users.make("worker")
    UserItem(*keys.user(old.id)).update(actions=[UserItem.GSI2PK.remove(), UserItem.GSI2SK.remove()])

    def listed() -> list[str]:
        reply = api.get("/v1/admin/users?role=worker&status=active", token=admin.token)
        return [r["id"] for r in reply.json["items"]]

    assert old.id not in listed()
    assert backfill_status_index() == 1
    assert old.id in listed()
    assert backfill_status_index() == 0
