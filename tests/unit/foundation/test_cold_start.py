"""Cold start: `import app`, as the deployed Lambda does it, loads none of the heavy libraries a route may need.

Each Lambda cold start imports `app` before its first request; a library only some routes use must be
imported by those routes (or their services) when first needed. The probe runs in a fresh interpreter with
only the runtime requirements importable (tests/unit/foundation/importprobe.py) and names the module of ours
that pulled each heavy library in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.foundation.importprobe import HEAVY

PROBE = Path(__file__).with_name("importprobe.py")


@pytest.fixture(scope="module")
def probe_run() -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STAGE": "dev", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, str(PROBE)], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def probe(probe_run: subprocess.CompletedProcess[str]) -> dict:
    if probe_run.returncode != 0:
        pytest.fail(f"import app failed:\n{probe_run.stderr}")
    return json.loads(probe_run.stdout.strip().splitlines()[-1])


def test_import_app_succeeds_with_only_the_runtime_requirements(probe_run):
    # A runtime module importing a dev-only package (moto, requests, the payment SDKs…) fails here, at `import app`
    # or when the probe then loads every handler module the app mounts.
    assert probe_run.returncode == 0, probe_run.stderr


@pytest.mark.parametrize("module", HEAVY)
def test_import_app_does_not_load(probe, module):
    assert module not in probe["imported"], f"{module} is imported at cold start by {probe['by'].get(module)}"


@pytest.mark.parametrize("module", HEAVY)
def test_loading_every_handler_module_does_not_load(probe, module):
    # A route's handler module loads on its first request: a heavy library still waits for the call that needs it.
    by = probe["by_with_every_handler"].get(module)
    assert module not in probe["imported_with_every_handler"], f"{module} is imported by {by}"


def test_import_app_loads_no_feature_handler_module(probe):
    # Routes are mounted from the route table; only the machinery, the shared list models and the event-source
    # modules load at import.
    assert probe["handlers_at_import"] == [
        "chalicelib.handlers.events",
        "chalicelib.handlers.pagination",
        "chalicelib.handlers.route_table",
        "chalicelib.handlers.routing",
        "chalicelib.handlers.schedules",
        "chalicelib.handlers.web",
    ]
