"""The child processes the checklist starts: pytest and ``workerkit compare``."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["run_child", "tail"]

_TAIL_LINES = 5
_TAIL_LINE_CHARS = 240


def run_child(
    command: Sequence[str],
    *,
    timeout_s: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str] | str:
    """Run ``command`` with its output captured; return it, or why it did not finish."""
    try:
        return subprocess.run(
            list(command),
            cwd=cwd,
            env=None if env is None else dict(env),
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        return f"`{' '.join(command)}` did not finish within {timeout_s:g} s"


def tail(done: subprocess.CompletedProcess[str]) -> str:
    """Return the last few non-blank output lines of a finished child, joined by ``|``."""
    lines = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    return " | ".join(_shorten(line) for line in lines[-_TAIL_LINES:])


def _shorten(line: str) -> str:
    return line if len(line) <= _TAIL_LINE_CHARS else f"{line[: _TAIL_LINE_CHARS - 3]}..."
