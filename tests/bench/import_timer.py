"""Run as a script: time `import <module>` in this fresh interpreter as the deployed Lambda would import it.

Further arguments are imported after it inside the same timing, to cost a cold container's first request to a
route: `app chalicelib.handlers.claims` is `import app` plus the module the claim route loads on first use
(handlers/routing.py); `app '*'` is `import app` plus every handler module the app mounts.

Packages outside the runtime requirements are made unimportable first (tests/unit/foundation/importprobe.py:
botocore would otherwise pick up the dev venv's pyOpenSSL), so `import boto3` and `import app` are timed with
the same libraries a deployment package holds. Prints `<cpu seconds> <wall seconds>` on the last line: the
bench uses CPU time, which the other processes on a shared 2-core machine disturb far less than wall time.

    python tests/bench/import_timer.py app
    python tests/bench/import_timer.py app chalicelib.handlers.claims
"""

from __future__ import annotations

import sys
import time
from importlib import import_module, metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(module: str, *then: str) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.unit.foundation import importprobe as probe

    runtime = probe.runtime_distributions()
    blocked = {
        top
        for top, dists in metadata.packages_distributions().items()
        if not any(probe._norm(d) in runtime for d in dists)
    }
    sys.meta_path.insert(0, probe._Blocker(blocked))
    cpu, wall = time.process_time(), time.perf_counter()
    import_module(module)
    for extra in then:
        if extra == "*":
            from chalicelib.handlers import routing

            routing.load_all(local=False)
        else:
            import_module(extra)
    print(time.process_time() - cpu, time.perf_counter() - wall)


if __name__ == "__main__":
    main(*sys.argv[1:])
