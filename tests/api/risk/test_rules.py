"""The other rules, each through the path that feeds it: texts, travel, IP clusters, withdrawal patterns."""

from __future__ import annotations

import io

from chalicelib.domain import growth as G
from chalicelib.services import withdrawals
from chalicelib.store import ledger as books
from tests.api.risk.conftest import draft, flag_rows, promotion, relogin, rules_flagged, verify, withdraw
from tests.api.risk.test_scenarios import claim, login, prove

SHANGHAI = {"lat": 31.2304, "lng": 121.4737, "radius_m": 500}
BEIJING = {"lat": 39.9042, "lng": 116.4074, "radius_m": 500}


def test_identical_proof_texts_on_one_task_flag_the_copier(api, users, market, pump, clock):
    merchant = market.merchant(50_000)
    task_id = market.publish(merchant, draft(proof={"text": "填写结果页上的问卷编号"}))
    other_task = market.publish(merchant, draft(proof={"text": "填写结果页上的问卷编号"}))
    w1, w2, w3 = users.make(), users.make(), users.make()
    c1, c2 = claim(api, w1, task_id, 1), claim(api, w2, task_id, 2)
    c3 = claim(api, w3, other_task, 3)
    clock.advance(5 * 60)
    relogin(w1, w2, w3)
    assert prove(api, w1, c1, 1, text="问卷编号 QX-77812 已完成").status == 200
    assert prove(api, w2, c2, 2, text="问卷编号  qx-77812 已完成").status == 200  # spacing and case do not hide it
    assert prove(api, w3, c3, 3, text="问卷编号 QX-77812 已完成").status == 200  # another task: not a copy
    pump.drain()
    assert rules_flagged() == ["proof_text_duplicate"]
    (row,) = flag_rows(api, users.staff("admin"))
    assert row["subject"] == w2.id and row["evidence"]["first_worker"] == w1.id


def test_short_common_texts_are_not_duplicates(api, users, market, pump, clock):
    merchant = market.merchant(50_000)
    task_id = market.publish(merchant, draft(proof={"text": "填写完成情况"}))
    w1, w2 = users.make(), users.make()
    c1, c2 = claim(api, w1, task_id, 1), claim(api, w2, task_id, 2)
    clock.advance(5 * 60)
    relogin(w1, w2)
    assert prove(api, w1, c1, 1, text="已完成").status == 200
    assert prove(api, w2, c2, 2, text="已完成").status == 200
    pump.drain()
    assert rules_flagged() == []


def _two_city_tasks(market):
    merchant = market.merchant(80_000)
    ttl = 8 * 3600
    in_shanghai = market.publish(merchant, promotion(claim_ttl_s=ttl, proof={"gps": SHANGHAI}))
    in_beijing = market.publish(merchant, promotion(claim_ttl_s=ttl, proof={"gps": BEIJING}))
    return in_shanghai, in_beijing


def test_proofs_in_shanghai_then_beijing_ten_minutes_apart_are_impossible_travel(api, users, market, pump, clock):
    sh, bj = _two_city_tasks(market)
    w = users.make()
    c_sh, c_bj = claim(api, w, sh, 1), claim(api, w, bj, 1)
    clock.advance(5 * 60)
    relogin(w)
    assert prove(api, w, c_sh, 1, location={"lat": 31.2305, "lng": 121.4738}).status == 200
    clock.advance(10 * 60)
    relogin(w)
    assert prove(api, w, c_bj, 1, location={"lat": 39.9043, "lng": 116.4075}).status == 200
    pump.drain()
    assert rules_flagged() == ["impossible_travel"]
    (row,) = flag_rows(api, users.staff("admin"))
    assert row["subject"] == w.id and 1000 < row["evidence"]["km"] < 1100 and row["evidence"]["kmh"] > 6000


def test_the_same_trip_in_five_hours_is_a_train_not_a_flag(api, users, market, pump, clock):
    sh, bj = _two_city_tasks(market)
    w = users.make()
    c_sh, c_bj = claim(api, w, sh, 1), claim(api, w, bj, 1)
    clock.advance(5 * 60)
    relogin(w)
    assert prove(api, w, c_sh, 1, location={"lat": 31.2305, "lng": 121.4738}).status == 200
    clock.advance(5 * 3600)
    relogin(w)
    assert prove(api, w, c_bj, 1, location={"lat": 39.9043, "lng": 116.4075}).status == 200
    pump.drain()
    assert rules_flagged() == []


def test_five_accounts_on_one_address_within_a_day_are_an_ip_cluster(api, users, pump):
    people = [users.make() for _ in range(5)]
    for n, person in enumerate(people[:4]):
        login(api, person, f"dev-own-{n}", 77)
    pump.drain()
    assert rules_flagged() == []
    login(api, people[4], "dev-own-4", 77)
    pump.drain()
    assert rules_flagged() == ["ip_cluster"]
    (row,) = flag_rows(api, users.staff("admin"))
    assert row["evidence"]["count"] == 5 and row["subject"] == people[4].id


def test_accounts_on_one_address_days_apart_are_not_a_cluster(api, users, pump, clock):
    people = [users.make() for _ in range(5)]
    for n, person in enumerate(people):
        login(api, person, f"dev-own-{n}", 78)
        clock.advance(8 * 3600)
    pump.drain()
    assert rules_flagged() == []


def test_third_withdrawal_within_a_day_holds_payouts(api, users, fund, pump):
    w = users.make()
    assert verify(api, w).status == 200
    fund(w.id, 5_000)
    for n in range(2):
        assert withdraw(api, w, key=f"v{n}").status == 201
    pump.drain()
    assert rules_flagged() == []
    assert withdraw(api, w, key="v2").status == 201
    assert withdraw(api, w, key="v3").status == 201
    pump.drain()
    assert rules_flagged() == ["withdrawal_velocity"]  # one flag for the burst
    assert withdrawals.poll_payouts()["waiting"] == 4  # all of them wait for the desk


def test_withdrawal_right_after_registration_with_referral_income_is_held(api, users, pump, clock):
    inviter, invitee = users.make(), users.make()
    assert verify(api, invitee).status == 200
    books.post(G.referral_rewards(inviter.id, invitee.id, 800))
    clock.advance(2 * 3600)
    relogin(invitee)
    reply = withdraw(api, invitee, amount=500)
    assert reply.status == 201, reply.body
    pump.drain()
    assert rules_flagged() == ["withdrawal_after_referral"]
    (row,) = flag_rows(api, users.staff("admin"))
    assert row["subject"] == invitee.id and row["evidence"]["referral_fen"] == 800
    assert withdrawals.poll_payouts()["waiting"] == 1


def test_referral_income_withdrawn_after_the_new_account_window_is_not_flagged(api, users, pump, clock):
    inviter, invitee = users.make(), users.make()
    assert verify(api, invitee).status == 200
    books.post(G.referral_rewards(inviter.id, invitee.id, 800))
    clock.advance(4 * 86400)
    relogin(invitee)
    assert withdraw(api, invitee, amount=500).status == 201
    pump.drain()
    assert rules_flagged() == []


def test_a_cropped_copy_with_a_sticker_on_the_same_task_is_a_near_duplicate(api, users, market, pump, clock):
    from PIL import Image, ImageDraw

    from tests.api.risk.conftest import upload_proof
    from tests.api.risk.test_scenarios import picture

    merchant = market.merchant(50_000)
    task_id = market.publish(merchant, draft(proof={"images_min": 1}))
    w1, w2 = users.make(), users.make()
    c1, c2 = claim(api, w1, task_id, 1), claim(api, w2, task_id, 2)
    clock.advance(5 * 60)
    relogin(w1, w2)
    with Image.open(io.BytesIO(picture())) as img:
        edited = img.convert("RGB")
    ImageDraw.Draw(edited).rectangle((150, 5, 195, 30), fill="red")  # a sticker over a corner
    out = io.BytesIO()
    edited.save(out, "PNG")
    assert prove(api, w1, c1, 1, image_keys=[upload_proof(api, w1, picture())]).status == 200
    assert prove(api, w2, c2, 2, image_keys=[upload_proof(api, w2, out.getvalue())]).status == 200
    pump.drain()
    assert rules_flagged() == ["proof_image_duplicate"]
    (row,) = flag_rows(api, users.staff("admin"))
    assert row["subject"] == w2.id and 0 < row["evidence"]["distance"] <= 6 and row["evidence"]["first_worker"] == w1.id
