"""Health, OpenAPI and the error model through the HTTP surface."""

from __future__ import annotations


def test_health_touches_the_table_and_returns_ok(api):
    reply = api.get("/v1/health")
    assert reply.status == 200
    assert reply.json["status"] == "ok"
    assert reply.json["time"] == "2026-11-25T08:00:00Z"
