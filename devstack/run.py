"""`make run`: the whole product on this machine, from the same definitions that deploy to AWS.

1. moto's server on 127.0.0.1:$MOTO_PORT (4566), each DynamoDB request atomic (devstack/moto_server.py);
2. every resource of `infra/template.py` for stage `local`, created on it (devstack/resources.py);
3. the API — Chalice's local server, stage `local` — on 127.0.0.1:$PORT (8000), as a child process
   (`python -m devstack.api`) that inherits the endpoint, resource names and the stage clock file;
4. the pump in this process: table stream, `jobs` and `webhooks` queues, and the schedule tick.

Ctrl-C (SIGINT) or SIGTERM stops all of it and exits 0. See docs/decisions/0012-local-stack.md.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from devstack.children import ROOT, Child, ChildFailed

REGION = "cn-north-1"
STAGE = "local"


def _say(text: str) -> None:
    print(text, flush=True)


def _environment(clock_file: Path) -> None:
    """Point this process (and so its children) at the local stack; never at a real AWS account."""
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(key, None)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "STAGE": STAGE,
            "CLOCK_FILE": str(clock_file),
            "POWERTOOLS_SERVICE_NAME": "taskhall",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"),
        }
    )


def main() -> int:
    # The app logs JSON through powertools (its own handler); libraries only when something is wrong;
    # the pump one short line per batch.
    logging.basicConfig(stream=sys.stdout, level=logging.WARNING, format="%(asctime)s %(name)s | %(message)s")
    pump_log = logging.getLogger("devstack.pump")
    pump_handler = logging.StreamHandler(sys.stdout)
    pump_handler.setFormatter(logging.Formatter("%(asctime)s pump | %(message)s", datefmt="%H:%M:%S"))
    pump_log.addHandler(pump_handler)
    pump_log.setLevel(logging.INFO)
    pump_log.propagate = False
    api_port = int(os.environ.get("PORT", "8000"))
    moto_port = int(os.environ.get("MOTO_PORT", "4566"))
    state_dir = ROOT / ".local"
    state_dir.mkdir(exist_ok=True)
    clock_file = state_dir / "clock_offset"
    clock_file.unlink(missing_ok=True)  # moto keeps nothing between runs, so the stage clock starts over too
    _environment(clock_file)

    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    from devstack.moto_server import LockedMotoServer

    t0 = time.monotonic()
    moto = LockedMotoServer(port=moto_port)
    try:
        moto.start()
    except OSError as exc:
        _say(f"cannot start moto on 127.0.0.1:{moto_port}: {exc} (set MOTO_PORT to use another port)")
        return 1
    moto_ms = (time.monotonic() - t0) * 1000
    api: Child | None = None
    pump_thread: threading.Thread | None = None
    pump_stop = threading.Event()
    code = 0
    try:
        os.environ["AWS_ENDPOINT_URL"] = moto.endpoint_url
        from devstack.resources import create_stack

        t1 = time.monotonic()
        stack = create_stack(STAGE, REGION, endpoint_url=moto.endpoint_url)
        stack_ms = (time.monotonic() - t1) * 1000
        os.environ.update(stack.outputs)

        t2 = time.monotonic()
        try:
            api = Child(
                "devstack.api",
                ["--host", "127.0.0.1", "--port", str(api_port)],
                dict(os.environ),
                lambda line: print(f"api  | {line}", flush=True),
            )
        except ChildFailed as exc:
            _say(f"the API did not start (is port {api_port} free? set PORT to use another): {exc}")
            return 1
        api_ms = (time.monotonic() - t2) * 1000

        from app import app
        from devstack.pump import Pump

        pump = Pump.for_stack(stack, app=app, endpoint_url=moto.endpoint_url)
        pump_thread = threading.Thread(target=pump.run_forever, args=(pump_stop,), name="pump", daemon=True)
        pump_thread.start()

        _say(
            "\n"
            f"Taskhall is running (stage {STAGE}, region {REGION}; started in "
            f"{moto_ms + stack_ms + api_ms:.0f} ms: moto {moto_ms:.0f}, resources {stack_ms:.0f}, API {api_ms:.0f})\n"
            f"  API    {api.url}/v1/health   ·   OpenAPI {api.url}/v1/openapi.json\n"
            f"  moto   {moto.endpoint_url}   (AWS_ENDPOINT_URL for boto3; table {stack.outputs['TABLE_NAME']})\n"
            f"  clock  {clock_file.relative_to(ROOT)}   (POST /v1/sandbox/clock moves it; schedules follow)\n"
            "Ctrl-C to stop.\n"
        )
        while not stop.wait(0.5):
            if not api.alive:
                if api.proc.returncode != 0:  # 0: it got the terminal's Ctrl-C first and stopped cleanly
                    _say(f"the API process exited with code {api.proc.returncode}; stopping")
                    code = 1
                break
    finally:
        _say("stopping…")
        pump_stop.set()
        if pump_thread is not None:
            pump_thread.join(timeout=10)
        if api is not None:
            api.stop()
        moto.stop()
        _say("stopped.")
    return code


if __name__ == "__main__":
    sys.exit(main())
