"""Key builders: the only place that knows key shapes. Services call these, never format keys themselves."""

from __future__ import annotations


def health() -> tuple[str, str]:
    return ("SYS#HEALTH", "SYS#HEALTH")


def idempotency(hashed_key: str) -> tuple[str, str]:
    return (f"IDEM#{hashed_key}", "IDEM")


def rate_bucket(name: str, subject: str, window: int) -> tuple[str, str]:
    return (f"RATE#{name}#{subject}", f"W#{window}")


def schedule_state(job: str) -> tuple[str, str]:
    return ("SYS#SCHEDULE", job)


# ---- ledger


def account(account_id: str) -> tuple[str, str]:
    return (f"ACCT#{account_id}", "BAL")


def transfer(transfer_id: str) -> tuple[str, str]:
    return (f"XFER#{transfer_id}", "XFER")


def entry(account_id: str, at_iso: str, transfer_id: str) -> tuple[str, str]:
    return (f"ACCT#{account_id}", f"E#{at_iso}#{transfer_id}")


def entry_prefix(account_id: str) -> tuple[str, str]:
    return (f"ACCT#{account_id}", "E#")


def entry_bound(account_id: str, at_iso: str) -> tuple[str, str]:
    return (f"ACCT#{account_id}", f"E#{at_iso}")
