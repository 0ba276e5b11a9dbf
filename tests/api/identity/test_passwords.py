"""Password hashing: argon2id at production cost, the test-only cost switch, and rehash on sign-in."""

from __future__ import annotations

import time

import pytest
from argon2 import PasswordHasher, Type, extract_parameters

from chalicelib.adapters import passwords as pw
from chalicelib.config import reset_settings
from chalicelib.store import keys
from chalicelib.store import users as user_store
from tests.api.identity.factory import new_phone


def test_production_parameters_are_argon2id_at_or_above_owasp(monkeypatch):
    monkeypatch.delenv(pw.TEST_COST_ENV, raising=False)
    started = time.perf_counter()
    stored = pw.hash_password("Correct2026horse")
    elapsed_ms = (time.perf_counter() - started) * 1000
    params = extract_parameters(stored)
    assert params.type is Type.ID
    assert params.time_cost >= 2
    assert params.memory_cost >= 19456
    assert params.parallelism == 1
    assert pw.verify_password(stored, "Correct2026horse") == (True, False)
    assert pw.verify_password(stored, "Wrong2026horse") == (False, False)
    print(f"argon2id t={params.time_cost} m={params.memory_cost} KiB p=1: {elapsed_ms:.0f} ms")


def test_cheap_test_cost_is_honoured_only_in_stage_test(monkeypatch):
    monkeypatch.setenv(pw.TEST_COST_ENV, "fast")
    assert pw.hasher().memory_cost < 19456
    for stage in ("local", "dev", "prod"):
        monkeypatch.setenv("STAGE", stage)
        reset_settings()
        try:
            assert pw.hasher().memory_cost == pw.MEMORY_COST_KIB, stage
            assert pw.hasher().time_cost == pw.TIME_COST
        finally:
            monkeypatch.setenv("STAGE", "test")
            reset_settings()


def test_garbage_hash_is_a_mismatch_not_an_error():
    assert pw.verify_password("not-a-hash", "anything1") == (False, False)


def test_sign_in_upgrades_a_hash_made_with_older_parameters(api, flow, users):
    account = users.make("worker")
    old = PasswordHasher(time_cost=1, memory_cost=16, parallelism=1).hash(account.password)
    user_store.UserItem(*keys.user(account.id)).update(actions=[user_store.UserItem.password_hash.set(old)])
    assert flow.login(account.phone, account.password).status == 200
    upgraded = user_store.get_user(account.id, consistent=True).password_hash
    assert upgraded != old
    assert extract_parameters(upgraded) == extract_parameters(pw.hash_password("x"))
    assert flow.login(account.phone, account.password).status == 200


def test_unknown_phone_still_spends_a_verification(monkeypatch, aws, clock):
    from chalicelib.domain.errors import Unauthorized
    from chalicelib.services import auth

    spent = []
    monkeypatch.setattr(pw, "burn_verify", lambda password: spent.append(password))
    with pytest.raises(Unauthorized) as err:
        auth.login(new_phone(), "Whatever2026", None, ip="10.0.0.9", device_id=None)
    assert err.value.code == "INVALID_CREDENTIALS"
    assert spent == ["Whatever2026"]
