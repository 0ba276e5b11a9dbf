"""Risk flags raised by money paths (mismatched notifications, forged signatures). The risk engine extends this."""

from __future__ import annotations

import hashlib
from typing import Any

from chalicelib.adapters import clock
from chalicelib.adapters.log import logger
from chalicelib.store import flags


def raise_flag(rule_id: str, subject: str, evidence: dict[str, Any], *, cause: str, severity: str = "medium") -> str:
    """Record a flag for review. `cause` makes it idempotent: the same cause flags once."""
    digest = hashlib.sha256(f"{rule_id}|{subject}|{cause}".encode()).hexdigest()[:26].upper()
    flag_id = f"flg_{digest}"
    flags.put_flag(flag_id, rule_id, subject, evidence, severity, clock.now().isoformat().replace("+00:00", "Z"))
    logger.warning("risk flag", extra={"rule_id": rule_id, "subject": subject, "flag_id": flag_id})
    return flag_id
