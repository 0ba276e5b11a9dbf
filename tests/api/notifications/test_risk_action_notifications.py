"""Risk actions reach the user: a freeze (with its reason) and an unfreeze, a payout hold and its release, and a
merchant's breaker — each notified once, however often the stream delivers it."""

from __future__ import annotations

from chalicelib.store import risk as risk_store
from tests.api.notifications.conftest import drain, inbox, of_type


def test_freeze_and_unfreeze_notify_the_user_once_each(api, accounts):
    w, desk = accounts.make("worker"), accounts.staff("admin")
    assert api.post(f"/v1/admin/users/{w.id}/freeze", {"reason": "多账号刷任务"}, token=desk.token).status == 200
    drain()
    drain()  # a second delivery changes nothing
    frozen = of_type(inbox(api, w), "account.frozen")
    assert len(frozen) == 1 and "多账号刷任务" in frozen[0]["body"] and frozen[0]["title"] == "账户已被冻结"
    assert api.post(f"/v1/admin/users/{w.id}/unfreeze", {"reason": "复核无误"}, token=desk.token).status == 200
    drain()
    assert len(of_type(inbox(api, w), "account.unfrozen")) == 1


def test_a_payout_hold_and_its_release_are_notified(api, accounts):
    w = accounts.make("worker")
    assert risk_store.put_hold(w.id, "flg_TEST", "withdrawal_velocity", "2026-11-25T08:00:00.000000Z")
    drain()
    risk_store.delete_hold(w.id)
    drain()
    items = inbox(api, w)
    assert [len(of_type(items, t)) for t in ("payout.held", "payout.released")] == [1, 1]


def test_the_breaker_tells_the_merchant_why_tasks_stopped(api, accounts):
    m = accounts.make("merchant")
    risk_store.hold_guarantee(m.id, "mass_rejection", "2026-11-25T08:00:00.000000Z")
    drain()
    drain()
    assert len(of_type(inbox(api, m), "merchant.breaker")) == 1
