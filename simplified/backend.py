"""The simplified stack as a Backend: one QThreadPool, one registry of in-flight jobs."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThread, QThreadPool, Slot
from workerkit.simplified.coroutine import run_coroutine
from workerkit.simplified.job import Job, Work
from workerkit.simplified.signals import JobSignals
from workerkit.simplified.token import CancelToken

from workerkit.backend import Backend

if TYPE_CHECKING:
    from workerkit.app import App
    from workerkit.kind import WorkerKind

__all__ = ["SimplifiedBackend"]


@dataclass(slots=True)
class _InFlight:
    """What the GUI side keeps of a running job until its terminal event is handled."""

    kind: WorkerKind
    signals: JobSignals
    token: CancelToken
    partials: list[Any] = field(default_factory=list)


class SimplifiedBackend(Backend):
    """Run each kind's pool function as a QRunnable on one QThreadPool, cancel cooperatively."""

    name: ClassVar[str] = "simplified"

    def __init__(
        self,
        app: App,
        max_threads: int | None = None,
        parent: QObject | None = None,
        *,
        pool: QThreadPool | None = None,
    ) -> None:
        super().__init__(app, max_threads, parent)
        # A shared pool (shadow candidates) belongs to its owner, which drains it.
        self._owns_pool = pool is None
        self.pool = pool or QThreadPool(self)
        if self._owns_pool:
            self.pool.setMaxThreadCount(max_threads or QThread.idealThreadCount())
        self._jobs: dict[str, _InFlight] = {}
        self._current: dict[str, str] = {}
        # destroyed() fires before Qt deletes the pool (a child), whose destructor would
        # wait for Python jobs while holding the GIL: cancel and drain here instead.
        self.destroyed.connect(
            _drain_on_destroy(self._jobs, self.pool if self._owns_pool else None)
        )

    def start(self, kind: WorkerKind, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        """Queue a job of ``kind`` on the pool and return its id at once."""
        if kind.latest_wins and (previous := self._current.get(kind.name)) is not None:
            self.cancel(previous)
        job_id = f"{kind.prefix}_{uuid.uuid4().hex}"
        signals = self._make_signals()
        token = CancelToken()
        self._jobs[job_id] = _InFlight(kind, signals, token)
        if kind.latest_wins:
            self._current[kind.name] = job_id
        self.pool.start(Job(job_id, _work(kind, args, kwargs), signals, token, self.pool))
        self.job_started.emit(kind.name, job_id)
        self.active_count_changed.emit(len(self._jobs))
        return job_id

    def cancel(self, job_id: str) -> bool:
        """Set the job's cancel flag and return at once; False if it is not in flight."""
        job = self._jobs.get(job_id)
        if job is None:
            return False
        job.token.cancel()
        return True

    def active_job_ids(self) -> list[str]:
        """Return the ids of jobs whose terminal event has not been handled yet."""
        return list(self._jobs)

    def is_active(self, job_id: str) -> bool:
        """Return True while ``job_id`` is in flight."""
        return job_id in self._jobs

    def active_count(self) -> int:
        """Return how many jobs are in flight."""
        return len(self._jobs)

    def wait_for_all(self, timeout_ms: int) -> bool:
        """Wait for the pool to go idle, then deliver the jobs' queued terminal events."""
        done = self.pool.waitForDone(timeout_ms)
        QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
        return done

    def shutdown(self, timeout_ms: int) -> bool:
        """Cancel every job and wait up to ``timeout_ms`` for the pool; never terminate a thread."""
        for job in self._jobs.values():
            job.token.cancel()
        return self.wait_for_all(timeout_ms)

    def summary(self) -> dict[str, Any]:
        """Describe the pool and the jobs in flight."""
        return {
            "active_worker_count": len(self._jobs),
            "active_worker_ids": list(self._jobs),
            "max_threads": self.pool.maxThreadCount(),
            "pool_active_threads": self.pool.activeThreadCount(),
            "workers": {
                job_id: {"kind": str(job.kind.name), "canceled": job.token.is_canceled}
                for job_id, job in self._jobs.items()
            },
        }

    def _make_signals(self) -> JobSignals:
        signals = JobSignals(self)
        signals.progressed.connect(self._on_progressed)
        signals.batch_progressed.connect(self._on_batch_progressed)
        signals.partial_delivered.connect(self._on_partial)
        signals.finished.connect(self._on_finished)
        signals.failed.connect(self._on_failed)
        signals.canceled.connect(self._on_canceled)
        return signals

    def _kind_name(self, job_id: str) -> str:
        return self.app.of_job(job_id).name

    @Slot(str, object)
    def _on_progressed(self, job_id: str, progress: object) -> None:
        if job_id in self._jobs:
            self.job_progressed.emit(self._kind_name(job_id), job_id, progress)

    @Slot(str, int, int, str)
    def _on_batch_progressed(self, job_id: str, current: int, total: int, item: str) -> None:
        if job_id in self._jobs:
            self.job_batch_progressed.emit(self._kind_name(job_id), job_id, current, total, item)

    @Slot(str, object)
    def _on_partial(self, job_id: str, payload: object) -> None:
        job = self._jobs.get(job_id)
        if job is None or job.token.is_canceled:
            return
        # The hook runs here, on the GUI thread: e.g. QImage -> QPixmap.
        converted = job.kind.on_partial(payload) if job.kind.on_partial else payload
        if job.kind.assemble is not None:
            job.partials.append(converted)
        self.partial_delivered.emit(job.kind.name, job_id, converted)

    @Slot(str, object)
    def _on_finished(self, job_id: str, result: object) -> None:
        self._settle(
            job_id,
            lambda job: self.job_finished.emit(job.kind.name, job_id, _assembled(job, result)),
        )

    @Slot(str, str)
    def _on_failed(self, job_id: str, message: str) -> None:
        self._settle(job_id, lambda job: self.job_failed.emit(job.kind.name, job_id, message))

    @Slot(str)
    def _on_canceled(self, job_id: str) -> None:
        self._settle(job_id, lambda job: self.job_canceled.emit(job.kind.name, job_id))

    def _settle(self, job_id: str, report: Callable[[_InFlight], None]) -> None:
        job = self._end(job_id)
        if job is None:
            return
        if job.token.is_canceled:
            # A cancel wins over a result or an error that raced it (a superseded job's
            # result is never delivered): the caller was told the cancel was accepted.
            self.job_canceled.emit(job.kind.name, job_id)
        else:
            report(job)
        self.active_count_changed.emit(len(self._jobs))

    def _end(self, job_id: str) -> _InFlight | None:
        job = self._jobs.pop(job_id, None)
        if job is not None:
            if self._current.get(job.kind.name) == job_id:
                del self._current[job.kind.name]
            job.signals.deleteLater()
        return job


def _work(kind: WorkerKind, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Work:
    function = kind.simplified
    assert function is not None  # checked at declaration
    if kind.is_async:
        return lambda control: run_coroutine(control, partial(function, control, *args, **kwargs))
    return lambda control: function(control, *args, **kwargs)


def _assembled(job: _InFlight, result: object) -> object:
    return job.kind.assemble(result, job.partials) if job.kind.assemble else result


def _drain_on_destroy(jobs: dict[str, _InFlight], pool: QThreadPool | None) -> Callable[[], None]:
    def drain() -> None:
        for job in jobs.values():
            job.token.cancel()
        if pool is not None:
            pool.waitForDone()

    return drain
