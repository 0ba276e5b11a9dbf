"""Concurrency for races over HTTP: n calls released together from n threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def race(n: int, fn: Callable[[int], Any], *, join_s: float = 120) -> list[Any]:
    """Run fn(0..n-1) in n threads released together by a barrier; return results (or the exceptions raised,
    for the caller to assert on). Each thread is waited for at most `join_s`."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as exc:  # collected, asserted on by the caller
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(join_s)
    return results
