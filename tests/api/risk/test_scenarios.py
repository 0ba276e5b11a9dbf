"""The acceptance scenarios of the risk engine: each produces exactly the expected flag, and no other."""

from __future__ import annotations

import io

from chalicelib.services import guarantee, withdrawals
from chalicelib.store import guarantee as guarantee_store
from tests.api.risk.conftest import (
    draft,
    flag_rows,
    ip,
    promotion,
    relogin,
    rules_flagged,
    upload_proof,
    verify,
    withdraw,
)
from tests.api.risk.conftest import (
    fund as _fund,  # noqa: F401 - fixture
)


def login(api, account, device: str, n: int):
    reply = api.post(
        "/v1/auth/login",
        {"phone": account.phone, "password": account.password},
        headers={"X-Device-Id": device, **ip(n)},
    )
    assert reply.status == 200, reply.body


def claim(api, worker, task_id, n: int) -> str:
    reply = api.post(f"/v1/tasks/{task_id}/claims", token=worker.token, headers=ip(n))
    assert reply.status == 201, reply.body
    return str(reply.json["id"])


def prove(api, worker, claim_id, n: int, **body):
    return api.post(f"/v1/claims/{claim_id}/proof", body, token=worker.token, headers=ip(n))


def picture(size: tuple[int, int] = (200, 160), fmt: str = "PNG") -> bytes:
    """A small drawing; the copy is the same picture resized and re-encoded."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (200, 160), "white")
    d = ImageDraw.Draw(img)
    d.rectangle((20, 20, 120, 90), fill="navy")
    d.ellipse((90, 60, 180, 150), fill="orange")
    d.text((30, 120), "order 8812", fill="black")
    if size != img.size:
        img = img.resize(size)
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


def other_picture() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (200, 160), "white")
    d = ImageDraw.Draw(img)
    d.rectangle((100, 10, 190, 150), fill="green")
    d.ellipse((10, 10, 80, 80), fill="red")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def test_three_accounts_on_one_device_flag_a_device_cluster(api, users, pump):
    a, b, c = users.make(), users.make(), users.make()
    login(api, a, "dev-farm-01", 1)
    login(api, b, "dev-farm-01", 2)
    pump.drain()
    assert rules_flagged() == []  # two accounts on one phone happen (a couple, a reinstall)
    login(api, c, "dev-farm-01", 3)
    login(api, c, "dev-farm-01", 3)  # the same account again is not a fourth
    pump.drain()
    assert rules_flagged() == ["device_cluster"]
    admin = users.staff("admin")
    (row,) = flag_rows(api, admin)
    assert row["subject"] == c.id and row["evidence"]["count"] == 3
    assert sorted(row["evidence"]["users"]) == sorted([a.id, b.id, c.id])
    assert row["action"] == "flag" and row["severity"] == "medium"


def test_one_picture_from_two_workers_flags_the_second_as_a_duplicate(api, users, market, pump, clock):
    merchant = market.merchant(50_000)
    task_id = market.publish(merchant, draft(proof={"images_min": 1}))
    w1, w2 = users.make(), users.make()
    c1, c2 = claim(api, w1, task_id, 1), claim(api, w2, task_id, 2)
    clock.advance(5 * 60)
    relogin(w1, w2)
    k1 = upload_proof(api, w1, picture())
    k2 = upload_proof(api, w2, picture((120, 96), "JPEG"), "image/jpeg")
    assert prove(api, w1, c1, 1, image_keys=[k1]).status == 200
    assert prove(api, w2, c2, 2, image_keys=[k2]).status == 200
    pump.drain()
    assert rules_flagged() == ["proof_image_duplicate"]
    (row,) = flag_rows(api, users.staff("admin"))
    assert row["subject"] == w2.id
    assert row["evidence"]["first_worker"] == w1.id and row["evidence"]["first_claim_id"] == c1


def test_different_pictures_are_not_duplicates(api, users, market, pump, clock):
    merchant = market.merchant(50_000)
    task_id = market.publish(merchant, draft(proof={"images_min": 1}))
    w1, w2 = users.make(), users.make()
    c1, c2 = claim(api, w1, task_id, 1), claim(api, w2, task_id, 2)
    clock.advance(5 * 60)
    relogin(w1, w2)
    assert prove(api, w1, c1, 1, image_keys=[upload_proof(api, w1, picture())]).status == 200
    assert prove(api, w2, c2, 2, image_keys=[upload_proof(api, w2, other_picture())]).status == 200
    pump.drain()
    assert rules_flagged() == []


def test_proof_three_seconds_after_claiming_a_ten_minute_task_is_too_fast(api, users, market, pump, clock):
    merchant = market.merchant(50_000)
    task_id = market.publish(merchant, draft(claim_ttl_s=600, proof={"text": "填写问卷编号"}))
    w = users.make()
    cid = claim(api, w, task_id, 1)
    clock.advance(3)
    assert prove(api, w, cid, 1, text="问卷编号 0001").status == 200
    pump.drain()
    assert rules_flagged() == ["proof_too_fast"]
    (row,) = flag_rows(api, users.staff("admin"))
    assert row["subject"] == w.id and row["evidence"]["seconds"] == 3 and row["evidence"]["floor_seconds"] == 60


def test_proof_after_the_floor_is_not_flagged(api, users, market, pump, clock):
    merchant = market.merchant(50_000)
    task_id = market.publish(merchant, draft(claim_ttl_s=600, proof={"text": "填写问卷编号"}))
    w = users.make()
    cid = claim(api, w, task_id, 1)
    clock.advance(61)
    assert prove(api, w, cid, 1, text="问卷编号 0002").status == 200
    pump.drain()
    assert rules_flagged() == []


def test_gps_500_km_off_is_refused_and_flagged(api, users, market, pump, clock):
    merchant = market.merchant(50_000)
    task_id = market.publish(merchant, promotion(proof={"gps": {"lat": 31.2304, "lng": 121.4737, "radius_m": 500}}))
    w = users.make()
    cid = claim(api, w, task_id, 1)
    clock.advance(5 * 60)
    relogin(w)
    far = prove(api, w, cid, 1, location={"lat": 35.73, "lng": 121.4737})  # ~500 km north of 人民广场
    assert far.status == 422 and far.code == "OUTSIDE_GEOFENCE"
    pump.drain()
    assert rules_flagged() == ["gps_outside_geofence"]
    (row,) = flag_rows(api, users.staff("admin"))
    assert row["subject"] == w.id and 495_000 < row["evidence"]["distance_m"] < 505_000


def test_merchant_rejecting_20_of_20_is_paused_and_its_guarantee_held(api, users, market, pump, clock):
    from devstack import moto_patches

    # 60 transactions on a growing table: back up only the items each one names (docs/decisions/0004), as the
    # local server does; the same checks and errors as moto's own (tests/unit/test_moto_patches.py).
    moto_patches.install()
    merchant = market.merchant(200_000)
    task_id = market.publish(merchant, draft(slots=25, proof={"text": "填写问卷编号"}))
    other_task = market.publish(merchant, draft(slots=5, proof={"text": "填写问卷编号"}))
    workers = [users.make() for _ in range(20)]
    claims = [claim(api, w, task_id, i + 1) for i, w in enumerate(workers)]
    clock.advance(5 * 60)
    relogin(merchant, *workers)
    for i, (w, cid) in enumerate(zip(workers, claims, strict=True)):
        assert prove(api, w, cid, i + 1, text=f"问卷编号 {i:04d}").status == 200
    for cid in claims[:19]:
        assert api.post(f"/v1/claims/{cid}/reject", {"reason": "截图不符合要求"}, token=merchant.token).status == 200
    pump.drain()
    assert rules_flagged() == []  # 19 reviews are not a window yet
    assert api.post(f"/v1/claims/{claims[19]}/reject", {"reason": "截图不符合要求"}, token=merchant.token).status == 200
    pump.drain()
    assert rules_flagged() == ["merchant_mass_rejection"]
    assert market.task(merchant, task_id)["status"] == "paused"
    assert market.task(merchant, other_task)["status"] == "paused"
    assert guarantee_store.is_held(merchant.id)
    admin = users.staff("admin")
    (row,) = flag_rows(api, admin)
    assert row["subject"] == merchant.id and row["evidence"]["rejected"] == 20 and row["action"] == "pause_merchant"
    try:
        guarantee.release(merchant.id)
        raise AssertionError("a held guarantee was released")
    except Exception as exc:
        assert getattr(exc, "code", None) == "GUARANTEE_HELD"
    # The desk lifts the breaker: tasks resume, the hold goes, and it is in the audit log.
    done = api.post(f"/v1/admin/risk/flags/{row['id']}/resolve", {"action": "resume_merchant"}, token=admin.token)
    assert done.status == 200, done.body
    assert done.json["status"] == "resolved" and done.json["resolution"] == "resume_merchant"
    assert market.task(merchant, task_id)["status"] == "published"
    assert not guarantee_store.is_held(merchant.id)
    assert {"risk.pause_merchant", "risk.resume_merchant", "risk.flag.resume_merchant"} <= audit_actions()


def audit_actions() -> set[str]:
    from chalicelib.store.audit import AuditItem

    return {a.action for a in AuditItem.query("AUDIT#202611")}


def test_payouts_are_held_then_released_by_the_desk(api, users, fund, pump):
    a, b = users.make(), users.make()
    assert verify(api, a).status == 200 and verify(api, b).status == 200
    fund(a.id, 1_000)
    fund(b.id, 1_000)
    assert withdraw(api, a, number="6222000011113333").status == 201
    assert withdraw(api, b, number="6222000011113333", key="w2").code == "PAYOUT_ACCOUNT_IN_USE"
    mine = withdraw(api, b, number="6222000099998888", key="w3")
    assert mine.status == 201 and mine.json["status"] == "pending"  # accepted, but it waits
    pump.drain()
    assert rules_flagged() == ["payout_account_shared"]
    assert withdrawals.poll_payouts() == {"submitted": 1, "paid": 1, "failed": 0, "waiting": 1, "errors": 0}
    assert withdrawals.poll_payouts()["waiting"] == 1
    wid = mine.json["withdrawal_id"]
    assert api.get(f"/v1/withdrawals/{wid}", token=b.token).json["status"] == "pending"
    admin = users.staff("admin")
    (row,) = flag_rows(api, admin)
    assert row["subject"] == b.id and row["action"] == "hold_payouts"
    done = api.post(
        f"/v1/admin/risk/flags/{row['id']}/resolve",
        {"action": "release_hold", "note": "核实为家庭共用"},
        token=admin.token,
    )
    assert done.status == 200, done.body
    assert withdrawals.poll_payouts()["paid"] == 1
    assert api.get(f"/v1/withdrawals/{wid}", token=b.token).json["status"] == "paid"
    assert flag_rows(api, admin) == [] and len(flag_rows(api, admin, "resolved")) == 1
    assert {"risk.hold_payouts", "risk.release_hold", "risk.flag.release_hold"} <= audit_actions()
