"""The legacy WorkerManager: one QThread per job, moveToThread, hand-kept bookkeeping.

Faithful to the original, defects included (D1, D3, D4, D9, D10, D11 in the
legacy spec). The signal handlers are connected through lambdas, so, as in the
original, they run in the worker thread and mutate ``active_workers`` there.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from workerkit import LegacyWorker
from workerkit.imagelib.legacy_workers.base_worker import LoRAIroWorkerBase

__all__ = ["WorkerManager"]

logger = logging.getLogger(__name__)

CANCEL_WAIT_MS = 2000
TERMINATE_WAIT_MS = 1000
CLEANUP_WAIT_MS = 3000


class WorkerManager(QObject):
    """Start each worker on a new QThread and keep a dict of what runs."""

    worker_started = Signal(str)
    worker_finished = Signal(str, object)
    worker_error = Signal(str, str)
    worker_canceled = Signal(str)
    all_workers_finished = Signal()
    active_worker_count_changed = Signal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.active_workers: dict[str, dict[str, Any]] = {}

    def start_worker(
        self,
        worker_id: str,
        worker: QObject,
        auto_cleanup: bool = True,
        adapter: LegacyWorker | None = None,
    ) -> bool:
        """Start ``worker`` on a new thread; return False if ``worker_id`` is already active.

        ``adapter`` names the worker's run slot, signals and cancel method (default: the
        names of LoRAIroWorkerBase). A QThread-subclass worker is its own thread.
        """
        if worker_id in self.active_workers:
            logger.warning("worker %s is already running", worker_id)
            return False
        names = adapter or _BASE_NAMES
        finished, error = _signal(worker, names.finished), _signal(worker, names.error)

        if isinstance(worker, QThread):
            thread = worker
        else:
            thread = QThread()
            worker.moveToThread(thread)
            thread.started.connect(getattr(worker, names.run))

        finished.connect(lambda result: self._on_worker_finished(worker_id, result))
        if error is not None:
            error.connect(lambda message: self._on_worker_error(worker_id, message))

        if auto_cleanup:
            if thread is not worker:
                for ended in (finished, error):
                    if ended is not None:
                        ended.connect(thread.quit)
                        ended.connect(worker.deleteLater)
            thread.finished.connect(lambda: self._cleanup_thread(worker_id, thread))
            thread.finished.connect(thread.deleteLater)

        self.active_workers[worker_id] = {
            "worker": worker,
            "thread": thread,
            "auto_cleanup": auto_cleanup,
            "cancel": names.cancel,
        }
        thread.start()
        logger.info("worker %s started", worker_id)
        self.worker_started.emit(worker_id)
        self.active_worker_count_changed.emit(len(self.active_workers))
        return True

    def cancel_worker(self, worker_id: str) -> bool:
        """Cancel a worker and block until its thread stops (terminating it after 2 s)."""
        info = self.active_workers.get(worker_id)
        if info is None:
            logger.warning("worker %s is not active", worker_id)
            return False
        try:
            if info["cancel"] is not None:
                getattr(info["worker"], info["cancel"])()
            thread: QThread = info["thread"]
            if thread.isRunning():
                thread.quit()
                # D3: blocks the GUI thread; D4: terminate() on a thread running Python.
                if not thread.wait(CANCEL_WAIT_MS):
                    logger.warning("worker %s did not stop, terminating", worker_id)
                    thread.terminate()
                    thread.wait(TERMINATE_WAIT_MS)
            # D1: the job stays in active_workers.
            self.worker_canceled.emit(worker_id)
            return True
        except RuntimeError:
            logger.exception("cancel of worker %s failed", worker_id)
            return False

    def cancel_all_workers(self) -> None:
        """Cancel every active worker, one after another."""
        for worker_id in list(self.active_workers):
            self.cancel_worker(worker_id)

    def is_worker_active(self, worker_id: str) -> bool:
        """Return True if ``worker_id`` is in the dict."""
        return worker_id in self.active_workers

    def get_active_worker_count(self) -> int:
        """Return the size of the dict."""
        return len(self.active_workers)

    def get_active_worker_ids(self) -> list[str]:
        """Return the keys of the dict."""
        return list(self.active_workers)

    def get_worker(self, worker_id: str) -> QObject | None:
        """Return the worker object registered under ``worker_id``."""
        info = self.active_workers.get(worker_id)
        return None if info is None else info["worker"]

    def cleanup_worker(self, worker_id: str) -> None:
        """Remove a worker, stop its thread (waiting up to 3 s) and delete both."""
        info = self.active_workers.pop(worker_id, None)
        if info is None:
            return
        thread: QThread = info["thread"]
        if thread.isRunning():
            thread.quit()
            thread.wait(CLEANUP_WAIT_MS)
        info["worker"].deleteLater()
        thread.deleteLater()
        self.active_worker_count_changed.emit(len(self.active_workers))

    def cleanup_all_workers(self) -> None:
        """Clean up every worker."""
        for worker_id in list(self.active_workers):
            self.cleanup_worker(worker_id)

    def wait_for_all_workers(self, timeout_ms: int = 30000) -> bool:
        """Wait on each thread in turn, each with the full timeout."""
        for worker_id, info in list(self.active_workers.items()):
            thread: QThread = info["thread"]
            try:
                if thread.isRunning() and not thread.wait(timeout_ms):
                    return False
            except RuntimeError:
                # A canceled job's thread was deleted while its entry stayed (D1).
                logger.warning("thread of worker %s is already deleted", worker_id)
        return True

    def get_worker_summary(self) -> dict[str, Any]:
        """Describe the active workers."""
        workers = {
            worker_id: {
                "class": type(info["worker"]).__name__,
                "status": _status(info["worker"]),
                "auto_cleanup": info["auto_cleanup"],
            }
            for worker_id, info in list(self.active_workers.items())
        }
        return {
            "active_worker_count": len(workers),
            "active_worker_ids": list(workers),
            "workers": workers,
        }

    def _on_worker_finished(self, worker_id: str, result: object) -> None:
        self.active_workers.pop(worker_id, None)
        logger.info("worker %s finished", worker_id)
        self.worker_finished.emit(worker_id, result)
        self._emit_count()

    def _on_worker_error(self, worker_id: str, error: str) -> None:
        self.active_workers.pop(worker_id, None)
        logger.error("worker %s failed: %s", worker_id, error)
        self.worker_error.emit(worker_id, error)
        self._emit_count()

    def _cleanup_thread(self, worker_id: str, thread: QThread) -> None:
        logger.debug("thread of worker %s finished", worker_id)

    def _emit_count(self) -> None:
        count = len(self.active_workers)
        self.active_worker_count_changed.emit(count)
        if count == 0:
            self.all_workers_finished.emit()


# The original manager knew only LoRAIroWorkerBase; these are its names.
_BASE_NAMES = LegacyWorker(
    LoRAIroWorkerBase, progress="progress_updated", batch_progress="batch_progress"
)


def _signal(worker: QObject, name: str | None) -> Any:
    return None if name is None else getattr(worker, name)


def _status(worker: QObject) -> str:
    status = getattr(worker, "status", None)
    return str(getattr(status, "value", status or "unknown"))
