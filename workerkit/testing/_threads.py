"""This process's threads as Linux shows them: Qt's threads, and whether any other one runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from pathlib import Path

__all__ = ["qt_threads", "qthreads_alive", "wait_until_other_threads_idle"]

_TASKS = Path("/proc/self/task")
_COMM_MAX = 15
# A thread in one of these states is working: running or runnable (R), or inside a
# system call that cannot be interrupted, such as an fsync (D).
_BUSY_STATES = frozenset({"R", "D"})
_CALM_SAMPLES = 3
_SAMPLE_S = 0.002


def _comm(task: Path) -> str | None:
    return _read(task, "comm")


def _read(task: Path, name: str) -> str | None:
    try:
        return (task / name).read_text().strip()
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
        import psutil  # off Linux only: /proc/self/task tells it there

        return int(psutil.Process().num_threads())
    main = _comm(_TASKS / str(threading.main_thread().native_id))
    return sum(1 for task in _TASKS.iterdir() if _comm(task) not in (main, None))


def wait_until_other_threads_idle(timeout_s: float) -> bool:
    """Block this thread until no other thread of the process works; False on timeout. Linux only.

    Runs no event loop: a test calls it to let a job's work complete while the events the
    job sends stay queued. A thread works while it is running, waiting for a CPU, or in an
    uninterruptible system call (states R and D of /proc/self/task/*/stat). Three calm
    samples 2 ms apart are needed: a thread that only waited for the GIL while one sample
    was read runs again before the next.

    Args:
        timeout_s: How long to wait at most.

    Returns:
        True once three samples in a row saw no other thread working.

    Raises:
        RuntimeError: Not on Linux (there is no /proc/self/task to read).
    """
    if not _TASKS.is_dir():
        raise RuntimeError(
            "wait_until_other_threads_idle() reads /proc/self/task, which only Linux has; "
            "skip the test elsewhere."
        )
    deadline = time.monotonic() + timeout_s
    pause = threading.Event()
    calm = 0
    while calm < _CALM_SAMPLES:
        if time.monotonic() > deadline:
            return False
        calm = 0 if _others_working() else calm + 1
        pause.wait(_SAMPLE_S)
    return True


def _others_working() -> bool:
    me = str(threading.get_native_id())
    for task in _TASKS.iterdir():
        stat = _read(task, "stat") if task.name != me else None
        # The state follows the name, which is in parentheses and may hold spaces.
        if stat and stat.rsplit(")", 1)[1].split()[0] in _BUSY_STATES:
            return True
    return False
