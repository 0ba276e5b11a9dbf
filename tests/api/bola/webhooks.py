"""BOLA cases for webhook routes: an endpoint and its delivery log belong to the merchant who added it."""

from __future__ import annotations

from tests.api.bola import Case, Made, World

# An IP literal resolves without a DNS server, so the matrix needs no fake resolver.
URL = "https://93.184.216.34/taskhall"


def _endpoint(world: World) -> tuple[object, str]:
    merchant = world.users.make("merchant")
    reply = world.api.post("/v1/webhooks", {"url": URL, "events": ["claim.accepted"]}, token=merchant.token)
    assert reply.status == 201, reply.body
    return merchant, reply.json["id"]


def _merchant_endpoint(world: World) -> Made:
    merchant, webhook_id = _endpoint(world)
    return Made({"webhook_id": webhook_id}, merchant)


def _merchant_delivery(world: World) -> Made:
    from chalicelib.services import webhooks

    merchant, webhook_id = _endpoint(world)
    webhooks.fan_out(merchant.id, "claim.accepted", "clm_bola", "2026-11-25T08:00:00.000000Z", {"claim_id": "clm_bola"})
    delivery = webhooks.store.query_deliveries(webhook_id, 0).next()
    return Made({"webhook_id": webhook_id, "delivery_id": delivery.delivery_id}, merchant)


CASES = {
    ("DELETE", "/v1/webhooks/{webhook_id}"): Case(make=_merchant_endpoint, wrong_roles=("worker",)),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): Case(make=_merchant_endpoint, wrong_roles=("worker",)),
    ("POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): Case(
        make=_merchant_delivery, wrong_roles=("worker",)
    ),
}
