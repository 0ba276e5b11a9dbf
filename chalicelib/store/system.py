"""System probes against the table (health)."""

from __future__ import annotations

from chalicelib.config import settings
from chalicelib.store import keys
from chalicelib.store.base import table_client


def ping_table() -> None:
    """One GetItem on a fixed key: proves credentials, endpoint and table exist. Raises on failure."""
    pk, sk = keys.health()
    table_client().get_item(TableName=settings().table_name, Key={"PK": {"S": pk}, "SK": {"S": sk}})
