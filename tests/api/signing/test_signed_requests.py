"""Merchant server API: a registered RSA key signs task and review calls; anything off by one bit is a 401."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from chalicelib.services import accounts as account_service
from tests.api.signing.conftest import Signer, private_key, public_pem
from tests.api.tasks.conftest import draft


def _published_by_signature(signer: Signer, market) -> str:
    created = signer.call("POST", "/v1/tasks", draft(slots=2, proof={"text": "填写问卷结果页上的编号"}))
    assert created.status == 201, created.body
    task_id = created.json["id"]
    sent = signer.call("POST", f"/v1/tasks/{task_id}/submit")
    assert sent.status == 200, sent.body
    approved = market.approve(task_id)
    assert approved.status == 200 and approved.json["funded"], approved.body
    return task_id


# ---------------------------------------------------------------- the key


def test_put_api_key_returns_the_sha256_fingerprint_of_the_key(api, market):
    from cryptography.hazmat.primitives import serialization

    merchant = market.merchant()
    key = private_key("a")
    reply = api.put("/v1/merchant/api-key", {"public_key_pem": public_pem(key)}, token=merchant.token)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert reply.status == 200, reply.body
    assert reply.json["fingerprint"] == "SHA256:" + hashlib.sha256(der).hexdigest()
    assert reply.json["bits"] == 2048
    assert api.get("/v1/merchant/api-key", token=merchant.token).json["fingerprint"] == reply.json["fingerprint"]


def test_put_api_key_with_a_1024_bit_key_returns_422(api, market):
    merchant = market.merchant()
    small = public_pem(private_key("small", 1024))
    reply = api.put("/v1/merchant/api-key", {"public_key_pem": small}, token=merchant.token)
    assert reply.status == 422, reply.body
    assert "2048" in reply.json["error"]["details"]["fields"]["public_key_pem"]


def test_put_api_key_with_an_ec_key_returns_422(api, market):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    reply = api.put("/v1/merchant/api-key", {"public_key_pem": pem}, token=market.merchant().token)
    assert reply.status == 422, reply.body


@pytest.mark.parametrize("pem", ["not a key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"])
def test_put_api_key_with_garbage_returns_422(api, market, pem):
    reply = api.put("/v1/merchant/api-key", {"public_key_pem": pem}, token=market.merchant().token)
    assert reply.status == 422, reply.body


def test_put_api_key_as_a_worker_returns_403(api, users):
    worker = users.make("worker")
    reply = api.put("/v1/merchant/api-key", {"public_key_pem": public_pem(private_key("a"))}, token=worker.token)
    assert reply.status == 403


def test_put_api_key_is_open_to_a_merchant_not_yet_approved(api, users):
    merchant = users.make("merchant")
    reply = api.put("/v1/merchant/api-key", {"public_key_pem": public_pem(private_key("a"))}, token=merchant.token)
    assert reply.status == 200, reply.body


def test_api_key_cannot_be_managed_by_signature(signer):
    other = private_key("b")
    reply = signer.call("PUT", "/v1/merchant/api-key", {"public_key_pem": public_pem(other)})
    assert reply.status == 401 and reply.code == "BAD_SIGNATURE"


def test_deleted_key_stops_verifying(api, signer):
    assert signer.call("GET", "/v1/tasks").status == 200
    gone = api.delete("/v1/merchant/api-key", token=signer.merchant.token)
    assert gone.status == 204, gone.body
    assert api.delete("/v1/merchant/api-key", token=signer.merchant.token).status == 404
    reply = signer.call("GET", "/v1/tasks")
    assert reply.status == 401 and reply.code == "BAD_SIGNATURE"


def test_replaced_key_stops_the_old_key_at_once(api, signer):
    new_key = private_key("b")
    reply = api.put("/v1/merchant/api-key", {"public_key_pem": public_pem(new_key)}, token=signer.merchant.token)
    assert reply.status == 200
    assert signer.call("GET", "/v1/tasks").status == 401
    assert Signer(signer.api, signer.merchant, new_key).call("GET", "/v1/tasks").status == 200


# ---------------------------------------------------------------- signed calls that work


def test_signed_create_submit_and_publish_works_without_a_token(signer, market):
    task_id = _published_by_signature(signer, market)
    got = signer.call("GET", f"/v1/tasks/{task_id}")
    assert got.status == 200, got.body
    assert got.json["status"] == "published"
    assert signer.api.get(f"/v1/tasks/{task_id}", token=signer.merchant.token).json["status"] == "published"


def test_signed_list_with_a_query_string_works(signer, market):
    _published_by_signature(signer, market)
    reply = signer.call("GET", "/v1/tasks", params={"status": "published", "limit": "5"})
    assert reply.status == 200, reply.body
    assert len(reply.json["items"]) == 1


def test_signed_review_accepts_a_claim(api, signer, market, users):
    task_id = _published_by_signature(signer, market)
    worker = users.make("worker")
    claim = api.post(f"/v1/tasks/{task_id}/claims", token=worker.token)
    assert claim.status == 201, claim.body
    claim_id = claim.json["id"]
    proof = api.post(f"/v1/claims/{claim_id}/proof", {"text": "A-1024"}, token=worker.token)
    assert proof.status == 200, proof.body
    listed = signer.call("GET", f"/v1/tasks/{task_id}/claims")
    assert listed.status == 200 and listed.json["items"][0]["id"] == claim_id
    accepted = signer.call("POST", f"/v1/claims/{claim_id}/accept", {"rating": 5})
    assert accepted.status == 200, accepted.body
    assert accepted.json["status"] == "accepted"


def test_signed_request_with_an_idempotency_key_replays_the_first_answer(signer, market):
    task_id = _published_by_signature(signer, market)
    first = signer.call("POST", f"/v1/tasks/{task_id}/cancel", extra={"Idempotency-Key": "cancel-1"})
    again = signer.call("POST", f"/v1/tasks/{task_id}/cancel", extra={"Idempotency-Key": "cancel-1"})
    assert first.status == 200, first.body
    assert again.status == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json == first.json


def test_bearer_and_unsigned_calls_still_work(api, signer):
    reply = api.get("/v1/tasks", token=signer.merchant.token)
    assert reply.status == 200
    assert api.get("/v1/tasks").status == 401
    assert api.get("/v1/tasks").code == "UNAUTHENTICATED"


def test_bearer_wins_over_signature_headers(api, signer):
    hdrs = signer.headers("GET", "/v1/me", b"")
    reply = api.get("/v1/me", token=signer.merchant.token, headers=hdrs)
    assert reply.status == 200, reply.body


def test_signed_caller_sees_other_merchants_tasks_as_missing(api, signer, market):
    other = market.merchant(10_000)
    task_id = market.create(other)
    reply = signer.call("GET", f"/v1/tasks/{task_id}")
    assert reply.status == 404


# ---------------------------------------------------------------- refusals: one code each time


def _refused(reply) -> None:
    assert reply.status == 401, reply.body
    assert reply.code == "BAD_SIGNATURE"


def test_replayed_nonce_returns_401(signer):
    raw = json.dumps(draft()).encode()
    hdrs = signer.headers("POST", "/v1/tasks", raw, nonce="same-nonce-0123456789")
    assert signer.api.request("POST", "/v1/tasks", raw=raw, headers=hdrs).status == 201
    _refused(signer.api.request("POST", "/v1/tasks", raw=raw, headers=hdrs))


def test_replayed_nonce_with_a_fresh_timestamp_and_signature_returns_401(signer, clock):
    assert signer.call("GET", "/v1/tasks", nonce="reused-nonce-0123456789").status == 200
    clock.advance(60)
    _refused(signer.call("GET", "/v1/tasks", nonce="reused-nonce-0123456789"))


def test_nonce_of_another_merchant_is_not_shared(api, signer, market):
    other = market.merchant()
    key = private_key("b")
    assert api.put("/v1/merchant/api-key", {"public_key_pem": public_pem(key)}, token=other.token).status == 200
    assert signer.call("GET", "/v1/tasks", nonce="shared-nonce-0123456789").status == 200
    assert Signer(api, other, key).call("GET", "/v1/tasks", nonce="shared-nonce-0123456789").status == 200


def test_stale_timestamp_returns_401(signer, clock):
    _refused(signer.call("GET", "/v1/tasks", ts=clock.now_ts() - 301))
    assert signer.call("GET", "/v1/tasks", ts=clock.now_ts() - 299).status == 200


def test_future_timestamp_beyond_five_minutes_returns_401(signer, clock):
    _refused(signer.call("GET", "/v1/tasks", ts=clock.now_ts() + 301))
    assert signer.call("GET", "/v1/tasks", ts=clock.now_ts() + 299).status == 200


def test_request_replayed_after_the_window_returns_401(signer, clock):
    raw = b""
    hdrs = signer.headers("GET", "/v1/tasks", raw)
    assert signer.api.request("GET", "/v1/tasks", headers=hdrs).status == 200
    clock.advance(400)
    _refused(signer.api.request("GET", "/v1/tasks", headers=hdrs))


def test_changed_body_returns_401(signer):
    signed_body = json.dumps(draft(reward_fen=200)).encode()
    sent_body = signed_body.replace(b'"reward_fen": 200', b'"reward_fen": 900')
    assert sent_body != signed_body
    hdrs = signer.headers("POST", "/v1/tasks", signed_body)
    _refused(signer.api.request("POST", "/v1/tasks", raw=sent_body, headers=hdrs))


def test_changed_query_returns_401(signer):
    hdrs = signer.headers("GET", "/v1/tasks", b"", query="status=draft")
    _refused(signer.api.request("GET", "/v1/tasks?status=published", headers=hdrs))


def test_changed_path_returns_401(signer, market):
    mine = signer.call("POST", "/v1/tasks", draft()).json["id"]
    hdrs = signer.headers("POST", f"/v1/tasks/{mine}/submit", b"")
    _refused(signer.api.request("POST", f"/v1/tasks/{mine}/cancel", headers=hdrs))


def test_changed_method_returns_401(signer):
    hdrs = signer.headers("GET", "/v1/tasks", b"")
    _refused(signer.api.request("POST", "/v1/tasks", raw=b"", headers=hdrs))


def test_wrong_key_returns_401(signer):
    _refused(Signer(signer.api, signer.merchant, private_key("b")).call("GET", "/v1/tasks"))


def test_unknown_merchant_returns_401(signer):
    hdrs = signer.headers("GET", "/v1/tasks", b"")
    hdrs["X-Taskhall-Merchant"] = "usr_00000000000000000000000000"
    _refused(signer.api.request("GET", "/v1/tasks", headers=hdrs))


def test_merchant_without_a_key_returns_401(api, market):
    merchant = market.merchant()
    _refused(Signer(api, merchant, private_key("a")).call("GET", "/v1/tasks"))


def test_worker_with_a_registered_key_cannot_sign(api, users, signer):
    # A key item under a worker's id (not reachable through the API) still does not make a merchant.
    from chalicelib.store import merchant_keys

    worker = users.make("worker")
    merchant_keys.put(worker.id, public_pem(signer.key), "SHA256:x", 2048, "2026-11-25T08:00:00Z")
    _refused(Signer(api, worker, signer.key).call("GET", "/v1/tasks"))


@pytest.mark.parametrize(
    "header, value",
    [
        ("X-Taskhall-Timestamp", "12e3"),
        ("X-Taskhall-Timestamp", ""),
        ("X-Taskhall-Nonce", "short"),
        ("X-Taskhall-Nonce", "has space in it 0123456789"),
        ("X-Taskhall-Signature", "%%%not-base64%%%"),
        ("X-Taskhall-Signature", ""),
        ("X-Taskhall-Merchant", "wdr_123"),
    ],
)
def test_malformed_signing_header_returns_401(signer, header, value):
    hdrs = signer.headers("GET", "/v1/tasks", b"")
    hdrs[header] = value
    _refused(signer.api.request("GET", "/v1/tasks", headers=hdrs))


def test_missing_signature_header_returns_401(signer):
    hdrs = signer.headers("GET", "/v1/tasks", b"")
    del hdrs["X-Taskhall-Signature"]
    _refused(signer.api.request("GET", "/v1/tasks", headers=hdrs))


def test_truncated_signature_returns_401(signer):
    hdrs = signer.headers("GET", "/v1/tasks", b"")
    raw = base64.b64decode(hdrs["X-Taskhall-Signature"])
    hdrs["X-Taskhall-Signature"] = base64.b64encode(raw[:-1]).decode()
    _refused(signer.api.request("GET", "/v1/tasks", headers=hdrs))


def test_refused_request_does_not_spend_the_nonce(signer):
    wrong = Signer(signer.api, signer.merchant, private_key("b"))
    _refused(wrong.call("GET", "/v1/tasks", nonce="not-spent-0123456789"))
    assert signer.call("GET", "/v1/tasks", nonce="not-spent-0123456789").status == 200


def test_route_that_does_not_opt_in_refuses_signed_callers(signer):
    for path in ("/v1/me", "/v1/wallet"):
        _refused(signer.call("GET", path))


def test_frozen_merchant_signing_gets_403(signer, users):
    admin = users.staff("admin")
    account_service.set_frozen(admin.caller, signer.merchant.id, True, reason="风险排查", request_id=None)
    reply = signer.call("GET", "/v1/tasks")
    assert reply.status == 403 and reply.code == "ACCOUNT_FROZEN"


def test_signed_routes_are_the_task_and_review_routes():
    from chalicelib.handlers import routing, web

    routing.load_all()  # every handler module declares its routes as it loads

    signed = {(r.method, r.path) for r in web.routes() if r.signed}
    assert ("POST", "/v1/tasks") in signed
    assert ("POST", "/v1/claims/{claim_id}/accept") in signed
    assert ("POST", "/v1/tasks/{task_id}/claims/review") in signed
    assert all(path.startswith(("/v1/tasks", "/v1/claims/")) for _, path in signed)
    assert ("POST", "/v1/tasks/{task_id}/claims") not in signed  # the worker's claim route
