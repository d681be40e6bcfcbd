"""Run each (workload, stack) in its own process under a watchdog and collect what happened.

A process that never prints its result is killed at the watchdog and counted as
a hang; one that dies without a result is a crash. One that prints its result
and then hangs or dies while shutting down keeps its measurement, and the note
says how it ended.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from workerkit.tools.benchmarks.apps import AppTarget
from workerkit.tools.benchmarks.run_one import RESULT_PREFIX

__all__ = ["EXIT_GRACE_S", "RunResult", "run_workload"]

# After printing its result a process gets this long to shut down before it is killed.
EXIT_GRACE_S = 5.0
_STDERR_TAIL = 600


@dataclass(slots=True)
class RunResult:
    """How one run of one workload on one stack went, and what it measured."""

    workload: str
    stack: str
    status: str  # ok, hung, crashed, error
    seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    exit: str = "clean"  # clean, crashed, hung: how the process ended after its result

    @property
    def measured(self) -> bool:
        """Return True when the run produced metrics."""
        return self.status == "ok"


def run_workload(
    workload: str,
    stack: str,
    dataset: Path | None,
    work: Path,
    watchdog_s: float,
    *,
    app: AppTarget | None = None,
    size: int | None = None,
) -> RunResult:
    """Run ``workload`` on ``stack`` in a child process and return what it reported.

    With ``app``, the workload is a declared kind's (``kind/name``) run at ``size``
    jobs; the child runs in the app's folder with its import roots on PYTHONPATH.
    """
    command = [
        sys.executable,
        "-m",
        "workerkit.tools.benchmarks.run_one",
        "--workload",
        workload,
        "--stack",
        stack,
        *(["--dataset", str(dataset)] if dataset is not None else []),
        "--work",
        str(work),
        *(_app_options(app, size, watchdog_s) if app is not None else []),
    ]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as stderr, _Child(command, stderr, app) as (process, lines):
        reported = _read_result(lines, started + watchdog_s)
        exit_status = _wait_exit(process, EXIT_GRACE_S if reported else 0.0)
        stderr.seek(0)
        tail = stderr.read().decode(errors="replace").strip()[-_STDERR_TAIL:]
    seconds = time.perf_counter() - started
    return _result(workload, stack, seconds, reported, exit_status, process.returncode, tail)


def _app_options(app: AppTarget, size: int | None, watchdog_s: float) -> list[str]:
    if size is None:
        raise TypeError("run_workload(app=...) needs size=, the declared workload's job count.")
    return ["--app", app.spec, "--size", str(size), "--watchdog", f"{watchdog_s:g}"]


@dataclass(slots=True)
class _Lines:
    """The child's stdout lines, read on a thread so waiting for one can time out."""

    queue: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def feed(self, stream: IO[str]) -> None:
        for line in stream:
            self.queue.put(line)
        self.queue.put(None)


class _Child:
    """Start the child and its stdout reader; kill the child on exit if it still runs."""

    def __init__(self, command: list[str], stderr: IO[bytes], app: AppTarget | None) -> None:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=app.environment(env) if app is not None else env,
            cwd=app.cwd if app is not None else None,
            text=True,
        )
        self.lines = _Lines()
        assert self.process.stdout is not None
        self.reader = threading.Thread(
            target=self.lines.feed, args=(self.process.stdout,), daemon=True
        )
        self.reader.start()

    def __enter__(self) -> tuple[subprocess.Popen[str], _Lines]:
        return self.process, self.lines

    def __exit__(self, *exc_info: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        # The child has ended, so its stdout reaches end of file and the reader returns.
        self.reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _read_result(lines: _Lines, deadline: float) -> dict[str, Any] | None:
    """Return the child's result line, or None if it ended or the deadline passed first."""
    for line in _until(lines, deadline):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    return None


def _until(lines: _Lines, deadline: float) -> Iterator[str]:
    while (left := deadline - time.perf_counter()) > 0:
        try:
            line = lines.queue.get(timeout=left)
        except queue.Empty:
            return
        if line is None:
            return
        yield line


def _wait_exit(process: subprocess.Popen[str], grace_s: float) -> str:
    """Return "clean", "crashed" or "hung" (killed here) for how the child ended."""
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return "hung"
    return "clean" if process.returncode in (0, 3) else "crashed"


def _result(
    workload: str,
    stack: str,
    seconds: float,
    reported: dict[str, Any] | None,
    exit_status: str,
    code: int | None,
    stderr_tail: str,
) -> RunResult:
    if reported is None:
        status = "hung" if exit_status == "hung" else "crashed"
        note = (
            "killed by the watchdog before it reported"
            if status == "hung"
            else f"exited with {_describe_code(code)} before it reported: {stderr_tail}"
        )
        return RunResult(workload, stack, status, seconds, note=note, exit=exit_status)
    note = reported.get("note", "")
    if exit_status != "clean":
        ending = (
            "hung while shutting down (killed)"
            if exit_status == "hung"
            else (f"crashed while shutting down ({_describe_code(code)})")
        )
        note = f"{note}; {ending}" if note else ending
    return RunResult(
        workload,
        stack,
        reported["status"],
        seconds,
        metrics=reported.get("metrics", {}),
        note=note,
        exit=exit_status,
    )


def _describe_code(code: int | None) -> str:
    if code is not None and code < 0:
        return f"signal {-code}"
    return f"exit status {code}"
