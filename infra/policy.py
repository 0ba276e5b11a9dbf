"""Writes `.chalice/policy-<stage>.json` (what `chalice deploy`/`package` attach to every function role) from
`infra.template.iam_policy(stage)`. `--check` fails instead of writing when a file is stale (`make package`).

Chalice cannot see pynamodb's DynamoDB calls, so `autogen_policy` is off and these files are the policy.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from infra.template import iam_policy

ROOT = Path(__file__).resolve().parent.parent
STAGES_WITH_POLICY_FILES = ("dev", "prod")


def policy_path(stage: str) -> Path:
    return ROOT / ".chalice" / f"policy-{stage}.json"


def render(stage: str) -> str:
    return json.dumps(iam_policy(stage), indent=2) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for stage in STAGES_WITH_POLICY_FILES:
        path, text = policy_path(stage), render(stage)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if check:
            stale.append(str(path.relative_to(ROOT)))
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(f"stale: {', '.join(stale)} — run `python -m infra.policy`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
