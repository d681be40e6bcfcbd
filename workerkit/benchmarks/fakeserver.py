"""Serve the fake vision API from its own process with a listen backlog fit for concurrency.

``workerkit.fakeapi`` serves with socketserver's default listen backlog of 5.
When more clients connect at once than that (the simplified stack opens 8
connections), the kernel drops the extra SYNs and those clients retry after
1 s, which adds a whole second to the simplified annotation run. Until
fakeapi raises the backlog itself, the benchmark runs it through this module,
which only raises ``request_queue_size`` and then calls ``fakeapi.main``.

Run ``python -m workerkit.benchmarks.fakeserver --latency 0.15``; like
``python -m workerkit.fakeapi`` it prints ``READY <url>`` and serves until
stdin closes.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from workerkit import fakeapi

__all__ = ["BACKLOG", "main", "spawn_server"]

BACKLOG = 128
_READY_TIMEOUT_S = 15.0
_STOP_TIMEOUT_S = 5.0


@contextmanager
def spawn_server(latency: float) -> Iterator[str]:
    """Run the fake API in a child process and yield its base URL; stop it on exit."""
    command = [sys.executable, "-m", "workerkit.benchmarks.fakeserver", "--latency", repr(latency)]
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
        text=True,
    )
    try:
        yield _ready_url(process)
    finally:
        _stop(process)


def _ready_url(process: subprocess.Popen[str]) -> str:
    """Return the URL of the child's READY line, or raise RuntimeError saying why not."""
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=_READY_TIMEOUT_S)
    except queue.Empty:
        line = ""
    if not line.startswith("READY "):
        raise RuntimeError(
            f"The fake vision server did not print READY within {_READY_TIMEOUT_S:g} s "
            f"(it printed {line.strip()!r}); run `python -m workerkit.benchmarks.fakeserver` "
            "by hand to see why."
        )
    return line.split()[1]


def _stop(process: subprocess.Popen[str]) -> None:
    """Close the child's stdin (its signal to stop); kill it if it lingers."""
    if process.stdin is not None:
        process.stdin.close()
    try:
        process.wait(_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def main(argv: list[str] | None = None) -> int:
    """Raise the listen backlog, then serve exactly as ``python -m workerkit.fakeapi``."""
    server_class = fakeapi._HttpServer
    server_class.request_queue_size = max(server_class.request_queue_size, BACKLOG)
    return fakeapi.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
