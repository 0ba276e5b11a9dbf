"""One-off maintenance after deploying the desk's status index (docs/decisions/0110): give every user written
before GSI2 existed its role + status entry. It Scans the table, which is why it lives here and not in
`chalicelib/` — no request path may Scan.

Run from the repository root with the stage's environment: `python -m scripts.backfill_status_index`.
"""

from __future__ import annotations

from chalicelib.store import users as user_store
from chalicelib.store.users import UserItem


def backfill_status_index() -> int:
    """Index users that have no GSI2 yet; returns how many it indexed (a concurrent freeze wins)."""
    done = 0
    for user in UserItem.scan(UserItem.GSI2PK.does_not_exist()):
        if user_store.set_status_index(user):
            done += 1
    return done


if __name__ == "__main__":
    print(f"indexed {backfill_status_index()} user(s)")
