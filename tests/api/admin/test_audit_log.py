"""The audit log: append-only entries, read by actor, target, action and time through indexes, newest first."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pynamodb.exceptions import PutError

from chalicelib.domain.roles import Caller
from chalicelib.services import audit
from chalicelib.store import audit as audit_store
from tests.opcount import count_ops


def _ids(reply) -> list[str]:
    assert reply.status == 200, reply.body
    return [e["target_id"] for e in reply.json["items"]]


def test_an_entry_is_never_overwritten(aws, clock):
    actor = Caller(id="usr_admin1", role="admin")
    item = audit.record(actor, "user.freeze", "user", "usr_t1", reason="测试", before={"status": "active"})
    again = audit_store.new_entry(
        audit_id=item.audit_id,
        at_iso=item.at,
        actor_id="usr_other",
        actor_role="admin",
        action="user.unfreeze",
        target_type="user",
        target_id="usr_t1",
        reason="篡改",
        before=None,
        after=None,
        request_id=None,
    )
    with pytest.raises(PutError):
        audit_store.put(again)
    stored = next(iter(audit_store.month(item.at[:4] + item.at[5:7])))
    assert (stored.actor_id, stored.action, stored.reason) == ("usr_admin1", "user.freeze", "测试")
    # The store offers no way to change or remove an entry.
    assert not any(hasattr(audit_store, name) for name in ("update", "delete", "remove"))


def test_filters_by_actor_target_action_and_time_read_one_index(api, users, clock):
    admin = users.staff("admin")
    a1 = Caller(id="usr_a1", role="admin")
    a2 = Caller(id="usr_a2", role="reviewer")
    audit.record(a1, "user.freeze", "user", "usr_x", reason="一")
    clock.advance(60)
    audit.record(a2, "task.approve", "task", "tsk_1")
    clock.advance(60)
    audit.record(a1, "user.unfreeze", "user", "usr_x")
    clock.advance(60)
    audit.record(a1, "task.reject", "task", "tsk_2", reason="违规")
    clock.advance(60)

    with count_ops() as ops:
        by_actor = api.get("/v1/admin/audit-log?actor=usr_a1", token=admin.token)
    assert _ids(by_actor) == ["tsk_2", "usr_x", "usr_x"]
    assert "Scan" not in ops.ops and ops.ops["Query"] == 1
    assert _ids(api.get("/v1/admin/audit-log?target=usr_x", token=admin.token)) == ["usr_x", "usr_x"]
    assert _ids(api.get("/v1/admin/audit-log?action=task.approve", token=admin.token)) == ["tsk_1"]
    both = api.get("/v1/admin/audit-log?actor=usr_a1&action=user.unfreeze", token=admin.token)
    assert [e["action"] for e in both.json["items"]] == ["user.unfreeze"]
    assert _ids(api.get("/v1/admin/audit-log?target=usr_x&actor=usr_a2", token=admin.token)) == []
    # A window: only the middle two entries.
    start = (clock.now() - timedelta(seconds=210)).isoformat().replace("+00:00", "Z")
    end = (clock.now() - timedelta(seconds=90)).isoformat().replace("+00:00", "Z")
    window = api.get(f"/v1/admin/audit-log?from={start}&to={end}", token=admin.token)
    assert _ids(window) == ["usr_x", "tsk_1"]
    entry = api.get("/v1/admin/audit-log?action=task.reject", token=admin.token).json["items"][0]
    assert (entry["actor_id"], entry["actor_role"], entry["reason"], entry["target_type"]) == (
        "usr_a1",
        "admin",
        "违规",
        "task",
    )


def test_unfiltered_log_pages_newest_first_across_months(api, users, clock):
    actor = Caller(id="usr_a1", role="admin")
    clock.pin(clock.now() - timedelta(days=30))  # late October
    for i in range(3):
        audit.record(actor, "task.approve", "task", f"tsk_oct{i}")
        clock.advance(3600)
    clock.pin(clock.now() + timedelta(days=30))
    for i in range(2):
        audit.record(actor, "task.approve", "task", f"tsk_nov{i}")
        clock.advance(3600)
    admin = users.staff("admin")
    seen, cursor, pages = [], "", 0
    while True:
        with count_ops() as ops:
            reply = api.get(f"/v1/admin/audit-log?limit=2&cursor={cursor}", token=admin.token)
        assert "Scan" not in ops.ops and ops.ops["Query"] <= 4
        seen += [t for t in _ids(reply) if t.startswith("tsk_")]
        pages += 1
        cursor = reply.json["next_cursor"]
        if not cursor:
            break
    assert [t for t in seen if t.startswith("tsk_")] == ["tsk_nov1", "tsk_nov0", "tsk_oct2", "tsk_oct1", "tsk_oct0"]
    assert pages >= 3


def test_bad_windows_are_refused(api, users):
    admin = users.staff("admin")
    reply = api.get("/v1/admin/audit-log?from=2026-11-25T00:00:00Z&to=2026-11-24T00:00:00Z", token=admin.token)
    assert reply.status == 422
    reply = api.get("/v1/admin/audit-log?from=2024-01-01T00:00:00Z&to=2026-11-24T00:00:00Z", token=admin.token)
    assert reply.status == 422
    naive = api.get("/v1/admin/audit-log?from=2026-11-24T00:00:00", token=admin.token)
    assert naive.status == 422
