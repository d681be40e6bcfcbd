"""Keep every legacy worker's Python wrapper alive until its thread has ended.

The legacy wiring (the original's) connects ``finished -> worker.deleteLater``, so Qt
deletes a worker in its own thread, while the only Python reference to the worker is a
local of the service's ``start`` in the GUI thread. A job that ends before ``start``
returns lets the two threads delete the same C++ object at once: Qt warns "shared
QObject was deleted directly" and the process dies (SIGSEGV or SIGBUS). In-process runs
of 600 rounds of a 4-image registration and its thumbnails, a new service per round:
10 of 28 runs died; holding the wrappers, 0 of 30 died and 1 of 30 hung (D11, which
this does not prevent).

A test run is no place for that crash: it kills every later test with it. The defect
stays in the legacy stack; the comparison's subprocesses still meet it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from PySide6.QtCore import QObject, QThread

from workerkit.imagelib.legacy_workers.manager import WorkerManager
from workerkit.testing._threads import qthreads_alive

__all__ = ["legacy_workers_kept"]

# Wrappers whose threads had not ended when their block did: never released, since
# releasing one is the very race this module is here to avoid.
_UNRELEASED: list[QObject] = []


@contextmanager
def legacy_workers_kept() -> Iterator[list[QObject]]:
    """Hold every worker the legacy manager starts inside the block; yield the held list.

    On exit the wrappers are released if no QThread is left, else kept for the process.
    """
    held: list[QObject] = []
    original = WorkerManager.start_worker

    def start_worker(
        self: WorkerManager, worker_id: str, worker: QObject, *args: Any, **kwargs: Any
    ) -> bool:
        held.append(worker)
        return original(self, worker_id, worker, *args, **kwargs)

    WorkerManager.start_worker = start_worker  # type: ignore[method-assign]
    try:
        yield held
    finally:
        WorkerManager.start_worker = original  # type: ignore[method-assign]
        # A QThread-subclass worker is its own thread, named after its class.
        names = {"QThread"} | {type(w).__name__ for w in held if isinstance(w, QThread)}
        if qthreads_alive(names) != 0:
            _UNRELEASED.extend(held)
        held.clear()
