"""Run Python in a child process under a watchdog: a hang or a crash there is a result.

Tests put in a child what could take the whole run down with it: a deadlock of the GIL
against a Qt mutex (the main thread then waits in C, where no test timeout can reach
it), a segfault, an event loop that must own the process (QtAsyncio), or an object that
must outlive the test that made it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SCRIPTS", "ChildRun", "run_child", "run_script"]

SCRIPTS = Path(__file__).parent / "scripts"


@dataclass(frozen=True, slots=True)
class ChildRun:
    """How a child process ended: its status and output, or that the watchdog killed it."""

    command: list[str]
    returncode: int | None  # None: still running at the timeout, so killed
    stdout: str
    stderr: str
    seconds: float

    @property
    def hung(self) -> bool:
        """Return True if the watchdog had to kill the process."""
        return self.returncode is None

    @property
    def signal(self) -> int | None:
        """Return the signal that killed the process, or None if it exited or hung."""
        code = self.returncode
        return -code if code is not None and code < 0 else None

    @property
    def ok(self) -> bool:
        """Return True if the process exited with status 0."""
        return self.returncode == 0

    def json_lines(self) -> list[dict[str, Any]]:
        """Return the stdout lines that are JSON objects, in order."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]

    @property
    def measured(self) -> dict[str, Any] | None:
        """Return the last JSON object the child printed, or None if it printed none."""
        lines = self.json_lines()
        return lines[-1] if lines else None

    def marked(self, mark: str) -> list[str]:
        """Return the text after ``mark`` of each stdout line that starts with it."""
        return [line[len(mark) :] for line in self.stdout.splitlines() if line.startswith(mark)]

    def describe(self) -> str:
        """Return how the process ended and its output's tails, for an assertion message."""
        if self.hung:
            status = f"hung: killed by the watchdog after {self.seconds:.1f} s"
        elif self.signal is not None:
            status = f"killed by signal {self.signal} after {self.seconds:.1f} s"
        else:
            status = f"exit status {self.returncode} after {self.seconds:.1f} s"
        return f"{status}; stdout tail:\n{self.stdout[-1500:]}\nstderr tail:\n{self.stderr[-2000:]}"


def run_child(
    command: Sequence[str],
    *,
    timeout_s: float,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> ChildRun:
    """Run ``command`` offscreen, with fault tracebacks on; kill it after ``timeout_s``."""
    full_env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONFAULTHANDLER": "1"}
    started = time.perf_counter()
    try:
        done = subprocess.run(
            list(command),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            cwd=cwd,
            env=full_env | dict(env or {}),
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        return ChildRun(
            list(command),
            None,
            _text(expired.stdout),
            _text(expired.stderr),
            time.perf_counter() - started,
        )
    return ChildRun(
        list(command), done.returncode, done.stdout, done.stderr, time.perf_counter() - started
    )


def run_script(name: str, *args: object, timeout_s: float, prefix: Sequence[str] = ()) -> ChildRun:
    """Run tests/scripts/``name`` with this interpreter (after ``prefix``, e.g. setpriv)."""
    command = [*prefix, sys.executable, str(SCRIPTS / name), *map(str, args)]
    return run_child(command, timeout_s=timeout_s)


def _text(output: bytes | str | None) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""
