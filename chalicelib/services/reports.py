"""Daily, weekly and monthly finance and activity reports: CSV files in S3 under `reports/`, listed for the desk.

Calendar jobs (services/schedules.py) call `daily`, `weekly` and `monthly` with the boundary instant that
opened a period (00:00 Asia/Shanghai); the report covers the period that just closed. Everything is read from
the rollups, so a report costs a few Queries whatever the volume. A re-run for the same period writes the same
S3 key and the same record (idempotent per period), refreshed with any stream records that arrived late.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.adapters import clock, files
from chalicelib.adapters.log import logger
from chalicelib.adapters.payments.amounts import fen_to_yuan
from chalicelib.services import analytics, finance
from chalicelib.store import cursor as cursors
from chalicelib.store import rollups

SHANGHAI = ZoneInfo("Asia/Shanghai")
PREFIX = "reports"
KINDS = ("finance", "activity")
LINK_TTL_S = 900
CSV_TYPE = "text/csv; charset=utf-8"


@dataclass(frozen=True)
class Period:
    period: str  # day | week | month
    bucket: str  # 2026-11-25 | 2026-W48 | 2026-11
    start: date
    end: date  # inclusive


def period_before(boundary: datetime, period: str) -> Period:
    """The period that closed at `boundary` (a calendar job's boundary instant, 00:00 Beijing)."""
    last_day = boundary.astimezone(SHANGHAI).date() - timedelta(days=1)
    if period == "day":
        start = last_day
    elif period == "week":
        start = last_day - timedelta(days=last_day.weekday())
    elif period == "month":
        start = last_day.replace(day=1)
    else:
        raise ValueError(period)
    noon = datetime.combine(start, datetime.min.time(), SHANGHAI) + timedelta(hours=12)
    return Period(period, finance.buckets(noon)[period], start, last_day)


def _yuan(fen: int) -> str:
    return ("-" if fen < 0 else "") + fen_to_yuan(abs(fen))


FINANCE_HEADER = [
    "日期（北京时间）",
    "充值（元）",
    "充值笔数",
    "提现（元）",
    "提现笔数",
    "服务费（元）",
    "会员费（元）",
    "推广收入（元）",
    "违约金（元）",
    "推广支出（元）",
    "托管转入（元）",
    "托管转出（元）",
    "期末托管（元）",
]
_MONEY = finance.FIELDS  # one list of money columns: the rollup's


def _days(p: Period) -> list[str]:
    return [(p.start + timedelta(days=i)).isoformat() for i in range((p.end - p.start).days + 1)]


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    out.write("\ufeff")  # Excel opens UTF-8 Chinese text correctly only with a BOM
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def finance_csv(p: Period) -> tuple[str, int]:
    by_day = {r["bucket"]: r for r in finance.summary("day", p.start, p.end)}
    zero = {f: 0 for f in _MONEY}
    rows: list[list[Any]] = []
    totals = dict(zero)
    held = 0
    outstanding_known = False
    for day in _days(p):
        r = by_day.get(day)
        if r is not None:
            held, outstanding_known = int(r["escrow_outstanding_fen"]), True
        r = r or zero
        for f in _MONEY:
            totals[f] += int(r[f])
        rows.append([day, *(_cell(f, int(r[f])) for f in _MONEY), _yuan(held) if outstanding_known else ""])
    rows.append(["合计", *(_cell(f, totals[f]) for f in _MONEY), _yuan(held) if outstanding_known else ""])
    return _csv(FINANCE_HEADER, rows), len(rows)


def _cell(field: str, value: int) -> str | int:
    return value if field.endswith("_count") else _yuan(value)


ACTIVITY_HEADER = [
    "日期（北京时间）",
    "活跃用户",
    "新用户",
    "新工人",
    "新商家",
    "发布任务",
    "领取",
    "通过",
    "驳回",
    "超时",
    "放弃",
    "完成率",
    "审核次数",
    "审核时长中位数（秒）",
]
_ACTIVITY = (
    "active_users",
    "new_users",
    "new_workers",
    "new_merchants",
    "tasks_published",
    "claims_created",
    "claims_accepted",
    "claims_rejected",
    "claims_expired",
    "claims_abandoned",
    "completion_rate",
    "reviews",
    "median_review_s",
)


def activity_csv(p: Period) -> tuple[str, int]:
    days = analytics.day_rows(p.start, p.end)
    rows: list[list[Any]] = []
    for day in _days(p):
        f = days.get(day) or analytics.figures(None)
        rows.append([day, *(_blank(f[k]) for k in _ACTIVITY)])
    # The period's own row: distinct active users over the period, the median over all its reviews.
    whole = analytics.period_figures(p.period, p.bucket)
    rows.append([f"合计（{p.bucket}）", *(_blank(whole[k]) for k in _ACTIVITY)])
    return _csv(ACTIVITY_HEADER, rows), len(rows)


def _blank(value: Any) -> Any:
    return "" if value is None else value


def s3_key(p: Period, kind: str) -> str:
    return f"{PREFIX}/{p.period}/{p.bucket}/{kind}.csv"


def generate(p: Period) -> list[rollups.ReportItem]:
    """Write the period's finance and activity CSVs and their records (same key every run)."""
    now_iso = clock.now().isoformat(timespec="seconds").replace("+00:00", "Z")
    made = []
    for kind, build in (("finance", finance_csv), ("activity", activity_csv)):
        text, rows = build(p)
        key = s3_key(p, kind)
        files.put_text(key, text, CSV_TYPE)
        item = rollups.new_report(
            p.period,
            p.bucket,
            kind,
            p.start.isoformat(),
            period_end=p.end.isoformat(),
            s3_key=key,
            rows=rows,
            size_bytes=len(text.encode("utf-8")),
            generated_at=now_iso,
        )
        rollups.save_report(item)
        made.append(item)
    logger.info("reports written", extra={"period": p.period, "bucket": p.bucket})
    return made


def daily(boundary: datetime) -> None:
    generate(period_before(boundary, "day"))


def weekly(boundary: datetime) -> None:
    generate(period_before(boundary, "week"))


def monthly(boundary: datetime) -> None:
    generate(period_before(boundary, "month"))


def listing(period: str, *, limit: int, cursor: str | None) -> tuple[list[rollups.ReportItem], str | None]:
    return cursors.query_page(
        rollups.reports_query(period), scope=cursors.scope("admin.reports", period=period), limit=limit, cursor=cursor
    )


def download_url(item: rollups.ReportItem) -> str:
    filename = f"taskhall-{item.report_kind}-{item.bucket}.csv"
    return files.presigned_get(item.s3_key, LINK_TTL_S, filename)
