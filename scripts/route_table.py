"""Regenerate `chalicelib/handlers/route_table.py`, the table app.py mounts routes from (handlers/routing.py).

Run it after adding, moving or removing a route: `python -m scripts.route_table` (or `make routes`).
With `--check` it only says whether the file is current (exit 1 when stale).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

TABLE = Path(__file__).resolve().parents[1] / "chalicelib" / "handlers" / "route_table.py"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the table is stale; write nothing")
    args = parser.parse_args(argv)
    os.environ.setdefault("STAGE", "local")  # importing the handlers reads the stage's settings; nothing is called
    from chalicelib.handlers import routing

    text = routing.render(routing.declared())
    current = TABLE.read_text(encoding="utf-8") if TABLE.exists() else ""
    if text == current:
        print(f"{TABLE.name}: current")
        return 0
    if args.check:
        print(f"{TABLE.name} is stale: run `python -m scripts.route_table`", file=sys.stderr)
        return 1
    TABLE.write_text(text, encoding="utf-8")
    print(f"{TABLE.name}: written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
