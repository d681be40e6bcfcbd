"""Run a test case again in a child pytest, where a legacy crash or hang is a result.

Under load the legacy wiring can deadlock on the GIL and a Qt signal-slot mutex, or die
of a SIGSEGV inside a cancel (D11). In the test process either ends the whole run; in a
child process it is the case's outcome, reported like any other legacy failure.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

__all__ = ["CHILD_ENV", "ChildDidNotEnd", "in_child", "rerun_in_child"]

CHILD_ENV = "WORKERKIT_CHILD_PYTEST"
# Below the suite's per-test timeout, so the child's watchdog reports first.
CHILD_TIMEOUT_S = 100


class ChildDidNotEnd(AssertionError):
    """The case's child process hung or was killed by a signal: it never reported."""


def in_child() -> bool:
    """Return True inside the child process of a rerun case."""
    return bool(os.environ.get(CHILD_ENV))


def rerun_in_child(request: pytest.FixtureRequest, timeout_s: float = CHILD_TIMEOUT_S) -> None:
    """Run the calling case in a child pytest; raise AssertionError unless it passed there."""
    command = [sys.executable, "-m", "pytest", request.node.nodeid, "-q", "-p", "no:cacheprovider"]
    env = {**os.environ, CHILD_ENV: "1", "PYTHONFAULTHANDLER": "1"}
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            cwd=request.config.rootpath,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ChildDidNotEnd(
            f"the case hung in its child process (killed after {timeout_s} s)"
        ) from None
    if done.returncode < 0:
        raise ChildDidNotEnd(
            f"the case's child process was killed by signal {-done.returncode}:\n"
            f"{done.stderr[-2000:]}"
        )
    if done.returncode != 0:
        errors = [line[1:].strip() for line in done.stdout.splitlines() if line.startswith("E ")]
        first = errors[0] if errors else f"exit status {done.returncode}"
        raise AssertionError(f"in its child process: {first}\n{done.stdout[-3000:]}")
