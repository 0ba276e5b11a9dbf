"""GET /v1/health really reads the table, and says so in the error shape when it cannot."""

from __future__ import annotations

from typing import Any

from chalicelib.config import settings
from chalicelib.store.base import table_client


def watch_dynamodb() -> list[tuple[str, Any]]:
    """Every DynamoDB call the table client makes from now on: (operation, table name)."""
    calls: list[tuple[str, Any]] = []

    def before_call(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, params.get("TableName")))

    # before-parameter-build sees the API parameters (before-call sees the serialised request).
    table_client().meta.events.register("before-parameter-build.dynamodb.*", before_call)
    return calls


def test_health_reads_the_table_with_one_getitem(api):
    calls = watch_dynamodb()

    reply = api.get("/v1/health")

    assert reply.status == 200
    assert reply.json == {"status": "ok", "time": "2026-11-25T08:00:00Z"}
    assert calls == [("GetItem", settings().table_name)]


def test_health_when_the_table_is_missing_is_503_table_unavailable(api, log_lines):
    table_client().delete_table(TableName=settings().table_name)

    reply = api.get("/v1/health")

    assert reply.status == 503
    assert reply.json == {
        "error": {"code": "TABLE_UNAVAILABLE", "message": "数据存储暂时不可用", "details": {}},
        "request_id": reply.headers["X-Request-Id"],
    }
    [line] = log_lines.with_message("health check failed")
    assert line["error_type"] == "ResourceNotFoundException"
    assert line["request_id"] == reply.headers["X-Request-Id"]
