"""Child processes of the local stack: `python -m ...`, ready when they print `READY <url>`, stopped cleanly."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class ChildFailed(RuntimeError):
    pass


class Child:
    """`python -m <module> <args>` with stdout+stderr handed line by line to `on_line` (the READY line excepted)."""

    def __init__(
        self,
        module: str,
        args: list[str],
        env: dict[str, str],
        on_line: Callable[[str], None],
        timeout_s: float = 60.0,
    ) -> None:
        self.module = module
        self.url = ""
        self._tail: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        ready = threading.Event()

        def forward() -> None:
            assert self.proc.stdout is not None
            for raw in self.proc.stdout:
                line = raw.rstrip("\n")
                if not ready.is_set() and line.startswith("READY "):
                    self.url = line.split(maxsplit=1)[1].strip()
                    ready.set()
                    continue
                self._tail = [*self._tail[-49:], line]
                on_line(line)
            ready.set()  # output ended: the process exited, ready or not

        self._reader = threading.Thread(target=forward, name=f"{module}-output", daemon=True)
        self._reader.start()
        if not ready.wait(timeout_s) or not self.url:
            self.stop()
            raise ChildFailed(f"{module} did not start:\n" + "\n".join(self._tail))

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout_s: float = 10.0) -> int:
        """SIGTERM, then SIGKILL if it does not exit in time. Returns the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=2)
        return self.proc.returncode
