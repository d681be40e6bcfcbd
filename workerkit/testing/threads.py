"""Count the threads Qt started in this process: QThreads (one per legacy job) and pool threads."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

import psutil

__all__ = ["qt_threads", "qthreads_alive"]

_TASKS = Path("/proc/self/task")
_COMM_MAX = 15


def _comm(task: Path) -> str | None:
    try:
        return (task / "comm").read_text().strip()
    except OSError:  # the thread ended while we looked
        return None


def qthreads_alive(names: Iterable[str] = ("QThread",)) -> int:
    """Count this process's OS threads that Qt named one of ``names``; Linux only.

    Qt names a QThread's OS thread after its class: "QThread" for a worker moved to a
    plain QThread, the subclass's name for a QThread subclass (one per legacy job).
    """
    if not _TASKS.is_dir():
        return 0
    # Linux keeps the first 15 bytes of a thread's name.
    wanted = {name[:_COMM_MAX] for name in names}
    return sum(_comm(task) in wanted for task in _TASKS.iterdir())


def qt_threads() -> int:
    """Return how many threads Qt started in this process (QThreads and pool threads).

    Qt names the threads it starts; threads that Python code starts (a test's HTTP
    server, a resolver) keep the process's name and are not counted. Elsewhere than
    Linux, every thread counts.
    """
    if not _TASKS.is_dir():
        return int(psutil.Process().num_threads())
    main = _comm(_TASKS / str(threading.main_thread().native_id))
    return sum(1 for task in _TASKS.iterdir() if _comm(task) not in (main, None))
