"""Sign-in lockout after repeated failures, identical for phones with and without an account."""

from __future__ import annotations

from tests.api.identity.factory import PASSWORD, new_phone


def _fail(flow, phone, times):
    return [flow.login(phone, "Wrong2027pw") for _ in range(times)]


def test_five_wrong_passwords_lock_sign_in_for_fifteen_minutes(api, flow, clock, users):
    account = users.make("worker")
    for reply in _fail(flow, account.phone, 4):
        assert reply.status == 401
        assert reply.code == "INVALID_CREDENTIALS"
    fifth = flow.login(account.phone, "Wrong2027pw")
    assert fifth.status == 429
    assert fifth.code == "LOGIN_LOCKED"
    assert fifth.headers["Retry-After"] == "900"
    # Even the right password waits out the lock.
    locked = flow.login(account.phone, PASSWORD)
    assert locked.status == 429
    assert 1 <= int(locked.headers["Retry-After"]) <= 900
    clock.advance(900)
    assert flow.login(account.phone, PASSWORD).status == 200


def test_unknown_phone_gets_the_same_answers_and_the_same_lock(flow, users):
    known = users.make("worker").phone
    unknown = new_phone()
    known_replies = [*_fail(flow, known, 5)]
    unknown_replies = [*_fail(flow, unknown, 5)]
    assert [(r.status, r.code, r.json["error"]["message"]) for r in known_replies] == [
        (r.status, r.code, r.json["error"]["message"]) for r in unknown_replies
    ]
    assert flow.login(unknown, PASSWORD).code == "LOGIN_LOCKED"


def test_a_successful_sign_in_clears_earlier_failures(flow, users):
    account = users.make("worker")
    _fail(flow, account.phone, 4)
    assert flow.login(account.phone, PASSWORD).status == 200
    for reply in _fail(flow, account.phone, 4):
        assert reply.status == 401


def test_password_reset_lifts_the_lock(api, flow, users):
    account = users.make("worker")
    _fail(flow, account.phone, 5)
    code = flow.code(account.phone, "reset")
    assert (
        api.post("/v1/auth/reset", {"phone": account.phone, "otp": code, "new_password": "Fresh2027pw"}).status == 200
    )
    assert flow.login(account.phone, "Fresh2027pw").status == 200


def test_lock_is_per_phone(flow, users):
    locked, other = users.make("worker"), users.make("worker")
    _fail(flow, locked.phone, 5)
    assert flow.login(other.phone, PASSWORD).status == 200
