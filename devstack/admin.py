"""`make admin PHONE=… PASSWORD=… [ROLE=admin|reviewer|finance]`: create desk staff. The only way admins exist.

It writes to the stage the environment points at:
- nothing set (or `STAGE=local`): the running local stack (`make run`) on http://127.0.0.1:$MOTO_PORT (4566),
  stage `local`, region cn-north-1, with the local stack's dummy credentials;
- `AWS_ENDPOINT_URL` set: that endpoint, stage `$STAGE` (default local);
- `STAGE=dev|prod` without an endpoint: real AWS with the ambient credentials (region `$AWS_REGION`,
  default cn-north-1), resources named `taskhall-<stage>-…` as `infra/` deploys them.
The password goes through the same strength rules as everyone's and is stored as an argon2id hash.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

REGION = "cn-north-1"
ROLES = ("admin", "reviewer", "finance")


def _point_at_stage() -> str:
    stage = os.environ.get("STAGE") or "local"
    os.environ["STAGE"] = stage
    os.environ.setdefault("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION") or REGION)
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ["AWS_REGION"])
    if stage == "local" and not os.environ.get("AWS_ENDPOINT_URL"):
        os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{os.environ.get('MOTO_PORT', '4566')}"
    if os.environ.get("AWS_ENDPOINT_URL", "").startswith("http://127.0.0.1"):
        # The local stack's moto accepts any credentials; never send real ones to it.
        os.environ["AWS_ACCESS_KEY_ID"] = "local"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "local"
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            os.environ.pop(key, None)
    return stage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make admin", description="Create a desk staff account.")
    parser.add_argument("--phone", default=os.environ.get("PHONE") or None)
    parser.add_argument("--role", default=os.environ.get("ROLE") or "admin", choices=ROLES)
    args = parser.parse_args(argv)
    if not args.phone:
        parser.error("PHONE is required: make admin PHONE=13800000000 PASSWORD=…")
    # Read from the environment or a prompt, never from argv (argv shows up in `ps`).
    password = os.environ.get("PASSWORD") or getpass.getpass("Password for the new staff account: ")
    stage = _point_at_stage()

    from chalicelib.config import reset_settings
    from chalicelib.domain.errors import DomainError
    from chalicelib.services import auth

    reset_settings()
    try:
        user = auth.create_staff(args.phone, password, args.role)
    except DomainError as err:
        detail = "; ".join(f"{k}: {v}" for k, v in (err.details.get("fields") or {}).items())
        print(f"not created ({err.code}): {err.message}{' — ' + detail if detail else ''}", file=sys.stderr)
        return 1
    print(f"created {args.role} {user.user_id} ({user.phone_masked}) in stage {stage}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
