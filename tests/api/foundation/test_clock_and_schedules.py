"""POST /v1/sandbox/clock (local stages only) moves the stage clock and runs due schedules once per boundary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chalicelib.services import schedules
from chalicelib.services.schedules import Job
from tests.api.foundation import jobs

ROOT = Path(__file__).resolve().parents[3]
TARGET = "tests.api.foundation.jobs"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def test_jobs(monkeypatch):
    """The schedule holds only four test jobs for the test (the product's jobs are tested by their features)."""
    jobs.reset()
    monkeypatch.setattr(
        schedules,
        "JOBS",
        [
            Job("t_daily", f"{TARGET}:daily", calendar="daily"),
            Job("t_weekly", f"{TARGET}:weekly", calendar="weekly"),
            Job("t_monthly", f"{TARGET}:monthly", calendar="monthly"),
            Job("t_hourly", f"{TARGET}:hourly", every_s=3600),
        ],
    )
    yield jobs
    jobs.reset()


def advance(api, seconds: int) -> dict:
    reply = api.post("/v1/sandbox/clock", {"advance_s": seconds})
    assert reply.status == 200, reply.body
    return reply.json


def calls_since(mark: int) -> list[tuple[str, datetime]]:
    return jobs.CALLS[mark:]


def test_advancing_the_clock_runs_each_calendar_boundary_once_in_shanghai_time(api, test_jobs):
    # T0 is 2026-11-25T08:00Z: Wednesday 16:00 in Shanghai. Jobs that never ran start at their latest boundary.
    first = advance(api, 0)
    assert first == {
        "now": "2026-11-25T08:00:00Z",
        "ran": ["t_daily", "t_weekly", "t_monthly", "t_hourly"],
        "failed": [],
    }
    assert jobs.CALLS == [
        ("daily", utc(2026, 11, 24, 16)),  # Wed 25 Nov 00:00 +08:00
        ("weekly", utc(2026, 11, 22, 16)),  # Mon 23 Nov 00:00 +08:00
        ("monthly", utc(2026, 10, 31, 16)),  # Sun 1 Nov 00:00 +08:00
        ("hourly", utc(2026, 11, 25, 8)),  # a rate job gets the current stage time
    ]
    assert advance(api, 0)["ran"] == []

    mark = len(jobs.CALLS)
    assert advance(api, 8 * 3600 - 1)["ran"] == ["t_hourly"]  # 15:59:59Z: one second short of Thursday +08
    assert calls_since(mark) == [("hourly", utc(2026, 11, 25, 15, 59, 59))]

    mark = len(jobs.CALLS)
    assert advance(api, 1)["ran"] == ["t_daily", "t_hourly"]  # Thu 26 Nov 00:00 +08:00
    assert calls_since(mark) == [("daily", utc(2026, 11, 25, 16)), ("hourly", utc(2026, 11, 25, 16))]

    mark = len(jobs.CALLS)
    reply = advance(api, 4 * 86400)  # to Mon 30 Nov 00:00 +08:00: four days and a new week
    assert reply["now"] == "2026-11-29T16:00:00Z"
    assert reply["ran"] == ["t_daily", "t_weekly", "t_hourly"]
    assert calls_since(mark) == [
        ("daily", utc(2026, 11, 26, 16)),
        ("daily", utc(2026, 11, 27, 16)),
        ("daily", utc(2026, 11, 28, 16)),
        ("daily", utc(2026, 11, 29, 16)),
        ("weekly", utc(2026, 11, 29, 16)),
        ("hourly", utc(2026, 11, 29, 16)),
    ]

    mark = len(jobs.CALLS)
    assert advance(api, 86400)["ran"] == ["t_daily", "t_monthly", "t_hourly"]  # Tue 1 Dec 00:00 +08:00
    assert ("monthly", utc(2026, 11, 30, 16)) in calls_since(mark)


def test_a_failing_job_gives_its_boundary_back_and_the_next_advance_retries_it(api, test_jobs):
    jobs.FAIL_ONCE.add(("daily", None))
    first = advance(api, 0)
    assert first["failed"] == ["t_daily"]
    assert first["ran"] == ["t_weekly", "t_monthly", "t_hourly"]  # the others are not held up
    assert [c for c in jobs.CALLS if c[0] == "daily"] == []

    assert advance(api, 0)["ran"] == ["t_daily"]
    assert [c for c in jobs.CALLS if c[0] == "daily"] == [("daily", utc(2026, 11, 24, 16))]
    assert advance(api, 0)["ran"] == []


def test_a_failure_during_catch_up_resumes_at_the_failed_boundary(api, test_jobs):
    advance(api, 0)
    jobs.FAIL_ONCE.add(("daily", utc(2026, 11, 26, 16)))
    mark = len(jobs.CALLS)

    reply = advance(api, 3 * 86400)  # owes 25, 26 and 27 Nov 16:00Z
    assert reply["failed"] == ["t_daily"]
    assert [c for c in calls_since(mark) if c[0] == "daily"] == [("daily", utc(2026, 11, 25, 16))]

    mark = len(jobs.CALLS)
    assert "t_daily" in advance(api, 0)["ran"]
    assert [c for c in calls_since(mark) if c[0] == "daily"] == [
        ("daily", utc(2026, 11, 26, 16)),
        ("daily", utc(2026, 11, 27, 16)),
    ]


def test_the_eventbridge_tick_and_the_clock_route_share_boundaries(api, test_jobs, clock):
    assert schedules.run_due() == ["t_daily", "t_weekly", "t_monthly", "t_hourly"]
    assert advance(api, 0)["ran"] == []  # the tick already ran these boundaries


def test_the_clock_moves_for_the_whole_app(api, test_jobs):
    assert api.get("/v1/health").json["time"] == "2026-11-25T08:00:00Z"
    advance(api, 90)
    assert api.get("/v1/health").json["time"] == "2026-11-25T08:01:30Z"


@pytest.mark.parametrize("seconds", [-1, 366 * 86400 + 1, "soon"])
def test_advance_must_be_a_forward_number_of_seconds(api, seconds):
    reply = api.post("/v1/sandbox/clock", {"advance_s": seconds})
    assert reply.status == 422
    assert set(reply.json["error"]["details"]["fields"]) == {"advance_s"}


_PROBE = """
import json, sys
from chalice.config import Config
from chalice.local import LocalGatewayException
from devstack.api import ApiGateway
import app
try:
    ApiGateway(app.app, Config.create()).handle_request("POST", "/v1/sandbox/clock", {}, b'{"advance_s": 1}')
    answer = None
except LocalGatewayException as exc:
    answer = [exc.CODE, json.loads(exc.body)]
print(json.dumps({"routes": sorted(app.app.routes), "answer": answer}))
"""


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_sandbox_clock_is_absent_outside_local_stages(stage):
    env = {**os.environ, "STAGE": stage}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert "/v1/health" in result["routes"]
    assert not [r for r in result["routes"] if r.startswith("/v1/sandbox")]
    code, body = result["answer"]
    assert code == 404
    assert body["error"]["code"] == "NOT_FOUND"


def test_sandbox_clock_is_registered_in_the_test_stage(chalice_app):
    assert "POST" in chalice_app.routes["/v1/sandbox/clock"]
