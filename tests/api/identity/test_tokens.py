"""Access tokens: lifetime on the stage clock, signature, pinned algorithm, claims, revocation and freezing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.adapters import secrets
from chalicelib.services import accounts, sessions


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _sign(claims: dict, algorithm: str = "HS256", key: bytes | None = None) -> str:
    return jwt.encode(claims, key or secrets.purpose_key("jwt"), algorithm=algorithm)


def _get_me(api, token: str):
    return api.get("/v1/me", token=token)


def test_token_carries_the_pinned_claims(users):
    account = users.make("worker")
    header = jwt.get_unverified_header(account.token)
    claims = _claims(account.token)
    assert header["alg"] == "HS256"
    assert claims["iss"] == "taskhall"
    assert claims["aud"] == "taskhall-api"
    assert claims["sub"] == account.id
    assert claims["role"] == "worker"
    assert claims["exp"] - claims["iat"] <= 900
    assert {"sv", "fam"} <= set(claims)


def test_expired_token_returns_401_token_expired(api, clock, users):
    account = users.make("worker")
    assert _get_me(api, account.token).status == 200
    clock.advance(sessions.ACCESS_TTL_S)
    reply = _get_me(api, account.token)
    assert reply.status == 401
    assert reply.code == "TOKEN_EXPIRED"
    assert "WWW-Authenticate" in reply.headers


def test_tampered_payload_returns_401(api, users):
    account = users.make("worker")
    head, _payload, sig = account.token.split(".")
    claims = _claims(account.token)
    claims["role"] = "admin"
    forged = f"{head}.{_b64(claims)}.{sig}"
    reply = _get_me(api, forged)
    assert reply.status == 401
    assert reply.code == "TOKEN_INVALID"


def test_tampered_signature_returns_401(api, users):
    account = users.make("worker")
    flipped = account.token[:-2] + ("A" if account.token[-2] != "A" else "B") + account.token[-1]
    assert _get_me(api, flipped).code == "TOKEN_INVALID"


def test_alg_none_returns_401(api, users):
    account = users.make("worker")
    claims = _claims(account.token)
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    assert _get_me(api, unsigned).status == 401
    also = jwt.encode(claims, None, algorithm="none")
    assert _get_me(api, also).status == 401


def test_other_hmac_algorithm_with_the_right_key_returns_401(api, users):
    account = users.make("worker")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT warns that 32 bytes is short for SHA-512; that is the point
        hs512 = _sign(_claims(account.token), "HS512")
    assert _get_me(api, hs512).code == "TOKEN_INVALID"


def test_rs256_tokens_and_key_confusion_return_401(api, users):
    account = users.make("worker")
    claims = _claims(account.token)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rs256 = jwt.encode(claims, private, algorithm="RS256")
    assert _get_me(api, rs256).code == "TOKEN_INVALID"
    # Classic confusion: an attacker signs HS256 with a public key as the HMAC secret. Our secret is not public,
    # and the header says RS256 while the MAC is HMAC: refused either way.
    pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    for alg in ("RS256", "HS256"):
        signing_input = f"{_b64({'alg': alg, 'typ': 'JWT'})}.{_b64(claims)}"
        mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
        confused = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
        assert _get_me(api, confused).code == "TOKEN_INVALID", alg


@pytest.mark.parametrize(
    "change",
    [
        {"iss": "someone-else"},
        {"aud": "another-api"},
        {"aud": ["taskhall-api", "another-api"]},
        {"role": "superuser"},
        {"sv": "1"},
        {"sub": 42},
        {"exp": None},
    ],
    ids=["iss", "aud", "aud-list", "role", "sv-type", "sub-type", "no-exp"],
)
def test_wrongly_shaped_claims_signed_with_our_key_return_401(api, users, change):
    account = users.make("worker")
    claims = {**_claims(account.token), **change}
    claims = {k: v for k, v in claims.items() if v is not None}
    assert _get_me(api, _sign(claims)).status == 401


def test_token_claiming_more_than_fifteen_minutes_returns_401(api, users):
    account = users.make("worker")
    claims = _claims(account.token)
    claims["exp"] = claims["iat"] + 3600
    assert _get_me(api, _sign(claims)).code == "TOKEN_INVALID"


def test_token_issued_in_the_future_returns_401(api, users):
    account = users.make("worker")
    claims = _claims(account.token)
    claims["iat"] += 600
    claims["exp"] += 600
    assert _get_me(api, _sign(claims)).code == "TOKEN_INVALID"


def test_missing_or_malformed_authorization_returns_401(api, users):
    assert api.get("/v1/me").status == 401
    account = users.make("worker")
    reply = api.get("/v1/me", headers={"Authorization": f"Basic {account.token}"})
    assert reply.status == 401
    assert api.get("/v1/me", headers={"Authorization": "Bearer"}).status == 401
    assert api.get("/v1/me", headers={"Authorization": "Bearer not.a.jwt"}).status == 401


def test_a_signed_request_on_a_route_without_signing_is_401_bad_signature(api):
    reply = api.get("/v1/me", headers={"X-Taskhall-Merchant": "usr_x", "X-Taskhall-Signature": "abc"})
    assert reply.status == 401
    assert reply.code == "BAD_SIGNATURE"


def test_frozen_account_gets_403_except_reading_me(api, users):
    worker = users.make("worker")
    admin = users.staff("admin")
    accounts.set_frozen(admin.caller, worker.id, True, reason="风险排查", request_id=None)
    me = _get_me(api, worker.token)
    assert me.status == 200
    assert me.json["status"] == "frozen"
    refused = api.post("/v1/me/real-name", {"name": "张三", "id_number": "11010519491231002X"}, token=worker.token)
    assert refused.status == 403
    assert refused.code == "ACCOUNT_FROZEN"
    upload = {"purpose": "proof", "content_type": "image/png", "size_bytes": 10}
    assert api.post("/v1/uploads", upload, token=worker.token).code == "ACCOUNT_FROZEN"
    accounts.set_frozen(admin.caller, worker.id, False, reason="核实无误", request_id=None)
    assert api.post("/v1/uploads", upload, token=worker.token).status == 200


def test_freeze_made_by_another_process_shows_within_the_cache_window(api, clock, users):
    """Another Lambda froze the account: this process sees it once its cached state is older than the window."""
    from chalicelib.store import keys
    from chalicelib.store import users as user_store

    worker = users.make("worker")
    assert _get_me(api, worker.token).json["status"] == "active"  # warms this process's cache
    item = user_store.UserItem(*keys.user(worker.id))
    item.update(actions=[user_store.UserItem.status.set("frozen")])  # as another process would: no cache reset
    upload = {"purpose": "proof", "content_type": "image/png", "size_bytes": 10}
    assert api.post("/v1/uploads", upload, token=worker.token).status == 200  # still inside the window
    clock.advance(sessions.STATE_CACHE_S)
    reply = api.post("/v1/uploads", upload, token=worker.token)
    assert reply.code == "ACCOUNT_FROZEN"


def test_authentication_costs_at_most_one_getitem_and_none_when_warm(aws, clock, users, monkeypatch):
    from chalicelib.handlers.web import RequestContext
    from chalicelib.store import users as user_store

    account = users.make("worker")
    sessions.clear_state_cache()
    calls = []
    real = user_store.get_user

    def counting(user_id, **kw):
        calls.append(user_id)
        return real(user_id, **kw)

    monkeypatch.setattr(user_store, "get_user", counting)
    ctx = RequestContext("req", "1.2.3.4", None, None, None, headers={"authorization": f"Bearer {account.token}"})
    assert sessions.authenticate(ctx).id == account.id
    assert len(calls) == 1
    assert sessions.authenticate(ctx).id == account.id
    assert len(calls) == 1
    clock.advance(sessions.STATE_CACHE_S)
    sessions.authenticate(ctx)
    assert len(calls) == 2
