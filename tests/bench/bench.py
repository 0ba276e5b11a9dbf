"""`make bench`: seeds 10,000 published tasks and 1,000 workers on a locked moto server, then measures every hot
route (DynamoDB operations, read amplification, latency against a bare GetItem), `import app` against
`import boto3`, and the contention races at full size over HTTP. Not part of `make test`; asserts only that
the races kept their invariants. The last line is the machine-readable summary:

    BENCH hall_amp=<float> claim_ops=<int> accept_ops=<int> oversold=<int> import_ratio=<float> p99_ratio_claim=<float>

    .venv/bin/python -m tests.bench.bench                    # 10,000 tasks, 1,000 workers
    .venv/bin/python -m tests.bench.bench --tasks 2000 --workers 300   # a quicker look
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import tests.conftest as harness  # sets the test stage's environment before chalicelib is imported
from tests.e2e import races

ROOT = Path(__file__).resolve().parents[2]
REGION = "cn-north-1"
STAGE = "test"  # argon2's cheap parameters are honoured only here; tables are named for it


# ---------------------------------------------------------------------------------------------- figures


def pct(samples: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


@dataclass
class Route:
    name: str
    latencies: list[float] = field(default_factory=list)
    ops: list[Any] = field(default_factory=list)  # OpCount per call
    statuses: Counter = field(default_factory=Counter)
    hall_amps: list[float] = field(default_factory=list)

    def p(self, q: float) -> float:
        return pct(self.latencies, q) if self.latencies else float("nan")

    @property
    def op_mix(self) -> str:
        mixes = Counter(tuple(sorted(o.ops.items())) for o in self.ops)
        common = mixes.most_common(1)[0][0] if mixes else ()
        return ",".join(f"{k}:{v}" for k, v in common) or "-"

    @property
    def total_ops(self) -> int:
        """The most common number of DynamoDB calls per request (they are deterministic per route)."""
        return Counter(sum(o.ops.values()) for o in self.ops).most_common(1)[0][0] if self.ops else 0

    @property
    def max_ops(self) -> int:
        return max((sum(o.ops.values()) for o in self.ops), default=0)

    @property
    def capacity(self) -> float:
        return statistics.median(o.capacity for o in self.ops) if self.ops else 0.0

    @property
    def amplification(self) -> float:
        if self.hall_amps:
            return max(self.hall_amps)
        return max((o.amplification for o in self.ops), default=0.0)


class Bench:
    def __init__(self, api: Any) -> None:
        self.api = api
        self.routes: dict[str, Route] = {}

    def call(
        self, name: str, method: str, path: str, body: Any = None, *, token: str, ok: tuple[int, ...] = (200, 201)
    ) -> Any:
        from tests.opcount import count_ops

        route = self.routes.setdefault(name, Route(name))
        with count_ops() as ops:
            started = time.perf_counter()
            reply = self.api.request(method, path, body, token=token, headers={"X-Device-Id": "bench-device"})
            elapsed = time.perf_counter() - started
        route.statuses[reply.status] += 1
        if reply.status not in ok:
            raise AssertionError(f"{name}: {method} {path} -> {reply.status} {reply.body[:300]!r}")
        route.latencies.append(elapsed)
        route.ops.append(ops)
        if name.startswith("hall") and reply.json.get("items"):
            route.hall_amps.append(ops.query_read / len(reply.json["items"]))
        return reply


# ------------------------------------------------------------------------------------------- import time


def import_seconds(modules: tuple[str, ...], env: dict[str, str]) -> tuple[float, float]:
    """(CPU, wall) seconds of importing `modules` in order in a fresh interpreter holding only the deployment's
    packages (tests/bench/import_timer.py)."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "bench" / "import_timer.py"), *modules],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    cpu, wall = out.stdout.strip().splitlines()[-1].split()
    return float(cpu), float(wall)


# What each figure imports. `import app` mounts the routes without their handler modules (decision 0007); the
# `app + …` figures add the module a cold container loads on its first request to that route, and `app + every
# route` is what a container holds once it has served them all (what `import app` cost before 0007).
IMPORTS: dict[str, tuple[str, ...]] = {
    "boto3": ("boto3",),
    "app": ("app",),
    "app + claims": ("app", "chalicelib.handlers.claims"),
    "app + hall": ("app", "chalicelib.handlers.hall"),
    "app + wallet": ("app", "chalicelib.handlers.wallet"),
    "app + every route": ("app", "*"),
}


def measure_imports(rounds: int = 5) -> dict[str, tuple[float, float]]:
    """Median (CPU, wall) seconds of each of IMPORTS in fresh interpreters, interleaved, all from compiled
    bytecode (a private PYTHONPYCACHEPREFIX, filled by one untimed run each: boto3's wheels ship none for our
    code either, and a deployment should ship both compiled)."""
    cache = tempfile.mkdtemp(prefix="bench-pyc-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update({"STAGE": "dev", "PYTHONPYCACHEPREFIX": cache})
    try:
        for modules in IMPORTS.values():
            import_seconds(modules, env)
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in IMPORTS}
        for _ in range(rounds):
            for name, modules in IMPORTS.items():
                runs[name].append(import_seconds(modules, env))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return {
        name: (statistics.median(r[0] for r in got), statistics.median(r[1] for r in got)) for name, got in runs.items()
    }


# -------------------------------------------------------------------------------------------- the races

race = partial(races.race, join_s=600)  # full-size races queue behind one DynamoDB lock


def status_of(r: Any) -> Any:
    return getattr(r, "status", type(r).__name__)


# ------------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1_000)
    parser.add_argument("--merchants", type=int, default=100)
    parser.add_argument("--racers", type=int, default=200)
    parser.add_argument("--slots", type=int, default=50)
    parser.add_argument("--withdrawals", type=int, default=32)
    parser.add_argument("--samples", type=int, default=100, help="requests per measured route")
    args = parser.parse_args(argv)
    began = time.monotonic()

    def say(line: str) -> None:
        print(f"[{time.monotonic() - began:6.1f}s] {line}", flush=True)

    say("import times (fresh interpreters with the deployment's packages only, bytecode cached, median of 5)")
    imports = measure_imports()
    boto3_cpu = imports["boto3"][0]
    import_ratio = imports["app"][0] / boto3_cpu
    for name, (cpu, wall) in imports.items():
        say(f"  {name:<18} CPU {cpu * 1000:4.0f} ms ({cpu / boto3_cpu:.2f} × boto3), wall {wall * 1000:4.0f} ms")

    from devstack.children import Child

    base_env = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "AWS_PROFILE")}
    logs: list[str] = []
    moto = Child("tests.bench.moto_fast", ["--port", "0"], base_env, logs.append)
    api_child = None
    try:
        from devstack.resources import create_stack

        stack = create_stack(STAGE, REGION, endpoint_url=moto.url)
        env = {"STAGE": STAGE, "AWS_ENDPOINT_URL": moto.url, **stack.outputs}
        os.environ.update(env)
        harness._reset_caches()
        say(f"moto server {moto.url}, stack created")

        from chalicelib.adapters import aws
        from chalicelib.config import settings
        from chalicelib.store import keys
        from tests.bench import seed

        say(f"seeding {args.merchants} merchants and {args.workers} workers (identity service)")
        merchants = seed.make_people(args.merchants, "merchant")
        workers = seed.make_people(args.workers, "worker")
        say(f"seeding {args.tasks} published, funded, listed tasks (batch writes)")
        hall = seed.seed_published_tasks(args.tasks, [m.user_id for m in merchants], progress=say)
        seed.check_books(hall)
        say("  books check: sampled escrows = slots × unit cost, merchants' wallets 0, clearing covers all")

        # A bare GetItem on the same server: the unit the route latencies are divided by.
        ddb = aws.client("dynamodb")
        pk, sk = keys.task(hall.tasks[0].task_id)
        bare: list[float] = []
        for _ in range(args.samples * 2):
            started = time.perf_counter()
            ddb.get_item(TableName=settings().table_name, Key={"PK": {"S": pk}, "SK": {"S": sk}})
            bare.append(time.perf_counter() - started)
        say(f"bare GetItem: p50 {pct(bare, 50) * 1000:.2f} ms p99 {pct(bare, 99) * 1000:.2f} ms")

        routes = measure_routes(args, merchants, workers, say)
        races = run_races(args, base_env, env, moto, workers, merchants, say, logs)
        api_child = races.pop("_child", None)
    finally:
        if api_child is not None:
            api_child.stop()
        moto.stop()

    print_report(routes, bare, imports, races, time.monotonic() - began)
    hall_main = [r for n, r in routes.items() if n.startswith("hall") and "near" not in n]
    hall_amp = max(r.amplification for r in hall_main)
    claim, accept = routes["claim"], routes["accept"]
    print(
        f"BENCH hall_amp={hall_amp:.2f} claim_ops={claim.total_ops} accept_ops={accept.total_ops} "
        f"oversold={races['oversold']} import_ratio={import_ratio:.2f} "
        f"p99_ratio_claim={claim.p(99) / pct(bare, 99):.1f}",
        flush=True,
    )
    return 0


def measure_routes(args: Any, merchants: list[Any], workers: list[Any], say: Callable[[str], None]) -> dict[str, Route]:
    from chalice.test import Client

    from app import app
    from tests.api.claims.conftest import publish_task
    from tests.api.tasks import hall_seed as S

    n = min(args.samples, len(workers))
    with Client(app, stage_name=STAGE) as client:
        bench = Bench(harness.Api(client))
        from tests.bench import seed

        merchant, *crew = seed.fresh_tokens([merchants[0], *workers[:n]])

        def warm(people: list[Any]) -> None:
            """Each caller's session state cached, as on a warm Lambda: the cache keeps it 10 s (sessions.py), less
            than a phase takes here, so every phase starts warm. Not measured."""
            for person in people:
                bench.api.get("/v1/me", token=person.token)

        warm([merchant, *crew])

        say("hall: 3 sorts × 6 filter paths, 2 pages each, 2 rounds")
        paths: list[tuple[str, str]] = []
        for sort in ("newest", "reward", "ending"):
            paths += [
                (f"hall {sort} all", S.hall_path(sort, None, (None, None))),
                (f"hall {sort} category", S.hall_path(sort, "survey", (None, None))),
                (f"hall {sort} category+100-500", S.hall_path(sort, "survey", (100, 500))),
                (f"hall {sort} category+>=200", S.hall_path(sort, "app_trial", (200, None))),
                (f"hall {sort} 100-500", S.hall_path(sort, None, (100, 500))),
                (f"hall {sort} near10km", S.hall_path(sort, None, (None, None), near=True)),
            ]
        for round_ in range(2):
            for name, path in paths:
                token = crew[round_ % len(crew)].token
                first = bench.call(name, "GET", path, token=token)
                cursor = first.json["next_cursor"]
                if cursor:
                    bench.call(name, "GET", f"{path}&cursor={cursor}", token=token)

        say(f"claim → proof → accept/reject: {n} workers on one {n}-slot task")
        task_id = publish_task(merchant.user_id, slots=n, reward=300, fee_bps=500)
        warm(crew)
        claims = []
        for w in crew:
            claims.append(bench.call("claim", "POST", f"/v1/tasks/{task_id}/claims", token=w.token).json["id"])
        warm(crew)
        for w, cid in zip(crew, claims, strict=True):
            bench.call("proof", "POST", f"/v1/claims/{cid}/proof", {"text": "万达店"}, token=w.token)
        cut = n * 3 // 4
        warm([merchant])
        for cid in claims[:cut]:
            bench.call("accept", "POST", f"/v1/claims/{cid}/accept", {"rating": 5}, token=merchant.token)
        for cid in claims[cut:]:
            body = {"reason": "截图与要求不符"}
            bench.call("reject", "POST", f"/v1/claims/{cid}/reject", body, token=merchant.token)

        say(f"wallet and entries: {n} workers, and the merchant's statement")
        warm([merchant, *crew])
        for w in crew:
            bench.call("wallet", "GET", "/v1/wallet", token=w.token)
            bench.call("entries", "GET", "/v1/wallet/entries", token=w.token)
        # Routes on a GSI (my claims, a task's claims) are left out: moto answers an index Query by walking
        # every item of the table, seconds at this size, which would time moto rather than us.
        for _ in range(max(10, n // 10)):
            bench.call("entries (merchant)", "GET", "/v1/wallet/entries?limit=50", token=merchant.token)
    return bench.routes


def run_races(
    args: Any,
    base_env: dict[str, str],
    env: dict[str, str],
    moto: Any,
    workers: list[Any],
    merchants: list[Any],
    say: Callable[[str], None],
    logs: list[str],
) -> dict[str, Any]:
    from chalicelib.domain import ledger as L
    from chalicelib.domain import tasks as T
    from chalicelib.domain.roles import Caller
    from chalicelib.services import accounts
    from chalicelib.store import ledger as books
    from devstack.children import Child
    from tests.api.claims.conftest import publish_task
    from tests.api.money.conftest import id_number
    from tests.bench import seed
    from tests.e2e.conftest import Http

    out: dict[str, Any] = {}
    api_env = {
        **base_env,
        **env,
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "WITHDRAW_DAILY_COUNT": "1000",
        "WITHDRAW_DAILY_FEN": "100000000",
    }
    child = Child("devstack.api", ["--port", "0", "--stage", STAGE], api_env, lambda line: None)
    out["_child"] = child
    http = Http(child.url, timeout_s=600)
    merchant, *racers = seed.fresh_tokens([merchants[1], *workers[-args.racers :]])

    say(f"race 1: {args.racers} workers claim a {args.slots}-slot task at once over HTTP")
    task_id = publish_task(merchant.user_id, slots=args.slots, reward=300, fee_bps=500)
    started = time.monotonic()
    replies = race(args.racers, lambda i: http.post(f"/v1/tasks/{task_id}/claims", token=racers[i].token))
    took = time.monotonic() - started
    outcome = Counter((status_of(r), getattr(r, "code", None)) for r in replies)
    won = outcome[(201, None)]
    claimed, slots_left = task_counters(task_id)
    escrow = books.get_balances([L.escrow(task_id)])[L.escrow(task_id)].available
    oversold = max(0, won - args.slots, claimed - args.slots, -slots_left)
    out.update(oversold=oversold, claim_race=dict(outcome), claim_race_s=took)
    out["claim_race_5xx"] = sum(n for (s, _), n in outcome.items() if isinstance(s, int) and s >= 500)
    out["claim_race_escrow_ok"] = escrow == args.slots * T.unit_cost_fen(300, 500)
    say(f"  {dict(outcome)} in {took:.1f} s; task claimed={claimed} slots_left={slots_left}")

    say(f"race 2: {args.withdrawals} concurrent withdrawals of 100 fen from a 1,000 fen wallet over HTTP")
    spare = seed.make_people(21, "worker")  # fresh: neither measured above nor racing for slots
    w = spare[0]
    accounts.verify_real_name(Caller(w.user_id, "worker"), "李雷", id_number())
    books.post(
        [
            L.Transfer(
                id=f"deposit:bench-race-{w.user_id}",
                debit=L.clearing("sandbox"),
                credit=L.wallet(w.user_id),
                amount=1_000,
                code=L.Code.DEPOSIT,
            )
        ]
    )
    before = books.get_balances([L.wallet(w.user_id)])[L.wallet(w.user_id)].available
    body = {"amount_fen": 100, "channel": "sandbox", "account": {"number": "lilei@example.com", "holder_name": "李雷"}}
    started = time.monotonic()
    replies = race(
        args.withdrawals,
        lambda i: http.post("/v1/withdrawals", body, token=w.token, headers={"Idempotency-Key": uuid.uuid4().hex}),
    )
    took = time.monotonic() - started
    outcome = Counter((status_of(r), getattr(r, "code", None)) for r in replies)
    bal = books.get_balances([L.wallet(w.user_id)])[L.wallet(w.user_id)]
    paid_out = outcome[(201, None)] * 100
    out.update(
        withdraw_race=dict(outcome),
        withdraw_race_s=took,
        withdraw_negative=bal.available < 0,
        withdraw_sum_ok=(bal.available + bal.debits_pending == before) and bal.debits_pending == paid_out,
    )
    say(f"  {dict(outcome)} in {took:.1f} s; available {bal.available}, held {bal.debits_pending}")

    rounds = 20
    say(f"race 3: accept and reject of one submitted claim at once, {rounds} claims over HTTP")
    task_id = publish_task(merchant.user_id, slots=rounds, reward=300, fee_bps=500)
    pairs = Counter()
    for worker in spare[1 : rounds + 1]:
        cid = http.post(f"/v1/tasks/{task_id}/claims", token=worker.token).json["id"]
        proved = http.post(f"/v1/claims/{cid}/proof", {"text": "万达店"}, token=worker.token)
        assert proved.status == 200, proved.body
        calls = [
            lambda: http.post(f"/v1/claims/{cid}/accept", {"rating": 4}, token=merchant.token),
            lambda: http.post(f"/v1/claims/{cid}/reject", {"reason": "截图模糊不清"}, token=merchant.token),
        ]
        got = race(2, lambda i, calls=calls: calls[i]())
        pairs[tuple(sorted(status_of(r) for r in got))] += 1
    out["review_race"] = dict(pairs)
    say(f"  (statuses of the pair) → count: {dict(pairs)}")
    return out


def task_counters(task_id: str) -> tuple[int, int]:
    """(claimed, slots left) of a task, its hot-task slot shards included."""
    from chalicelib.store import slot_shards

    task, shards = slot_shards.load(task_id)
    assert task is not None
    totals = slot_shards.totals(task, shards)
    return totals.claimed_count, totals.slots_left


def print_report(
    routes: dict[str, Route],
    bare: list[float],
    imports: dict[str, tuple[float, float]],
    races: dict[str, Any],
    total_s: float,
) -> None:
    b50, b99 = pct(bare, 50), pct(bare, 99)
    print()
    p95 = pct(bare, 95)
    print(f"bare GetItem on the same server: p50 {b50 * 1000:.2f} ms  p95 {p95 * 1000:.2f} ms  p99 {b99 * 1000:.2f} ms")
    head = f"{'route':30s} {'n':>4s} {'ops':>4s} {'max':>4s} {'amp':>5s} {'cap':>5s} "
    head += f"{'p50 ms':>7s} {'p95 ms':>7s} {'p99 ms':>7s} {'p50×':>5s} {'p99×':>5s}  op mix"
    print(head)
    for r in routes.values():
        print(
            f"{r.name:30s} {len(r.latencies):4d} {r.total_ops:4d} {r.max_ops:4d} {r.amplification:5.2f} "
            f"{r.capacity:5.1f} {r.p(50) * 1000:7.1f} {r.p(95) * 1000:7.1f} {r.p(99) * 1000:7.1f} "
            f"{r.p(50) / b50:5.1f} {r.p(99) / b99:5.1f}  {r.op_mix}"
        )
    scans = sum(o.ops["Scan"] for r in routes.values() for o in r.ops)
    print(f"Scan calls on request paths: {scans}")
    boto3_cpu = imports["boto3"][0]
    print("imports, median of 5 fresh interpreters, deployment packages only (CPU ms, × import boto3, wall ms):")
    for name, (cpu, wall) in imports.items():
        print(f"  {name:<18} {cpu * 1000:5.0f} {cpu / boto3_cpu:5.2f}× {wall * 1000:5.0f}")
    for key in (
        "claim_race",
        "claim_race_s",
        "claim_race_5xx",
        "claim_race_escrow_ok",
        "oversold",
        "withdraw_race",
        "withdraw_race_s",
        "withdraw_negative",
        "withdraw_sum_ok",
        "review_race",
    ):
        value = races.get(key)
        print(f"{key}: {value:.1f}" if isinstance(value, float) else f"{key}: {value}")
    print(f"bench wall time: {total_s:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
