"""Webhook endpoints over the API: create (secret once, stored encrypted), list, delete, the cap, the SSRF guard."""

from __future__ import annotations

import pytest

from chalicelib.domain import webhooks as W
from chalicelib.store import webhooks as store
from tests.api.webhooks.conftest import PUBLIC_IP, URL, register


def test_create_returns_the_secret_once_and_stores_it_encrypted(api, merchant, dns):
    made = register(api, merchant, events=["claim.accepted", "task.completed"])
    assert made["id"].startswith("whk_") and made["secret"].startswith("whsec_") and len(made["secret"]) > 40
    assert made["url"] == URL and made["events"] == ["claim.accepted", "task.completed"] and made["status"] == "active"
    listed = api.get("/v1/webhooks", token=merchant.token)
    assert listed.status == 200
    assert [w["id"] for w in listed.json["items"]] == [made["id"]]
    assert "secret" not in listed.json["items"][0] and made["secret"] not in listed.body.decode()
    item = store.get_endpoint(merchant.id, made["id"])
    assert made["secret"] not in item.secret_enc and "whsec_" not in item.secret_enc
    from chalicelib.adapters import crypto

    plain = crypto.decrypt_field(item.secret_enc, owner=merchant.id, field=f"webhook_secret:{made['id']}")
    assert plain == made["secret"]
    assert dns.lookups == ["hooks.example.com"]  # the host was resolved and checked at registration


def test_secret_never_reaches_the_logs(api, users, merchant, receiver, pump, log_lines):
    from chalicelib.adapters.log import logger
    from tests.api.webhooks.conftest import accepted_claim

    level = logger.log_level
    logger.setLevel("INFO")
    try:
        made = register(api, merchant)
        accepted_claim(api, users, merchant)
        pump.drain()
    finally:
        logger.setLevel(level)
    assert log_lines.with_message("webhook endpoint created") and log_lines.with_message("webhook attempt")
    assert len(receiver.got) == 2
    assert made["secret"] not in log_lines.text
    assert receiver.got[0].headers["X-Taskhall-Signature"] not in log_lines.text


def test_delete_removes_the_endpoint_and_frees_a_place(api, merchant, dns):
    ids = [register(api, merchant)["id"] for _ in range(W.MAX_ENDPOINTS)]
    over = api.post("/v1/webhooks", {"url": URL, "events": ["claim.accepted"]}, token=merchant.token)
    assert over.status == 409 and over.code == "WEBHOOK_LIMIT_REACHED"
    gone = api.delete(f"/v1/webhooks/{ids[0]}", token=merchant.token)
    assert gone.status == 204 and gone.body == b""
    again = api.delete(f"/v1/webhooks/{ids[0]}", token=merchant.token)
    assert again.status == 404 and again.code == "WEBHOOK_NOT_FOUND"
    assert len(api.get("/v1/webhooks", token=merchant.token).json["items"]) == W.MAX_ENDPOINTS - 1
    assert register(api, merchant)["id"]


def test_workers_cannot_have_webhooks(api, users, dns):
    worker = users.make("worker")
    reply = api.post("/v1/webhooks", {"url": URL, "events": ["claim.accepted"]}, token=worker.token)
    assert reply.status == 403
    assert api.get("/v1/webhooks", token=worker.token).status == 403


def test_another_merchants_endpoint_is_404_on_every_route(api, users, merchant, dns):
    mine = register(api, merchant)["id"]
    other = users.make("merchant")
    assert api.get("/v1/webhooks", token=other.token).json["items"] == []
    assert api.delete(f"/v1/webhooks/{mine}", token=other.token).status == 404
    assert api.get(f"/v1/webhooks/{mine}/deliveries", token=other.token).status == 404
    assert api.post(f"/v1/webhooks/{mine}/deliveries/dlv_x/redeliver", token=other.token).status == 404
    assert api.get(f"/v1/webhooks/{mine}/deliveries", token=merchant.token).status == 200


def test_unknown_events_and_empty_lists_are_refused(api, merchant, dns):
    bad = api.post("/v1/webhooks", {"url": URL, "events": ["order.paid"]}, token=merchant.token)
    assert bad.status == 422 and bad.code == "WEBHOOK_EVENT_UNKNOWN"
    empty = api.post("/v1/webhooks", {"url": URL, "events": []}, token=merchant.token)
    assert empty.status == 422


SSRF_URLS = [
    "https://127.0.0.1/hook",
    "https://10.0.0.1/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[fd00:ec2::254]/",
    "https://0.0.0.0/",
    "https://192.168.0.10:8443/hook",
    "https://loopback.evil.example/hook",
    "https://private.evil.example/hook",
    "https://metadata.evil.example/hook",
    "https://v6loop.evil.example/hook",
    "https://mixed.evil.example/hook",
]


@pytest.mark.parametrize("url", SSRF_URLS)
def test_urls_reaching_internal_addresses_are_refused(api, merchant, dns, url):
    dns.table.update(
        {
            "loopback.evil.example": ["127.0.0.1"],
            "private.evil.example": ["10.0.0.1"],
            "metadata.evil.example": ["169.254.169.254"],
            "v6loop.evil.example": ["::1"],
            "mixed.evil.example": [PUBLIC_IP, "10.0.0.1"],
        }
    )
    reply = api.post("/v1/webhooks", {"url": url, "events": ["claim.accepted"]}, token=merchant.token)
    assert reply.status == 422 and reply.code == "WEBHOOK_URL_FORBIDDEN", reply.body
    assert reply.json["error"]["details"]["fields"]["url"]
    assert api.get("/v1/webhooks", token=merchant.token).json["items"] == []


def test_plain_http_and_unresolvable_hosts_are_refused(api, merchant, dns):
    body = {"url": "http://hooks.example.com/", "events": ["claim.accepted"]}
    http = api.post("/v1/webhooks", body, token=merchant.token)
    assert http.status == 422 and http.code == "WEBHOOK_URL_FORBIDDEN"
    nowhere = api.post(
        "/v1/webhooks", {"url": "https://nowhere.example.com/", "events": ["claim.accepted"]}, token=merchant.token
    )
    assert nowhere.status == 422 and nowhere.code == "WEBHOOK_URL_UNRESOLVABLE"
    creds = api.post(
        "/v1/webhooks", {"url": "https://a:b@hooks.example.com/", "events": ["claim.accepted"]}, token=merchant.token
    )
    assert creds.status == 422 and creds.code == "WEBHOOK_URL_INVALID"


def test_stage_local_allows_http_to_loopback(api, merchant, dns, monkeypatch):
    from chalicelib.services import webhooks

    monkeypatch.setattr(webhooks, "_relaxed", lambda: True)
    made = register(api, merchant, url="http://127.0.0.1:9999/hook")
    assert made["url"] == "http://127.0.0.1:9999/hook"
