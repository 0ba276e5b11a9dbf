"""Presigned uploads: the POST policy pins key, type and size; keys are scoped to the caller."""

from __future__ import annotations

import base64
import json

import requests

from chalicelib.services.uploads import owned_object_exists


def _policy(ticket: dict) -> dict:
    return json.loads(base64.b64decode(ticket["fields"]["policy"]))


def test_upload_ticket_pins_key_type_and_size(api, users):
    worker = users.make("worker")
    reply = api.post(
        "/v1/uploads", {"purpose": "proof", "content_type": "image/JPEG", "size_bytes": 2048}, token=worker.token
    )
    assert reply.status == 200
    ticket = reply.json
    assert ticket["key"].startswith(f"uploads/{worker.id}/proof/") and ticket["key"].endswith(".jpg")
    assert ticket["expires_in"] == 600
    conditions = _policy(ticket)["conditions"]
    assert ["content-length-range", 1, 2048] in conditions
    assert {"Content-Type": "image/jpeg"} in conditions
    assert {"key": ticket["key"]} in conditions
    assert ticket["fields"]["Content-Type"] == "image/jpeg"


def test_uploaded_object_is_owned_only_by_its_uploader_and_purpose(api, users):
    worker, other = users.make("worker"), users.make("worker")
    ticket = api.post(
        "/v1/uploads", {"purpose": "proof", "content_type": "image/png", "size_bytes": 64}, token=worker.token
    ).json
    assert not owned_object_exists(worker.id, ticket["key"], ["proof"])  # not uploaded yet
    sent = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("p.png", b"\x89PNG" + b"1" * 20)})
    assert sent.status_code in (200, 204)
    assert owned_object_exists(worker.id, ticket["key"], ["proof"])
    assert not owned_object_exists(other.id, ticket["key"], ["proof"])
    assert not owned_object_exists(worker.id, ticket["key"], ["evidence"])
    assert not owned_object_exists(worker.id, ticket["key"].replace("proof", "../proof"), ["proof"])


def test_type_and_size_limits_per_purpose(api, users):
    worker, merchant = users.make("worker"), users.make("merchant")
    too_big = api.post(
        "/v1/uploads",
        {"purpose": "proof", "content_type": "image/png", "size_bytes": 10 * 1024 * 1024 + 1},
        token=worker.token,
    )
    assert too_big.status == 422
    assert "size_bytes" in too_big.json["error"]["details"]["fields"]
    wrong_type = api.post(
        "/v1/uploads", {"purpose": "proof", "content_type": "text/html", "size_bytes": 10}, token=worker.token
    )
    assert wrong_type.status == 422
    assert "content_type" in wrong_type.json["error"]["details"]["fields"]
    pdf = api.post(
        "/v1/uploads", {"purpose": "license", "content_type": "application/pdf", "size_bytes": 10}, token=merchant.token
    )
    assert pdf.status == 200
    assert pdf.json["key"].endswith(".pdf")
    video = api.post(
        "/v1/uploads",
        {"purpose": "evidence", "content_type": "video/mp4", "size_bytes": 40 * 1024 * 1024},
        token=worker.token,
    )
    assert video.status == 200


def test_purposes_are_limited_by_role(api, users):
    worker, merchant = users.make("worker"), users.make("merchant")
    assert (
        api.post(
            "/v1/uploads", {"purpose": "license", "content_type": "image/png", "size_bytes": 10}, token=worker.token
        ).code
        == "UPLOAD_PURPOSE_FORBIDDEN"
    )
    assert (
        api.post(
            "/v1/uploads", {"purpose": "proof", "content_type": "image/png", "size_bytes": 10}, token=merchant.token
        ).status
        == 403
    )


def test_uploads_need_a_signed_in_user(api):
    assert api.post("/v1/uploads", {"purpose": "proof", "content_type": "image/png", "size_bytes": 10}).status == 401
