"""Hall reads at 10,000 listed tasks: for every filter/sort combination, items read ÷ items returned and Queries
per page, through the HTTP API on in-process moto. Prints figures; asserts nothing.

    .venv/bin/python -m tests.bench.bench_hall            # 10,000 tasks (a few minutes: seeding dominates)
    .venv/bin/python -m tests.bench.bench_hall 2000       # another size
"""

from __future__ import annotations

import itertools
import os
import statistics
import sys
import time

import tests.conftest as harness  # sets the test stage's environment before chalicelib is imported


def main(n: int) -> None:
    from chalice.test import Client
    from moto import mock_aws

    from chalicelib.adapters import clock
    from chalicelib.store.base import Item, _all_subclasses
    from devstack.resources import create_stack
    from tests.api.identity.factory import AccountFactory
    from tests.api.tasks import hall_seed as S
    from tests.api.tasks.conftest import CallCounter

    with mock_aws(), S.partition_queries():
        harness._reset_caches()
        create_stack("test", os.environ["AWS_DEFAULT_REGION"])
        clock.pin(harness.T0)
        from app import app

        started = time.monotonic()
        S.seed(n)
        print(f"seeded {n} tasks in {time.monotonic() - started:.0f} s")
        with Client(app, stage_name="test") as client:
            api = harness.Api(client)
            worker = AccountFactory(api).make("worker")
            calls = CallCounter()
            models = [Item, *_all_subclasses(Item)]
            clients = {id(c): c for c in (m._get_connection().connection.client for m in models)}
            for client_ in clients.values():
                client_.meta.events.register("after-call.dynamodb.*", calls)
            categories = (None, "survey", "app_trial", "promotion", "mystery_shopping")
            bounded: list[float] = []
            print(f"\n{'query':72s} {'page':>4s} {'ret':>4s} {'read':>5s} {'×':>5s} {'Q':>3s}")
            for sort, category, rng in itertools.product(("newest", "reward", "ending"), categories, S.RANGES):
                for page, r in enumerate(S.measure(api, worker.token, calls, S.hall_path(sort, category, rng), 2), 1):
                    print(f"{r.query:72s} {page:4d} {r.returned:4d} {r.read:5d} {r.amplification:5.2f} {r.queries:3d}")
                    if category and rng in S.BOUNDED_RANGES and r.returned == 20:
                        bounded.append(r.amplification)
            for sort, rng in itertools.product(("newest", "reward", "ending"), [(None, None), (100, 500)]):
                for page, r in enumerate(S.measure(api, worker.token, calls, S.hall_path(sort, None, rng, True), 2), 1):
                    print(f"{r.query:72s} {page:4d} {r.returned:4d} {r.read:5d} {r.amplification:5.2f} {r.queries:3d}")
            print(
                f"\ncategory + sort + reward range, full pages: n={len(bounded)} max ×{max(bounded):.2f} "
                f"mean ×{statistics.mean(bounded):.2f}"
            )
            print(f"Scan calls: {calls.count('Scan')}")
        clock.pin(None)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
