"""`make load`: a bounded locust run against a local stack on loopback that this script starts and seeds.

1. the bench's moto server (tests/bench/moto_fast.py: locked DynamoDB, partition-only Queries, no stream
   records) and every resource of infra/ for stage `test`;
2. the API as `make run` serves it (`python -m devstack.api`), in a child process;
3. seed: merchants with published, funded, hall-listed tasks (tests/bench/seed.py) and signed-in workers,
   written to a fixtures file for the locustfile;
4. locust, headless, from the load venv (requirements-load.txt: locust and gevent stay out of the app's venv),
   for LOAD_USERS users spawned at LOAD_RATE per second over LOAD_TIME; then its summary: throughput,
   latency percentiles per request, failures.

    .venv/bin/python -m tests.load.run            # what `make load` runs; LOAD_USERS=50 LOAD_TIME=60s by default
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tests.conftest as harness  # sets the test stage's environment before chalicelib is imported

ROOT = Path(__file__).resolve().parents[2]
REGION = "cn-north-1"
STAGE = "test"


def main() -> int:
    users = int(os.environ.get("LOAD_USERS", "50"))
    rate = float(os.environ.get("LOAD_RATE", "10"))
    duration = os.environ.get("LOAD_TIME", "60s")
    tasks = int(os.environ.get("LOAD_TASKS", "2000"))
    locust = os.environ.get("LOCUST", str(ROOT / ".venv-load" / "bin" / "locust"))

    from devstack.children import Child

    base_env = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "AWS_PROFILE")}
    moto = Child("tests.bench.moto_fast", ["--port", "0"], base_env, lambda line: None)
    api = None
    try:
        from devstack.resources import create_stack

        stack = create_stack(STAGE, REGION, endpoint_url=moto.url)
        env = {"STAGE": STAGE, "AWS_ENDPOINT_URL": moto.url, **stack.outputs}
        os.environ.update(env)
        harness._reset_caches()
        api_env = {**base_env, **env, "POWERTOOLS_LOG_LEVEL": "ERROR"}
        api = Child("devstack.api", ["--port", "0", "--stage", STAGE], api_env, lambda line: None)
        print(f"stack: moto {moto.url}, API {api.url}", flush=True)

        from tests.bench import seed

        started = time.monotonic()
        merchants = seed.make_people(max(5, users // 10), "merchant")
        workers = seed.make_people(max(20, users * 2), "worker")
        hall = seed.seed_published_tasks(tasks, [m.user_id for m in merchants], progress=print)
        print(
            f"seeded {len(merchants)} merchants, {len(workers)} workers, {tasks} tasks "
            f"in {time.monotonic() - started:.0f} s",
            flush=True,
        )
        owned: dict[str, list[str]] = {}
        for t in hall.tasks:
            owned.setdefault(t.merchant_id, []).append(t.task_id)
        fixtures = {
            "workers": [{"token": w.token, "device": f"load-{i}"} for i, w in enumerate(workers)],
            "merchants": [{"token": m.token, "tasks": owned.get(m.user_id, [])} for m in merchants],
        }
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as fh:
            json.dump(fixtures, fh)
            path = fh.name
        command = [
            locust,
            "-f",
            str(ROOT / "tests" / "load" / "locustfile.py"),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(rate),
            "--run-time",
            duration,
            "--host",
            api.url,
            "--only-summary",
            "--stop-timeout",
            "10",
        ]
        print(f"locust: {users} users, {rate}/s spawn, {duration}", flush=True)
        done = subprocess.run(command, env={**base_env, "LOAD_FIXTURES": path}, check=False)
        os.unlink(path)
        # locust exits 1 when any request failed: the summary above says which; that is the result, not a crash.
        return 0 if done.returncode in (0, 1) else done.returncode
    finally:
        if api is not None:
            api.stop()
        moto.stop()


if __name__ == "__main__":
    sys.exit(main())
