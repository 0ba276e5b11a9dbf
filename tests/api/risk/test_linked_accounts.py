"""`risk.linked_accounts(a, b)`: the reasons two accounts look like one person (the referral rewards ask it)."""

from __future__ import annotations

from chalicelib.services import risk
from chalicelib.store import sightings
from tests.api.money.conftest import id_number
from tests.api.risk.conftest import rules_flagged, verify, withdraw


def test_accounts_seen_on_one_device_are_linked_by_device(api, users):
    a, b = users.make(), users.make()
    sightings.record_sighting(a.id, "dev-shared-1", None, "login")
    sightings.record_sighting(b.id, "dev-shared-1", None, "register")
    assert risk.linked_accounts(a.id, b.id) == ["device"]
    assert risk.linked_accounts(b.id, a.id) == ["device"]


def test_device_link_comes_from_logins_through_the_api(api, users):
    a, b = users.make(), users.make()
    for acct in (a, b):
        reply = api.post(
            "/v1/auth/login", {"phone": acct.phone, "password": acct.password}, headers={"X-Device-Id": "dev-api-7"}
        )
        assert reply.status == 200, reply.body
    # The in-process client gives every request one source address, so the two logins share an IP too.
    assert risk.linked_accounts(a.id, b.id) == ["device", "ip"]


def test_unrelated_accounts_are_not_linked(api, users):
    a, b = users.make(), users.make()
    sightings.record_sighting(a.id, "dev-a", "10.0.0.1", "login")
    sightings.record_sighting(b.id, "dev-b", "10.0.0.2", "login")
    assert risk.linked_accounts(a.id, b.id) == []
    assert risk.linked_accounts(a.id, a.id) == []


def test_one_address_links_only_within_the_window(api, users, clock):
    a, b, c = users.make(), users.make(), users.make()
    sightings.record_sighting(a.id, None, "203.0.113.9", "login")
    clock.advance(3 * 3600)
    sightings.record_sighting(b.id, None, "203.0.113.9", "login")
    clock.advance(3 * 86400)
    sightings.record_sighting(c.id, None, "203.0.113.9", "login")
    assert risk.linked_accounts(a.id, b.id) == ["ip"]
    assert risk.linked_accounts(a.id, c.id) == []  # three days apart: a shared NAT, not a link


def test_identity_attempt_links_the_two_accounts_and_flags_once(api, users):
    a, b = users.make(), users.make()
    number = id_number()
    assert verify(api, a, number=number).status == 200
    for _ in range(2):
        reply = verify(api, b, number=number)
        assert reply.status == 409 and reply.code == "IDENTITY_IN_USE"
    assert risk.linked_accounts(a.id, b.id) == ["identity"]
    assert rules_flagged() == ["identity_duplicate"]


def test_payout_account_attempt_links_the_two_accounts_and_holds_the_attempter(api, users, fund):
    a, b = users.make(), users.make()
    assert verify(api, a).status == 200 and verify(api, b).status == 200
    fund(a.id, 1_000)
    fund(b.id, 1_000)
    assert withdraw(api, a, number="6222000011112222").status == 201
    reply = withdraw(api, b, number="6222000011112222")
    assert reply.status == 409 and reply.code == "PAYOUT_ACCOUNT_IN_USE"
    assert risk.linked_accounts(a.id, b.id) == ["ip", "payout_account"]  # one client address, as above
    assert rules_flagged() == ["payout_account_shared"]
    assert risk.payouts_held(b.id) and not risk.payouts_held(a.id)


def test_several_reasons_are_all_named(api, users):
    a, b = users.make(), users.make()
    number = id_number()
    assert verify(api, a, number=number).status == 200
    assert verify(api, b, number=number).status == 409
    sightings.record_sighting(a.id, "dev-x", "198.51.100.4", "login")
    sightings.record_sighting(b.id, "dev-x", "198.51.100.4", "login")
    assert risk.linked_accounts(a.id, b.id) == ["device", "identity", "ip"]
