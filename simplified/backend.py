"""The simplified stack as a Backend: one QThreadPool, one registry of in-flight jobs."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThread, QThreadPool, Slot
from PySide6.QtGui import QPixmap

from simplified.annotation import annotate_images
from simplified.job import Job, Work
from simplified.registration import register_directory
from simplified.search import run_search
from simplified.signals import JobSignals
from simplified.thumbnails import ThumbnailSummary, load_thumbnails
from simplified.token import CancelToken
from workerkit.backend import Backend, JobContext
from workerkit.kinds import Kind
from workerkit.requests import (
    AnnotationRequest,
    JobRequest,
    RegistrationRequest,
    SearchRequest,
    ThumbnailRequest,
)
from workerkit.results import ThumbnailResult

__all__ = ["SimplifiedBackend"]

# A new job of these kinds makes the previous one of its kind obsolete.
_SUPERSEDING = frozenset({Kind.SEARCH, Kind.THUMBNAIL})


@dataclass(slots=True)
class _InFlight:
    """What the GUI side keeps of a running job until its terminal event is handled."""

    kind: Kind
    signals: JobSignals
    token: CancelToken
    pixmaps: list[tuple[int, QPixmap]] = field(default_factory=list)


class SimplifiedBackend(Backend):
    """Run jobs as QRunnables on a private QThreadPool with cooperative cancellation."""

    name: ClassVar[str] = "simplified"

    def __init__(self, context: JobContext, parent: QObject | None = None) -> None:
        super().__init__(context, parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(context.max_threads or QThread.idealThreadCount())
        self._jobs: dict[str, _InFlight] = {}
        self._current: dict[Kind, str] = {}
        # destroyed() fires before Qt deletes the pool (a child), whose destructor would
        # wait for Python jobs while holding the GIL: cancel and drain here instead.
        self.destroyed.connect(_drain_on_destroy(self._jobs, self.pool))

    def start(self, request: JobRequest) -> str:
        """Queue a job for ``request`` on the pool and return its id at once."""
        kind = request.kind
        if kind in _SUPERSEDING and (previous := self._current.get(kind)) is not None:
            self.cancel(previous)
        job_id = f"{kind.prefix}_{uuid.uuid4().hex}"
        signals = self._make_signals()
        token = CancelToken()
        self._jobs[job_id] = _InFlight(kind, signals, token)
        if kind in _SUPERSEDING:
            self._current[kind] = job_id
        self.pool.start(Job(job_id, self._work_for(request), signals, token, self.pool))
        self.job_started.emit(job_id)
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
                job_id: {"kind": job.kind.value, "canceled": job.token.is_canceled}
                for job_id, job in self._jobs.items()
            },
        }

    def _make_signals(self) -> JobSignals:
        signals = JobSignals(self)
        signals.progressed.connect(self.job_progressed)
        signals.batch_progressed.connect(self.job_batch_progressed)
        signals.chunk_loaded.connect(self._on_chunk)
        signals.finished.connect(self._on_finished)
        signals.failed.connect(self._on_failed)
        signals.canceled.connect(self._on_canceled)
        return signals

    def _work_for(self, request: JobRequest) -> Work:
        context = self.context
        match request:
            case RegistrationRequest(directory=directory):
                return lambda control: register_directory(control, context.store, directory)
            case SearchRequest(conditions=conditions):
                return lambda control: run_search(control, context.store, conditions)
            case ThumbnailRequest(records=records, width=width, height=height):
                return lambda control: load_thumbnails(control, records, width, height)
            case AnnotationRequest(image_ids=image_ids, models=models):
                return lambda control: annotate_images(control, context, image_ids, models)
        raise TypeError(f"SimplifiedBackend cannot run a {type(request).__name__}.")

    @Slot(str, object)
    def _on_chunk(self, job_id: str, chunk: list[tuple[int, Any]]) -> None:
        job = self._jobs.get(job_id)
        if job is None or job.token.is_canceled:
            return
        # QPixmap belongs to the GUI thread: convert the pool's QImages here.
        pixmaps = [(image_id, QPixmap.fromImage(image)) for image_id, image in chunk]
        job.pixmaps.extend(pixmaps)
        self.thumbnails_loaded.emit(job_id, pixmaps)

    @Slot(str, object)
    def _on_finished(self, job_id: str, result: object) -> None:
        self._settle(job_id, lambda job: self.job_finished.emit(job_id, _complete(job, result)))

    @Slot(str, str)
    def _on_failed(self, job_id: str, message: str) -> None:
        self._settle(job_id, lambda _job: self.job_failed.emit(job_id, message))

    @Slot(str)
    def _on_canceled(self, job_id: str) -> None:
        self._settle(job_id, lambda _job: self.job_canceled.emit(job_id))

    def _settle(self, job_id: str, report: Callable[[_InFlight], None]) -> None:
        job = self._end(job_id)
        if job is None:
            return
        if job.token.is_canceled:
            # A cancel wins over a result or an error that raced it (a superseded job's
            # result is never delivered): the caller was told the cancel was accepted.
            self.job_canceled.emit(job_id)
        else:
            report(job)
        self.active_count_changed.emit(len(self._jobs))

    def _end(self, job_id: str) -> _InFlight | None:
        job = self._jobs.pop(job_id, None)
        if job is not None:
            if self._current.get(job.kind) == job_id:
                del self._current[job.kind]
            job.signals.deleteLater()
        return job


def _complete(job: _InFlight, result: object) -> object:
    if isinstance(result, ThumbnailSummary):
        return ThumbnailResult(
            loaded_thumbnails=job.pixmaps,
            failed_count=result.failed_count,
            total_count=result.total_count,
            processing_time=result.processing_time,
            failures=result.failures,
        )
    return result


def _drain_on_destroy(jobs: dict[str, _InFlight], pool: QThreadPool) -> Any:
    def drain() -> None:
        for job in jobs.values():
            job.token.cancel()
        pool.waitForDone()

    return drain
