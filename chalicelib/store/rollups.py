"""Statistics rollups (`STAT#<metric>#<period>` / `<bucket>`), written by stream consumers, read by the desk.

Each effect is keyed: a marker item (`ROLLUP#<metric>#<source id>`) is written in the same transaction as the
counters, so a redelivered stream record adds nothing twice.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

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


def add_once(
    metric: str, source_id: str, buckets: dict[str, str], counters: dict[str, int], *, marker_ttl_s: int | None = None
) -> bool:
    """Add `counters` to the `metric` rollup of each period bucket, once per `source_id`. False if already done."""
    return add_rows_once(
        metric, source_id, [(period, bucket, counters) for period, bucket in buckets.items()], marker_ttl_s=marker_ttl_s
    )


def add_rows_once(
    metric: str,
    source_id: str,
    rows: list[tuple[str, str, dict[str, int]]],
    *,
    marker_ttl_s: int | None = None,
) -> bool:
    """Add each row's counters to its `(period, bucket)` rollup item, all in one transaction, once per source.

    `marker_ttl_s` lets a marker expire where a repeat after that long cannot happen or would be a new event
    (daily-active markers); finance markers keep forever, since a transfer can be redelivered any time."""
    rows = [(p, b, c) for p, b, c in rows if c]
    if not rows:
        return False
    t = tx.Tx()
    mpk, msk = keys.rollup_marker(metric, source_id)
    marker = RollupMarker(PK=mpk, SK=msk)
    if marker_ttl_s:
        from chalicelib.adapters import clock

        marker.expires_at = clock.now_ts() + marker_ttl_s
    t.put(marker, label="marker", condition=RollupMarker.PK.does_not_exist())
    for i, (period, bucket, counters) in enumerate(rows):
        pk, sk = keys.rollup(metric, period, bucket)
        names = {f"#c{j}": name for j, name in enumerate(counters)}
        t.update_raw(
            pk,
            sk,
            update="SET #kind = :kind, #metric = :metric, #period = :period, #bucket = :bucket ADD "
            + ", ".join(f"{alias} :v{j}" for j, alias in enumerate(names)),
            names={"#kind": "kind", "#metric": "metric", "#period": "period", "#bucket": "bucket", **names},
            values={
                ":kind": {"S": "rollup"},
                ":metric": {"S": metric},
                ":period": {"S": period},
                ":bucket": {"S": bucket},
                **{f":v{j}": {"N": str(v)} for j, v in enumerate(counters.values())},
            },
            label=f"rollup:{i}",
        )
    try:
        t.commit()
    except tx.TxCancelled as exc:
        if "marker" in exc.failed:
            return False
        raise
    return True


def read(metric: str, period: str, first: str, last: str, limit: int = 400) -> list[dict[str, Any]]:
    """Rollup rows for buckets first..last inclusive (bucket strings sort in time order), oldest first.

    One Query, continued only while DynamoDB's 1 MB pages cut it short, and never past `limit` rows."""
    from boto3.dynamodb.types import TypeDeserializer

    from chalicelib.config import settings

    pk = keys.rollup(metric, period, "")[0]
    d = TypeDeserializer()
    skip = {"PK", "SK", "kind", "metric", "period"}
    out: list[dict[str, Any]] = []
    start: dict[str, Any] | None = None
    while len(out) < limit:
        kwargs: dict[str, Any] = {
            "TableName": settings().table_name,
            "KeyConditionExpression": "PK = :pk AND SK BETWEEN :a AND :b",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":a": {"S": first}, ":b": {"S": last}},
            "Limit": limit - len(out),
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        resp = table_client().query(**kwargs)
        out += [{k: d.deserialize(v) for k, v in item.items() if k not in skip} for item in resp.get("Items", [])]
        start = resp.get("LastEvaluatedKey")
        if not start:
            break
    return out


class ReportItem(Item, discriminator="report"):
    """A generated report file: `REPORTS#<period>` / `<period start>#<kind>` (one per period and kind)."""

    period = UnicodeAttribute()  # day | week | month
    bucket = UnicodeAttribute()  # 2026-11-25 | 2026-W48 | 2026-11
    report_kind = UnicodeAttribute()  # finance | activity
    period_start = UnicodeAttribute()  # first Beijing date covered
    period_end = UnicodeAttribute()  # last Beijing date covered
    s3_key = UnicodeAttribute()
    rows = NumberAttribute()
    size_bytes = NumberAttribute()
    generated_at = UnicodeAttribute()


def save_report(item: ReportItem) -> None:
    """Record a report file; a re-run for the same period and kind replaces the record (same key, same file)."""
    item.save()


def reports_query(period: str) -> Any:
    """`query_page`-ready query of one period's reports, newest first."""
    import functools

    return functools.partial(ReportItem.query, keys.reports(period), scan_index_forward=False)


def new_report(period: str, bucket: str, report_kind: str, period_start: str, **fields: Any) -> ReportItem:
    pk, sk = keys.report(period, period_start, report_kind)
    return ReportItem(
        pk, sk, period=period, bucket=bucket, report_kind=report_kind, period_start=period_start, **fields
    )
