"""The one DynamoDB table as pynamodb sees it: the generic key attributes, the three sparse GSIs, TTL.

Every entity is a subclass of `Item` with a discriminator (`kind`), so one table holds them all and a
query on a subclass returns that entity. The table name and region are read from the stage settings when
a request first touches the table, not at import.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import DiscriminatorAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.config import settings


class _StageMeta(type):
    """Meta whose table name and region come from the stage settings at call time."""

    @property
    def table_name(cls) -> str:
        return settings().table_name

    @property
    def region(cls) -> str:
        return settings().region

    @property
    def read_timeout_seconds(cls) -> int:
        return settings().ddb_read_timeout_s


class _TableMeta(metaclass=_StageMeta):
    host = None  # botocore resolves AWS_ENDPOINT_URL itself (moto locally)
    connect_timeout_seconds = 3
    max_retry_attempts = 3
    max_pool_connections = 50
    extra_headers = None
    aws_access_key_id = None
    aws_secret_access_key = None
    aws_session_token = None


def _index(name: str, hash_attr: str, range_attr: str) -> type[GlobalSecondaryIndex]:
    attrs: dict[str, Any] = {
        "Meta": type(
            "Meta",
            (),
            {"index_name": name, "projection": AllProjection(), "read_capacity_units": 0, "write_capacity_units": 0},
        ),
        hash_attr: UnicodeAttribute(hash_key=True),
        range_attr: UnicodeAttribute(range_key=True),
    }
    return type(name, (GlobalSecondaryIndex,), attrs)


GSI1 = _index("GSI1", "GSI1PK", "GSI1SK")
GSI2 = _index("GSI2", "GSI2PK", "GSI2SK")
GSI3 = _index("GSI3", "GSI3PK", "GSI3SK")


class Item(Model):
    """Base of every entity in the table."""

    Meta = _TableMeta

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()

    GSI1PK = UnicodeAttribute(null=True)
    GSI1SK = UnicodeAttribute(null=True)
    GSI2PK = UnicodeAttribute(null=True)
    GSI2SK = UnicodeAttribute(null=True)
    GSI3PK = UnicodeAttribute(null=True)
    GSI3SK = UnicodeAttribute(null=True)
    # TTL, for throw-away items only (OTPs, nonces, rate buckets, idempotency). Never a business deadline.
    expires_at = NumberAttribute(null=True)

    gsi1 = GSI1()
    gsi2 = GSI2()
    gsi3 = GSI3()

    @classmethod
    def _get_connection(cls) -> Any:
        """One connection (one botocore client) for every entity: they share the table, keys and indexes.

        pynamodb would otherwise build a client per model class — dozens of clients, each costing start-up
        time on first use and its own connection pool."""
        return Model._get_connection.__func__(Item)  # type: ignore[attr-defined]


def reset_connections() -> None:
    """Forget pynamodb's cached connection (tests switch endpoints)."""
    Item._connection = None
    for sub in _all_subclasses(Item):
        sub._connection = None


def _all_subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_all_subclasses(sub))
    return out


def table_client() -> Any:
    """The botocore client pynamodb uses, for the few calls pynamodb does not wrap."""
    return Item._get_connection().connection.client
