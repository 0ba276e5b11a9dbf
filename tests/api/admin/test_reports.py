"""Reports: calendar jobs write finance and activity CSVs to S3 under reports/, once per period, listed with links."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import requests

from chalicelib.adapters import aws
from chalicelib.config import settings
from chalicelib.services import reports, schedules
from tests.api.admin.test_finance_summary import _seed_day
from tests.conftest import feed_stream
from tests.opcount import count_ops


def _object(key: str) -> str:
    body = aws.client("s3").get_object(Bucket=settings().bucket_name, Key=key)["Body"].read()
    assert body.startswith("\ufeff".encode()), "UTF-8 with BOM"
    return body.decode("utf-8-sig")


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_daily_job_writes_the_closed_days_reports_once_and_lists_them(api, users, clock):
    merchant, worker = users.make("merchant"), users.make("worker")
    _seed_day("d1", merchant.id, worker.id)  # 2026-11-25, Beijing
    assert feed_stream() == {"batchItemFailures": []}

    clock.pin(datetime(2026, 11, 25, 16, 5, tzinfo=UTC))  # 2026-11-26 00:05 Beijing: the day closed
    assert schedules.run("report_daily") is True
    assert schedules.run("report_daily") is False  # the boundary is claimed: the job does not run twice

    finance_rows = _rows(_object("reports/day/2026-11-25/finance.csv"))
    assert finance_rows[0][:2] == ["日期（北京时间）", "充值（元）"]
    day = finance_rows[1]
    assert day[0] == "2026-11-25" and day[1] == "510.00" and day[2] == "2"
    assert day[3] == "30.00" and day[5] == "3.00" and day[6] == "30.00" and day[12] == "105.00"
    assert finance_rows[-1][0] == "合计" and finance_rows[-1][1] == "510.00"
    activity_rows = _rows(_object("reports/day/2026-11-25/activity.csv"))
    assert activity_rows[1][0] == "2026-11-25" and int(activity_rows[1][2]) >= 2  # the two accounts are new

    # Running the period again (a re-fired rule, a manual run) rewrites the same key and record.
    reports.daily(datetime(2026, 11, 25, 16, 0, tzinfo=UTC))
    officer = users.staff("finance")
    with count_ops() as ops:
        listed = api.get("/v1/admin/reports?period=day", token=officer.token)
    assert listed.status == 200, listed.body
    assert "Scan" not in ops.ops and ops.ops["Query"] == 1
    items = listed.json["items"]
    assert sorted((i["bucket"], i["kind"]) for i in items) == [("2026-11-25", "activity"), ("2026-11-25", "finance")]
    fin = next(i for i in items if i["kind"] == "finance")
    assert (fin["period_start"], fin["period_end"], fin["rows"]) == ("2026-11-25", "2026-11-25", 2)
    assert "reports/day/2026-11-25/finance.csv" in fin["download_url"] and "Signature" in fin["download_url"]
    downloaded = requests.get(fin["download_url"], timeout=10)
    assert downloaded.status_code == 200 and downloaded.content.decode("utf-8-sig").startswith("日期")
    admin = users.staff("admin")
    assert api.get("/v1/admin/reports?period=day", token=admin.token).status == 200


def test_weekly_and_monthly_jobs_cover_the_closed_week_and_month(api, users, clock):
    merchant, worker = users.make("merchant"), users.make("worker")
    _seed_day("d1", merchant.id, worker.id)
    assert feed_stream() == {"batchItemFailures": []}
    monday = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)  # Monday 2026-11-30 00:00 Beijing
    reports.weekly(monday)
    week = _rows(_object("reports/week/2026-W48/finance.csv"))
    assert [r[0] for r in week[1:]] == [f"2026-11-{d}" for d in range(23, 30)] + ["合计"]
    assert week[-1][1] == "510.00"
    activity = _rows(_object("reports/week/2026-W48/activity.csv"))
    assert activity[-1][0] == "合计（2026-W48）"
    reports.monthly(datetime(2026, 11, 30, 16, 0, tzinfo=UTC))  # 2026-12-01 00:00 Beijing
    month = _rows(_object("reports/month/2026-11/finance.csv"))
    assert len(month) == 1 + 30 + 1 and month[-1][1] == "510.00"
    officer = users.staff("finance")
    listed = api.get("/v1/admin/reports?period=week", token=officer.token).json["items"]
    assert {(i["bucket"], i["period_start"], i["period_end"]) for i in listed} == {
        ("2026-W48", "2026-11-23", "2026-11-29")
    }


def test_the_period_before_a_boundary():
    p = reports.period_before(datetime(2027, 1, 3, 16, 0, tzinfo=UTC), "week")  # Monday 2027-01-04 Beijing
    assert (p.bucket, p.start.isoformat(), p.end.isoformat()) == ("2026-W53", "2026-12-28", "2027-01-03")
    m = reports.period_before(datetime(2026, 12, 31, 16, 0, tzinfo=UTC), "month")
    assert (m.bucket, m.start.isoformat(), m.end.isoformat()) == ("2026-12", "2026-12-01", "2026-12-31")
