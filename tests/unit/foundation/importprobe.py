"""Run as a script: import `app` the way the deployed Lambda would, then every handler module it mounts lazily
(chalicelib/handlers/routing.py), and print what got imported at each point as JSON.

The deployment package holds only requirements.txt (and chalice's own runtime). The dev venv holds more, and
some runtime libraries import optional packages when present (botocore picks up pyOpenSSL, which pulls in
`cryptography.hazmat`), so packages outside the runtime set are made unimportable first. For every module in
HEAVY that still gets imported, the probe names the first of our modules on the import stack.
"""

from __future__ import annotations

import importlib.abc
import json
import re
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HEAVY = (
    "cryptography.hazmat",
    "argon2",
    "jwt",
    "h3",
    "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.utilities.batch",
    "aws_xray_sdk",
)


def _requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(_norm(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0]))
    return names


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_distributions() -> set[str]:
    """requirements.txt and everything it requires (environment markers honoured), plus chalice itself."""
    todo = list(_requirement_names(ROOT / "requirements.txt"))
    seen = {"chalice"}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for req in requires:
            req_name, _, marker = req.partition(";")
            if marker and "extra" in marker:
                continue  # optional extras are not installed by a plain requirement
            if marker:
                from packaging.markers import Marker

                if not Marker(marker).evaluate():
                    continue
            todo.append(_norm(re.split(r"[<>=!~\[( ]", req_name.strip(), maxsplit=1)[0]))
    return seen


class _Blocker(importlib.abc.MetaPathFinder):
    def __init__(self, blocked: set[str]) -> None:
        self.blocked = blocked
        self.refused: set[str] = set()

    def find_spec(self, fullname, path=None, target=None):  # type: ignore[no-untyped-def]
        top = fullname.partition(".")[0]
        if top in self.blocked:
            self.refused.add(top)
            raise ModuleNotFoundError(f"{top} is not in the deployment package", name=fullname)
        return None


class _Witness(importlib.abc.MetaPathFinder):
    """Records which of our modules first imported each heavy module."""

    def __init__(self) -> None:
        self.by: dict[str, str] = {}

    def find_spec(self, fullname, path=None, target=None):  # type: ignore[no-untyped-def]
        for heavy in HEAVY:
            if (fullname == heavy or fullname.startswith(heavy + ".")) and heavy not in self.by:
                self.by[heavy] = _our_frames()
        return None


def _our_frames() -> str:
    frame = sys._getframe(1)
    chain = []
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if (name.startswith("chalicelib") or name == "app") and name not in chain:
            chain.append(name)
        frame = frame.f_back
    return " <- ".join(chain) or "?"


def main() -> None:
    sys.path.insert(0, str(ROOT))
    runtime = runtime_distributions()
    blocked = {
        top for top, dists in metadata.packages_distributions().items() if not any(_norm(d) in runtime for d in dists)
    }
    blocker, witness = _Blocker(blocked), _Witness()
    sys.meta_path[:0] = [witness, blocker]
    import app  # noqa: F401

    at_import = sorted(h for h in HEAVY if h in sys.modules)
    by_at_import = dict(witness.by)
    from chalicelib.handlers import routing

    handlers_at_import = sorted(m for m in sys.modules if m.startswith("chalicelib.handlers."))
    routing.load_all()  # what a container has loaded once it has served every route
    print(
        json.dumps(
            {
                "imported": at_import,
                "by": by_at_import,
                "handlers_at_import": handlers_at_import,
                "imported_with_every_handler": sorted(h for h in HEAVY if h in sys.modules),
                "by_with_every_handler": witness.by,
                "refused": sorted(blocker.refused),
            }
        )
    )


if __name__ == "__main__":
    main()
