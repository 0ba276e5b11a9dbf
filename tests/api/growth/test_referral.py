"""Referrals: invite code and link, counted registrations, 5 yuan each to inviter and invitee at the invitee's
first accepted task (once), withheld and flagged for linked accounts, and a daily cap per inviter."""

from __future__ import annotations

import hashlib

from chalicelib.adapters import clock
from chalicelib.domain import growth as G
from chalicelib.domain import ledger as L
from chalicelib.services import referrals
from chalicelib.store import flags, keys
from chalicelib.store import ledger as books
from chalicelib.store import referrals as ref_store
from tests.api.claims.conftest import fresh
from tests.api.growth.conftest import promo_spent


def invite_of(api, user) -> dict:
    reply = api.get("/v1/me/invite", token=fresh(user))
    assert reply.status == 200, reply.body
    return dict(reply.json)


def wallet_fen(user_id: str) -> int:
    return books.get_balances([L.wallet(user_id)])[L.wallet(user_id)].available


def flag_of(rule_id: str, subject: str, cause: str):
    digest = hashlib.sha256(f"{rule_id}|{subject}|{cause}".encode()).hexdigest()[:26].upper()
    pk, sk = keys.flag(f"flg_{digest}")
    try:
        return flags.FlagItem.get(pk, sk)
    except flags.FlagItem.DoesNotExist:
        return None


def test_every_user_has_an_invite_code_and_link(api, people):
    user = people.accounts.make("merchant")
    out = invite_of(api, user)
    assert out == {
        "code": out["code"],
        "link": f"https://taskhall.cn/i/{out['code']}",
        "invited_count": 0,
        "earned_fen": 0,
    }
    assert len(out["code"]) == 8 and set(out["code"]) <= set("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
    assert api.get("/v1/me/invite").status == 401


def test_referral_pays_inviter_and_invitee_once_at_the_first_accepted_task(api, people, h7_stream):
    inviter = people.register("worker", device="dev-inviter")
    h7_stream.drain()
    code = invite_of(api, inviter)["code"]
    invitee = people.register("worker", device="dev-invitee", invite_code=code.lower())
    h7_stream.drain()
    assert invite_of(api, inviter)["invited_count"] == 1
    assert ref_store.get(invitee.id).status == "pending"
    before = wallet_fen(inviter.id)

    first = people.accept(invitee, reward=1_000)
    h7_stream.drain()
    assert wallet_fen(inviter.id) == before + 500
    assert wallet_fen(invitee.id) == 1_000 + 100 + 100 + 500  # reward, first-task bonus, coupon, referral
    record = ref_store.get(invitee.id)
    assert (record.status, record.claim_id, record.reward_fen) == ("paid", first, 500)
    assert invite_of(api, inviter) == {**invite_of(api, inviter), "invited_count": 1, "earned_fen": 500}
    lines = [e for e in people.entries(inviter) if e["type"] == "promo"]
    assert [(e["amount_fen"], e["description"]) for e in lines] == [(500, "邀请好友奖励")]

    h7_stream.replay(0)  # the whole stream again: registrations, acceptance, transfers
    people.accept(invitee, reward=1_000)  # and a second accepted task
    h7_stream.drain()
    assert wallet_fen(inviter.id) == before + 500
    assert wallet_fen(invitee.id) == 1_000 + 100 + 100 + 500 + 1_000
    assert invite_of(api, inviter)["invited_count"] == 1 and invite_of(api, inviter)["earned_fen"] == 500
    assert promo_spent() == 2 * 100 + 100 + 2 * 500  # two coupons, one first-task bonus, two referral rewards


def test_referral_is_withheld_and_flagged_when_both_accounts_share_a_device(api, people, h7_stream):
    inviter = people.register("worker", device="dev-same-phone")
    code = invite_of(api, inviter)["code"]
    invitee = people.register("worker", device="dev-same-phone", invite_code=code)
    h7_stream.drain()
    before = wallet_fen(inviter.id)
    people.accept(invitee, reward=1_000)
    h7_stream.drain()
    record = ref_store.get(invitee.id)
    assert record.status == "withheld" and "device" in record.reasons
    assert wallet_fen(inviter.id) == before
    assert wallet_fen(invitee.id) == 1_000 + 100 + 100  # the worker's own promotions still apply
    for transfer_id in G.referral_ids(invitee.id):
        assert books.get_transfer(transfer_id) is None
    flag = flag_of("referral_linked_accounts", invitee.id, f"referral:{invitee.id}")
    assert flag is not None and flag.evidence["inviter"] == inviter.id and "device" in flag.evidence["reasons"]
    assert invite_of(api, inviter)["earned_fen"] == 0 and invite_of(api, inviter)["invited_count"] == 1
    assert referrals.first_task(invitee.id, "clm_again") == "duplicate"


def test_rewards_beyond_the_inviters_daily_cap_are_withheld(api, people, h7_stream, monkeypatch):
    from chalicelib.config import reset_settings

    monkeypatch.setenv("REFERRAL_DAILY_CAP", "1")
    reset_settings()
    inviter = people.accounts.make("worker")
    code = invite_of(api, inviter)["code"]
    first = people.register("worker", device="dev-a", invite_code=code)
    second = people.register("worker", device="dev-b", invite_code=code)
    h7_stream.drain()
    people.accept(first)
    h7_stream.drain()
    people.accept(second)
    h7_stream.drain()
    assert [ref_store.get(u.id).status for u in (first, second)] == ["paid", "withheld"]
    assert ref_store.get(second.id).reasons == ["cap"]
    out = invite_of(api, inviter)
    assert (out["invited_count"], out["earned_fen"]) == (2, 500)
    day = G.shanghai_day(clock.now())
    assert flag_of("referral_daily_cap", inviter.id, f"{inviter.id}:{day}") is not None


def test_an_acceptance_seen_before_the_registration_still_counts_the_invite_once(api, people):
    """Stream order across items is not guaranteed: the reward decision creates the record if it is missing,
    and the registration's later delivery then changes nothing."""
    inviter = people.accounts.make("worker")
    code = invite_of(api, inviter)["code"]
    invitee = people.register("worker", device="dev-late", invite_code=code)  # stream not delivered
    assert referrals.first_task(invitee.id, "clm_first") == "paid"
    assert referrals.registered(invitee.id, inviter.id, code) is False
    assert invite_of(api, inviter)["invited_count"] == 1
    assert wallet_fen(invitee.id) == 500
