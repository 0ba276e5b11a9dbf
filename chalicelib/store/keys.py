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
