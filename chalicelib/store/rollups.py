"""Statistics rollups (`STAT#<metric>#<period>` / `<bucket>`), written by stream consumers, read by the desk.

Each effect is keyed: a marker item (`ROLLUP#<metric>#<source id>`) is written in the same transaction as the
counters, so a redelivered stream record adds nothing twice.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import UnicodeAttribute

from chalicelib.store import keys, tx
from chalicelib.store.base import Item, table_client

PERIODS = ("day", "week", "month")


class RollupItem(Item, discriminator="rollup"):
    metric = UnicodeAttribute()
    period = UnicodeAttribute()
    bucket = UnicodeAttribute()
    # Counters are added dynamically by name (deposits_fen, fees_fen, …) and read from `attribute_values`.


class RollupMarker(Item, discriminator="rollup_marker"):
    pass


def add_once(metric: str, source_id: str, buckets: dict[str, str], counters: dict[str, int]) -> bool:
    """Add `counters` to the `metric` rollup of each period bucket, once per `source_id`. False if already done."""
    if not counters:
        return False
    t = tx.Tx()
    mpk, msk = keys.rollup_marker(metric, source_id)
    t.put(RollupMarker(PK=mpk, SK=msk), label="marker", condition=RollupMarker.PK.does_not_exist())
    for period, bucket in buckets.items():
        pk, sk = keys.rollup(metric, period, bucket)
        names = {f"#c{i}": name for i, name in enumerate(counters)}
        t.update_raw(
            pk,
            sk,
            update="SET #kind = :kind, #metric = :metric, #period = :period, #bucket = :bucket ADD "
            + ", ".join(f"{alias} :v{i}" for i, alias in enumerate(names)),
            names={"#kind": "kind", "#metric": "metric", "#period": "period", "#bucket": "bucket", **names},
            values={
                ":kind": {"S": "rollup"},
                ":metric": {"S": metric},
                ":period": {"S": period},
                ":bucket": {"S": bucket},
                **{f":v{i}": {"N": str(v)} for i, v in enumerate(counters.values())},
            },
            label=f"rollup:{period}",
        )
    try:
        t.commit()
    except tx.TxCancelled as exc:
        if "marker" in exc.failed:
            return False
        raise
    return True


def read(metric: str, period: str, first: str, last: str, limit: int = 400) -> list[dict[str, Any]]:
    """Rollup rows for buckets first..last inclusive (bucket strings sort in time order). One Query."""
    from boto3.dynamodb.types import TypeDeserializer

    from chalicelib.config import settings

    pk = keys.rollup(metric, period, "")[0]
    resp = table_client().query(
        TableName=settings().table_name,
        KeyConditionExpression="PK = :pk AND SK BETWEEN :a AND :b",
        ExpressionAttributeValues={":pk": {"S": pk}, ":a": {"S": first}, ":b": {"S": last}},
        Limit=limit,
    )
    d = TypeDeserializer()
    skip = {"PK", "SK", "kind", "metric", "period"}
    return [{k: d.deserialize(v) for k, v in item.items() if k not in skip} for item in resp.get("Items", [])]
